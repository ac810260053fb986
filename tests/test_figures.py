import numpy as np

from vae.figures import from_plot, latent_map, plot_extent, to_plot
from vae.latent import grid_axis
from vae.latent import main as latent_main


def test_plot_coordinates_round_trip() -> None:
    z = np.array([[-2.5, 0.0], [0.3, 1.7]])
    for spacing in ("linear", "gaussian"):
        np.testing.assert_allclose(from_plot(to_plot(z, spacing), spacing), z, atol=1e-9)
    # Gaussian-quantile cells are evenly spaced in plot coordinates.
    u = to_plot(grid_axis(9, "gaussian"), "gaussian")
    np.testing.assert_allclose(np.diff(u), np.diff(u)[0], rtol=1e-6)


def test_latent_map_layers() -> None:
    points = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.arange(50) % 10
    fig = latent_map("linear", 2.0, points=points, labels=labels, marker=(0.5, -0.5), path=np.zeros((3, 2)))
    names = [t.name for t in fig.data]
    assert [n for n in names if n in {str(d) for d in range(10)}] == [str(d) for d in range(10)]
    assert "path" in names and "selected z" in names
    # The frame of a 20 x 20 manifold: cell centres at +-2, so edges half a cell further out.
    assert tuple(fig.layout.xaxis.range) == plot_extent("linear", 2.0, 20) == (-2 - 2 / 19, 2 + 2 / 19)


def test_gaussian_map_has_z_ticks() -> None:
    fig = latent_map("gaussian", 3.0)
    assert list(fig.layout.xaxis.ticktext) == ["-3", "-2", "-1", "0", "1", "2", "3"]
    np.testing.assert_allclose(fig.layout.xaxis.tickvals[3], 0.5)  # z = 0 sits at Phi(0)
    np.testing.assert_allclose(fig.layout.xaxis.tickvals[4], 0.841344746, atol=1e-6)  # Phi(1)


def test_manifold_png_cli(tmp_path) -> None:
    out = tmp_path / "m.png"
    assert latent_main(["checkpoints/mnist-2d", "--out", str(out), "--n", "4", "--spacing", "linear"]) == 0
    from PIL import Image

    with Image.open(out) as img:
        assert img.size == (4 * 28, 4 * 28)
