"""vae/compress.py, vae/gridcoder.py, vae/codecs.py and `python -m vae.compress`: round trips on
real and extreme digits, one digit a stream and a set in one stream, code lengths against an
independent float64 sum over the grid and the exact -log2 p(x) by quadrature, and clean refusals
of foreign, truncated and random streams."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae import codecs, compress, lossy
from vae.data import fixed_binarization
from vae.quadrature import quadrature_log_px

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def table(shipped):
    return compress.coding_table(shipped.model)


@pytest.fixture(scope="session")
def digits() -> np.ndarray:
    return fixed_binarization("test", seed=0)[0][:400, 0].numpy().astype(np.uint8)  # [400, 28, 28] bits


def extremes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    checker = (np.add.outer(np.arange(28), np.arange(28)) % 2).astype(np.uint8)
    return {"all black": np.zeros((28, 28), np.uint8), "all white": np.ones((28, 28), np.uint8),
            "checkerboard": checker, "coin flips": (rng.random((28, 28)) < 0.5).astype(np.uint8),
            "one pixel": np.pad(np.ones((1, 1), np.uint8), ((0, 27), (5, 22)))}


def test_round_trips_are_exact_on_many_digits_and_extremes(table, digits) -> None:
    rng = np.random.default_rng(1)
    picks = [digits[i] for i in rng.choice(len(digits), 40, replace=False)]
    for x in [*picks, *extremes().values()]:
        enc = compress.encode(table, x)
        np.testing.assert_array_equal(compress.decode(table, enc.stream), x)
        assert enc.stream[:2] == b"LX" and len(enc.stream) - compress.HEADER_BYTES == enc.payload_bits // 8


def test_code_length_is_the_grid_marginal_and_near_the_exact_one(shipped, table, digits) -> None:
    x = digits[:60]
    encs = [compress.encode(table, d) for d in x]
    info = np.array([e.information_bits for e in encs])
    # Independent: float64 logsumexp over the grid of the quantised probabilities (no integers).
    grid = compress.grid_log2_px(table, x)
    assert grid.shape == (60,) and grid[7] == pytest.approx(compress.grid_log2_px(table, x[7]), abs=1e-9)
    np.testing.assert_allclose(info, grid, atol=0.05)
    exact = -quadrature_log_px(shipped.model, x.astype(np.float32)).numpy() / np.log(2.0)
    assert abs(info.mean() - exact.mean()) < 0.1  # the grid's midpoint rule: ~0.015 bits
    payload = np.array([e.payload_bits for e in encs])
    assert np.all(payload >= info - 8) and np.all(payload <= info + 9)  # whole bytes, no more
    # The price of whole bytes: 4 - 1/ln 2 = 2.56 bits on average (plus ~0.1 bit of the range
    # coder's finite precision); 60 digits: a standard error of ~0.3 bits.
    assert compress.BYTE_ROUNDING_BITS == pytest.approx(2.557, abs=1e-3)
    assert abs((payload - info).mean() - compress.BYTE_ROUNDING_BITS) < 1.0
    assert payload.mean() < exact.mean() * 1.03


def test_byte_rounding_formula_by_simulation() -> None:
    # The fewest bytes n with a multiple of 2^-8n in [a, a + 2^-I), a uniform: the mean of
    # 8n - I over I uniform in [100, 300) is 4 - 1/ln 2 (in fractions of 2^-I, exactly).
    rng = np.random.default_rng(4)
    info = rng.uniform(100, 300, 20_000)
    excess = []
    for i, a in zip(info, rng.random(len(info))):
        n = max(0, int(i) // 8 - 2)
        while True:  # is there a multiple of 2^-8n within width 2^-I of a? (a scaled by 2^8n)
            width = 2.0 ** (8 * n - i)
            start = (a * 2.0 ** min(8 * n, 52)) % 1.0 if 8 * n <= 52 else rng.random()  # a's digits past 2^-52: random
            if width >= 1 or (1.0 - start) % 1.0 < width:
                break
            n += 1
        excess.append(8 * n - i)
    assert np.mean(excess) == pytest.approx(compress.BYTE_ROUNDING_BITS, abs=0.06)


def test_a_set_in_one_stream_round_trips_within_one_percent_of_exact(shipped, table, digits) -> None:
    x = digits[100:150]
    one = compress.encode_many(table, x, checkpoints=(20, 35))
    assert one.count == 50 and one.stream[:3] == b"LX\x02" and compress.is_set_stream(one.stream)
    assert one.overhead_bytes == compress.HEADER_BYTES + 1 + compress.SET_CHECK_BYTES  # count 50: one byte
    np.testing.assert_array_equal(compress.decode_many(table, one.stream), x)
    # The termination is paid once: the payload is the code length plus < 1 byte and the
    # range coder's precision (~0.1 bit a digit) ...
    assert one.information_bits - 8 <= one.payload_bits <= one.information_bits + 8 + 0.3 * len(x)
    # ... within 1 % of the exact -log2 p(x) by quadrature, computed independently (the
    # per-digit streams pay ~2.6 bits of whole-byte rounding on each digit, ~1.4 %).
    exact = -quadrature_log_px(shipped.model, x.astype(np.float32)).numpy() / np.log(2.0)
    assert one.payload_bits < 1.01 * exact.sum()
    assert 8 * len(one.stream) == one.payload_bits + 8 * one.overhead_bytes  # 12 bytes: ~1 % of only 50 digits
    assert one.information_bits == pytest.approx(exact.sum(), rel=0.002)
    # The digits' frequencies from per-digit encodes give the same stream; parts of the stream
    # decode from the checkpoints recorded while encoding.
    encs = [compress.encode(table, d) for d in x[:5]]
    assert compress.encode_many(table, x[:5], freqs=[e.frequencies for e in encs]).stream == \
        compress.encode_many(table, x[:5]).stream
    marks = {c[0]: c for c in one.checkpoints}
    assert set(marks) == {20, 35}
    np.testing.assert_array_equal(compress.decode_range(table, one.stream, 35, 50, marks[35]), x[35:])
    np.testing.assert_array_equal(compress.decode_range(table, one.stream, 20, 22, marks[20]), x[20:22])
    single = compress.encode_many(table, x[:1])
    np.testing.assert_array_equal(compress.decode_many(table, single.stream), x[:1])
    with pytest.raises(ValueError):
        compress.encode_many(table, x[:0])


def test_truncated_foreign_and_random_sets_are_refused(table, digits) -> None:
    x = digits[200:210]
    stream = compress.encode_many(table, x).stream
    start = time.perf_counter()
    for cut in range(len(stream)):  # every truncation: refused before any decoding
        with pytest.raises(compress.StreamError):
            compress.decode_many(table, stream[:cut])
    rng = np.random.default_rng(5)
    for size in (0, 3, 40, 400):
        body = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        with pytest.raises(compress.StreamError, match="check|truncated|a set holds"):
            compress.decode_many(table, stream[:8] + body)  # our header, random count and payload
        with pytest.raises(compress.StreamError, match="LX header"):
            compress.decode_many(table, b"GIF89a" + body)
    damaged = bytearray(stream)
    damaged[-5] ^= 0x10
    with pytest.raises(compress.StreamError, match="payload does not match its check"):
        compress.decode_many(table, bytes(damaged))
    with pytest.raises(compress.StreamError, match="a set holds"):
        compress.decode_many(table, stream[:8] + b"\x00" + stream[9:])  # a count of 0
    with pytest.raises(compress.StreamError, match="another model"):
        compress.decode_many(table, stream[:3] + bytes([stream[3] ^ 1]) + stream[4:])
    with pytest.raises(compress.StreamError, match="holds a set"):
        compress.decode(table, stream)
    with pytest.raises(compress.StreamError, match="holds one digit"):
        compress.decode_many(table, compress.encode(table, x[0]).stream)
    assert time.perf_counter() - start < 5  # refused by the checks, not by decoding
    # A decoder that computed other probabilities: the images check (after decoding) says so.
    at = compress.HEADER_BYTES + 1
    wrong = stream[:at] + bytes([stream[at] ^ 1]) + stream[at + 1 :]
    with pytest.raises(compress.StreamError, match="do not match their check"):
        compress.decode_many(table, wrong)


def test_extremes_cost_what_the_model_says(table) -> None:
    for name, x in extremes().items():
        enc = compress.encode(table, x)
        # The coder's probabilities are multiples of 2^-24: a pixel the model gives p ~ 1e-6
        # costs ~0.1 bit more than its -log2 p (all-white: 500 such pixels, 0.5 %).
        assert enc.information_bits == pytest.approx(compress.grid_log2_px(table, x), rel=0.01, abs=0.05), name
        assert enc.pixel_bits.shape == (28, 28) and np.all(enc.pixel_bits >= 0)
    # No pixel can cost more than the coder's floor probability 2^-24: 24 bits.
    assert compress.encode(table, extremes()["coin flips"]).pixel_bits.max() <= 24.0 + 1e-9


def test_foreign_truncated_and_random_streams_are_refused(shipped, table, digits) -> None:
    stream = compress.encode(table, digits[3]).stream
    for cut in range(len(stream)):  # every truncation: refused, never a wrong image
        with pytest.raises(compress.StreamError):
            compress.decode(table, stream[:cut])
    rng = np.random.default_rng(2)
    header = stream[: compress.HEADER_BYTES - 3]
    start = time.perf_counter()
    for size in (0, 1, 5, 30, 200, compress.MAX_PAYLOAD_BYTES):
        for _ in range(3):
            body = rng.integers(0, 256, compress.HEADER_BYTES - 5 + size, dtype=np.uint8).tobytes()
            with pytest.raises(compress.StreamError):
                compress.decode(table, header + body)  # our header, random check and payload
            with pytest.raises(compress.StreamError, match="LX header"):
                compress.decode(table, b"\x89P" + body)
    assert time.perf_counter() - start < 60  # a fixed number of steps: never a hang
    with pytest.raises(compress.StreamError, match="another model"):
        compress.decode(table, stream[:3] + bytes([stream[3] ^ 1]) + stream[4:])
    with pytest.raises(compress.StreamError, match="version 7"):
        compress.decode(table, stream[:2] + b"\x07" + stream[3:])
    with pytest.raises(compress.StreamError, match="too long"):
        compress.decode(table, stream + bytes(compress.MAX_PAYLOAD_BYTES))


def test_models_have_their_own_ids_and_a_cvae_is_refused() -> None:
    from vae import load_checkpoint

    ids = {compress.model_id(load_checkpoint(ROOT / "checkpoints" / name).model)
           for name in ("mnist-2d", "mnist-2d-beta4", "mnist-2d-cvae")}
    assert len(ids) == 3
    with pytest.raises(ValueError, match="unconditional"):
        compress.coding_table(load_checkpoint(ROOT / "checkpoints" / "mnist-2d-cvae").model)


def test_as_bits_reads_every_layout() -> None:
    x = (np.arange(784).reshape(28, 28) % 3 == 0)
    for form in (x, x.astype(np.uint8), x.astype(np.float32), (x * 255).astype(np.uint8), x.astype(np.int64)):
        np.testing.assert_array_equal(compress.as_bits(form), x.reshape(-1))
    np.testing.assert_array_equal(compress.as_bits(np.full((28, 28), 0.49)), 0)
    with pytest.raises(ValueError):
        compress.as_bits(np.zeros((27, 28)))


def test_quantise_z_bins_and_rate_distortion(shipped, digits) -> None:
    import torch

    z = np.random.default_rng(3).normal(size=(500, 2)) * 1.5
    for bits in (1, 3, 8):
        index, centre = lossy.quantise_z(z, bits)
        u, uc = torch.special.ndtr(torch.tensor(z)).numpy(), torch.special.ndtr(torch.tensor(centre)).numpy()
        np.testing.assert_array_equal(index, np.floor(u * 2**bits))  # the bin Phi(z) falls in
        np.testing.assert_allclose(uc, (index + 0.5) / 2**bits, atol=1e-9)  # its middle
    rd = lossy.rate_distortion(shipped.model, digits[:200], [1, 4, 12])
    assert list(rd["bits"]) == [2, 8, 24]
    assert rd["wrong"][0] > rd["wrong"][1] > rd["wrong_mu"][0] - 0.01
    assert rd["wrong"][2] == pytest.approx(rd["wrong_mu"][0], abs=0.002)  # 12 bits: as good as mu
    with pytest.raises(ValueError):
        lossy.quantise_z(z, 0)


def test_general_codecs_are_lossless_and_measured_as_files(digits) -> None:
    import lzma

    for bits in digits[:4]:  # xz with a 4 KiB dictionary: the length of xz -9e's own output
        packed = np.packbits(bits).tobytes()
        assert codecs.sizes(bits)["lzma"] == len(lzma.compress(packed, preset=9 | lzma.PRESET_EXTREME))
    sizes = codecs.sizes(digits[0])
    assert set(sizes) == set(codecs.CODECS) and all(v > 0 for v in sizes.values())
    tiled = codecs.tile(digits[:250], per_row=100)
    assert tiled.shape == (3 * 28, 100 * 28)
    np.testing.assert_array_equal(tiled[28:56, 28 * 7 : 28 * 8], digits[107])
    assert not tiled[56:, 28 * 50 :].any()  # the missing digits are blank
    buffer = io.BytesIO()
    Image.fromarray(digits[0].astype(bool)).save(buffer, format="PNG", optimize=True)
    assert sizes["PNG"] == len(buffer.getvalue()) and Image.open(buffer).mode == "1"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vae.compress", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_command_line_round_trip_and_one_line_errors(tmp_path: Path, digits) -> None:
    from vae.data import load_mnist

    Image.fromarray(load_mnist("test")[0][0]).save(tmp_path / "grey.png")
    Image.fromarray(digits[1] * 255).save(tmp_path / "bw.png")
    Image.fromarray(np.zeros((30, 28), np.uint8)).save(tmp_path / "wrong-size.png")
    (tmp_path / "not-an-image.png").write_bytes(b"hello")
    done = _cli("encode", str(tmp_path / "grey.png"), str(tmp_path / "bw.png"), str(tmp_path / "wrong-size.png"),
                str(tmp_path / "not-an-image.png"), "-o", str(tmp_path / "streams"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "binarised at 0.5" in done.stdout and done.stdout.count("binarised") == 1
    assert len(done.stderr.strip().splitlines()) == 2 and "28x28" in done.stderr
    streams = tmp_path / "streams"
    (tmp_path / "cut.lxz").write_bytes((streams / "bw.lxz").read_bytes()[:-1])
    (tmp_path / "random.lxz").write_bytes(np.random.default_rng(0).bytes(40))
    done = _cli("decode", str(streams / "grey.lxz"), str(streams / "bw.lxz"), str(tmp_path / "cut.lxz"),
                str(tmp_path / "random.lxz"), "-o", str(tmp_path / "back"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2
    back = np.asarray(Image.open(tmp_path / "back" / "bw.png"))
    np.testing.assert_array_equal(back, digits[1] * 255)
    grey_back = np.asarray(Image.open(tmp_path / "back" / "grey.png"))
    np.testing.assert_array_equal(grey_back, (load_mnist("test")[0][0] >= 128) * 255)
    assert not (tmp_path / "back" / "cut.png").exists()
    done = _cli("decode", str(streams / "bw.lxz"), "-o", str(tmp_path / "b4"), "--model", "checkpoints/mnist-2d-beta4")
    assert done.returncode == 1 and "another model" in done.stderr and "Traceback" not in done.stderr


def test_command_line_one_stream(tmp_path: Path, digits, table, monkeypatch, capsys) -> None:
    from vae import compress_cli

    monkeypatch.setattr(compress_cli, "coding_table", lambda model: table)  # the session's (8 s each)
    names = []
    for i in range(4):
        names.append(tmp_path / f"d{i}.png")
        Image.fromarray(digits[300 + i] * 255).save(names[-1])
    out = tmp_path / "out"

    def cli(*args: str) -> tuple[int, str, str]:
        code = compress_cli.main([*map(str, args)])
        done = capsys.readouterr()
        return code, done.out, done.err

    code, stdout, stderr = cli("encode", *names, "-o", out, "--one-stream", "four")
    assert code == 0 and stderr == "" and "4 images" in stdout
    stream = (out / "four.lxz").read_bytes()
    assert stream[:3] == b"LX\x02" and sorted(p.name for p in out.iterdir()) == ["four.lxz"]
    (tmp_path / "cut.lxz").write_bytes(stream[:-2])
    (tmp_path / "random.lxz").write_bytes(stream[:12] + np.random.default_rng(6).bytes(60))  # header, count, random
    (tmp_path / "other.lxz").write_bytes(stream[:3] + bytes([stream[3] ^ 1]) + stream[4:])
    code, stdout, stderr = cli("decode", out / "four.lxz", tmp_path / "cut.lxz", tmp_path / "random.lxz",
                               tmp_path / "other.lxz", "-o", tmp_path / "back")
    assert code == 1 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 3 and "check" in lines[0] and "check" in lines[1] and "another model" in lines[2]
    for i in range(4):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "back" / f"four-{i}.png")), digits[300 + i] * 255)
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == [f"four-{i}.png" for i in range(4)]
    # An unreadable image: nothing is written; a name with a folder: refused.
    (tmp_path / "bad.png").write_bytes(b"hello")
    code, _, stderr = cli("encode", names[0], tmp_path / "bad.png", "-o", tmp_path / "none", "--one-stream", "x")
    assert code == 1 and len(stderr.strip().splitlines()) == 2 and not (tmp_path / "none" / "x.lxz").exists()
    code, _, stderr = cli("encode", names[0], "-o", tmp_path / "none", "--one-stream", "a/b")
    assert code == 2 and len(stderr.strip().splitlines()) == 1


def test_the_saved_lossy_curve_is_the_computed_one_and_is_read_back(tmp_path, monkeypatch) -> None:
    from vae import load_checkpoint
    from vae.checkpoint import CHECKPOINT_DIR

    ckpt = load_checkpoint(CHECKPOINT_DIR / "mnist-2d")
    x = lossy.rd_digits()[:40]
    direct = lossy.rate_distortion(ckpt.model, x, [1, 4])
    saved = lossy.saved_rate_distortion(ckpt, x, [1, 4], directory=tmp_path)
    for name in ("bits", "wrong", "wrong_mu"):
        np.testing.assert_array_equal(saved[name], direct[name])
    monkeypatch.setattr(lossy, "rate_distortion", lambda *_a, **_k: pytest.fail("recomputed"))
    again = lossy.saved_rate_distortion(ckpt, x, [1, 4], directory=tmp_path)
    np.testing.assert_array_equal(again["wrong"], direct["wrong"])
    with pytest.raises(pytest.fail.Exception):  # other images are another key: computed, not read
        lossy.saved_rate_distortion(ckpt, lossy.rd_digits()[40:80], [1, 4], directory=tmp_path)


def test_the_coding_table_does_not_depend_on_the_thread_count(shipped, table, monkeypatch) -> None:
    """coding_table decodes on every core; encoder and decoder (another server, another replica,
    another core count) must still get the same integers."""
    import torch

    from vae import gridcoder

    threads = torch.get_num_threads()
    monkeypatch.setattr(gridcoder.os, "cpu_count", lambda: 1)
    torch.set_num_threads(1)
    try:
        single = compress.coding_table(shipped.model)  # on one core; the fixture's on every core
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(single.counts, table.counts)
    np.testing.assert_array_equal(single.order, table.order)


def test_the_saved_table_is_the_built_one_mapped_from_its_files(shipped, table, digits, tmp_path, monkeypatch) -> None:
    """The app maps the coding table from the array cache (ui.tasks.coding_table_for): every
    part equal to a fresh build, the same streams, and no second build once saved."""
    from vae import arraycache, gridcoder

    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path)
    saved = gridcoder.saved_coding_table(shipped.model, {"weights_sha256": "test"})()
    for name in ("order", "counts", "z", "log_prior_mass", "initial_log_weights", "watch_zero_cum", "watch_one_gain"):
        np.testing.assert_array_equal(getattr(saved, name), getattr(table, name))
    assert isinstance(saved.counts, np.memmap) and saved.model_id == table.model_id
    assert compress.encode(saved, digits[0]).stream == compress.encode(table, digits[0]).stream
    monkeypatch.setattr(gridcoder, "coding_table", lambda *a, **k: pytest.fail("built again"))
    stream = compress.encode(gridcoder.saved_coding_table(shipped.model, {"weights_sha256": "test"})(), digits[1]).stream
    np.testing.assert_array_equal(compress.decode(table, stream), digits[1])
