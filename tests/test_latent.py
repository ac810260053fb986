import numpy as np
import pytest
import torch

from vae import latent
from vae.render import gif_bytes, png_bytes, strip, upscale


def test_grid_axes() -> None:
    lin = latent.grid_axis(5, "linear", 2.0)
    np.testing.assert_allclose(lin, [-2, -1, 0, 1, 2])
    gauss = latent.grid_axis(11, "gaussian")
    assert gauss[5] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(gauss, -gauss[::-1], atol=1e-9)  # symmetric
    assert np.all(np.diff(gauss) > 0)
    # equal prior mass per cell: the CDF of the centres is evenly spaced
    cdf = torch.special.ndtr(torch.from_numpy(gauss)).numpy()
    np.testing.assert_allclose(np.diff(cdf), np.diff(cdf)[0], rtol=1e-6)


def test_decode_grid_tiles_cells_at_their_z(small_model) -> None:
    grid = latent.decode_grid(small_model, n=4, spacing="linear", radius=2.0)
    assert grid.image.shape == (4 * 28, 4 * 28)
    # top-left cell is (z1 min, z2 max); bottom-right is (z1 max, z2 min)
    top_left = latent.decode_one(small_model, (grid.z1[0], grid.z2[-1]))
    bottom_right = latent.decode_one(small_model, (grid.z1[-1], grid.z2[0]))
    np.testing.assert_allclose(grid.image[:28, :28], top_left, atol=1e-6)
    np.testing.assert_allclose(grid.image[-28:, -28:], bottom_right, atol=1e-6)
    assert not np.allclose(top_left, bottom_right)


def test_encode_uint8_equals_float(small_model) -> None:
    images = (np.random.default_rng(0).random((3, 28, 28)) * 255).astype(np.uint8)
    mu8, lv8 = latent.encode_images(small_model, images)
    muf, lvf = latent.encode_images(small_model, images.astype(np.float32) / 255.0)
    np.testing.assert_allclose(mu8, muf, atol=1e-6)
    assert mu8.shape == (3, 2) and lv8.shape == (3, 2)


def test_linear_and_slerp_interpolation() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    lin = latent.interpolate(a, b, 5, "linear")
    np.testing.assert_allclose(lin[0], a)
    np.testing.assert_allclose(lin[-1], b)
    np.testing.assert_allclose(lin[2], (a + b) / 2)
    sl = latent.interpolate(a, b, 5, "slerp")
    np.testing.assert_allclose(sl[0], a, atol=1e-12)
    np.testing.assert_allclose(sl[-1], b, atol=1e-12)
    # rotation about the origin: the angle moves evenly, the radius linearly
    angles = np.arctan2(sl[:, 1], sl[:, 0])
    np.testing.assert_allclose(np.diff(angles), np.pi / 8, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(sl, axis=1), np.linspace(1, 2, 5), atol=1e-9)
    with pytest.raises(ValueError):
        latent.interpolate(a, b, 1)


def test_ellipse_and_samples() -> None:
    mu, logvar = np.array([1.0, -1.0]), np.log(np.array([4.0, 0.25]))
    contour = latent.ellipse(mu, logvar, 2.0, points=9)
    np.testing.assert_allclose(contour[0], [1.0 + 4.0, -1.0])  # 2 sigma along z1, sigma = 2
    np.testing.assert_allclose(contour[2], [1.0, -1.0 + 1.0], atol=1e-12)  # 2 * 0.5 along z2
    s = latent.sample_posterior(mu, logvar, 20_000, seed=0)
    np.testing.assert_allclose(s.mean(0), mu, atol=0.05)
    np.testing.assert_allclose(s.std(0), [2.0, 0.5], rtol=0.05)
    np.testing.assert_array_equal(latent.sample_prior(3, 7), latent.sample_prior(3, 7))
    assert latent.sample_prior(1000, 0, temperature=0.5).std() == pytest.approx(0.5, rel=0.1)


def test_nearest() -> None:
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.2, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(latent.nearest(np.array([0.1, 0.0]), points, k=2), [0, 2])


def test_render_helpers() -> None:
    img = np.zeros((2, 3), np.float32)
    img[0, 1] = 1.0
    up = upscale(img, 3)
    assert up.shape == (6, 9) and up[0:3, 3:6].min() == 1.0
    s = strip(np.ones((4, 28, 28), np.float32), gap=2)
    assert s.shape == (28, 4 * 28 + 3 * 2) and s[:, 28:30].max() == 0.0
    assert png_bytes(img).startswith(b"\x89PNG")
    gif = gif_bytes(np.random.default_rng(0).random((3, 28, 28)).astype(np.float32))
    from io import BytesIO

    from PIL import Image

    frames = Image.open(BytesIO(gif))
    assert frames.format == "GIF" and frames.n_frames == 4  # 3 forward + 1 back (bounce)


def test_a_cvae_encodes_each_image_with_its_own_label() -> None:
    from vae import VAE, VAEConfig

    torch.manual_seed(0)
    cvae = VAE(VAEConfig(encoder_hidden=(32,), decoder_hidden=(32,), num_classes=10)).eval()
    images = (np.random.default_rng(1).random((7, 28, 28)) * 255).astype(np.uint8)
    labels = np.array([3, 0, 9, 3, 5, 1, 0])
    mu, logvar = latent.encode_images(cvae, images, labels, batch_size=3)  # batches cut across labels
    for i, label in enumerate(labels):  # one image at a time, through the view with that label
        mu_i, lv_i = latent.encode_images(cvae.conditioned(int(label)), images[i : i + 1])
        np.testing.assert_allclose(mu[i], mu_i[0], atol=1e-6)
        np.testing.assert_allclose(logvar[i], lv_i[0], atol=1e-6)
    with pytest.raises(ValueError, match="one label per image"):
        latent.encode_images(cvae, images, labels[:3])
    with pytest.raises(ValueError, match="needs a digit label"):
        latent.encode_images(cvae, images)
