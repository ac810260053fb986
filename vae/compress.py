"""Lossless compression of a binarised 28x28 digit with the model's exact 2-D marginal p(x),
and a lossy mode that sends only a quantised z.

Lossless: the 784 pixels are range-coded one by one (the `constriction` package's RangeEncoder,
not a hand-written coder) under the grid mixture's predictive probability given the pixels
already coded (vae/gridcoder.py: bit-identical integers on both sides). The code length is
-log2 p_grid(x), within 0.02 bits of the exact -log2 p(x): p(z|x) is summed out, so neither an
ELBO gap nor bits-back's initial bits are paid.

A stream is an 8-byte header and the payload:
    b"LX" | format version (1 byte) | model id (2 bytes) | check (3 bytes) | payload
The model id is the start of a hash of the model's weights; the check is the start of a sha256
of the image, so another model's stream, a truncated or a random one is refused with a
`StreamError` (one line) instead of being decoded into a wrong picture (a random stream passes
with probability 2^-24). The payload is the coder's output cut to the fewest whole bytes that
still decode when the decoder pads with zeros: on average ~2.5 bits above the information
content, the price of whole bytes (a file cannot end mid-byte).

Lossy: z = mu of q(z|x), each axis quantised to b bits on the Gaussian-quantile scale (2^b bins
of equal prior mass), sent as 2b bits; the receiver shows E[x|z].

`python -m vae.compress encode|decode|bench` is the command line (vae/compress_cli.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import constriction
import numpy as np
import torch

from .model import VAE
from .gridcoder import CODER_BITS, STEPS, CodingTable, GridWalk, as_bits, coding_table, grid_log2_px, model_id

__all__ = ["CodingTable", "Encoded", "StreamError", "as_bits", "coding_table", "decode", "encode",
           "grid_log2_px", "model_id", "quantise_z", "rate_distortion", "read_header"]

MAGIC = b"LX"
VERSION = 1
HEADER_BYTES = 8
MAX_PAYLOAD_BYTES = 784 * CODER_BITS // 8  # no image costs more than 24 bits a pixel
STREAM_SUFFIX = ".lxz"

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


class StreamError(ValueError):
    """A stream that cannot be decoded with this model; the message is one line for a user."""


def _check(model_id_bytes: bytes, bits: np.ndarray) -> bytes:
    return hashlib.sha256(model_id_bytes + np.packbits(bits.astype(np.uint8)).tobytes()).digest()[:3]


def _decode_payload(payload: bytes, probs: np.ndarray) -> np.ndarray:
    """Decode len(probs) bits with known probabilities (the encoder's trial decode)."""
    padded = payload + b"\0" * ((-len(payload)) % 4)
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(padded, ">u4").astype(np.uint32))
    return decoder.decode(_BERNOULLI, probs)


def _shortest_payload(words: np.ndarray, bits: np.ndarray, probs: np.ndarray) -> bytes:
    """The fewest bytes that decode to `bits` when the decoder pads with zeros. The coder's
    output is a number inside the message's interval; for each length the only candidates are
    that number cut to the length, and cut plus one unit in its last byte."""
    full = words.astype(">u4").tobytes()
    information = -np.log2(np.where(bits == 1, probs, 1.0 - probs)).sum()
    for length in range(max(0, int(information) // 8 - 1), len(full)):
        head = full[:length]
        candidates = [head]
        if length:
            bumped = int.from_bytes(head, "big") + 1
            if bumped < 1 << (8 * length):
                candidates.append(bumped.to_bytes(length, "big"))
        for candidate in candidates:
            try:
                if np.array_equal(_decode_payload(candidate, probs), bits):
                    return candidate
            except (AssertionError, ValueError, RuntimeError):  # constriction's "invalid data"
                pass
    return full


@dataclass(frozen=True)
class Encoded:
    """A stream and how its bits were spent."""

    stream: bytes  # header + payload
    pixel_bits: np.ndarray  # float64 [28, 28] -log2 of the coder's probability of each pixel

    @property
    def payload_bits(self) -> int:
        return 8 * (len(self.stream) - HEADER_BYTES)

    @property
    def information_bits(self) -> float:
        """The code length the probabilities give (the payload without whole-byte rounding)."""
        return float(self.pixel_bits.sum())


def encode(table: CodingTable, x: np.ndarray) -> Encoded:
    """Code one binary 28x28 image (values >= 0.5 count as ink) -> its stream."""
    bits = as_bits(x)
    ordered = bits[table.order]  # [P] in coding order
    walk = GridWalk(table)
    freqs = np.array([f for k in range(0, table.pixels, STEPS)
                      for f in walk.steps(k, ordered[k : k + STEPS].astype(np.int64))], np.int64)
    probs = freqs / float(1 << CODER_BITS)  # exact dyadic float64 [P]
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(ordered.astype(np.int32), _BERNOULLI, probs)
    payload = _shortest_payload(encoder.get_compressed(), ordered.astype(np.int32), probs)
    cost = np.empty(len(bits))
    cost[table.order] = -np.log2(np.where(ordered == 1, probs, 1.0 - probs))
    header = MAGIC + bytes([VERSION]) + table.model_id + _check(table.model_id, bits)
    return Encoded(stream=header + payload, pixel_bits=cost.reshape(28, 28))


def read_header(stream: bytes, table: CodingTable) -> bytes:
    """Check a stream's header against this model -> the payload; StreamError if it is not
    one of ours, of another version or of another model."""
    if len(stream) < HEADER_BYTES or stream[:2] != MAGIC:
        raise StreamError("not a Latent Explorer stream (it does not start with the LX header)")
    if stream[2] != VERSION:
        raise StreamError(f"stream format version {stream[2]} is not supported (this program reads version {VERSION})")
    if stream[3:5] != table.model_id:
        raise StreamError(f"the stream was made with another model (id {stream[3:5].hex()}); "
                          f"this model's id is {table.model_id.hex()}")
    if len(stream) - HEADER_BYTES > MAX_PAYLOAD_BYTES:
        raise StreamError(f"stream too long for one digit ({len(stream)} bytes)")
    return stream[HEADER_BYTES:]


def decode(table: CodingTable, stream: bytes) -> np.ndarray:
    """A stream -> the image, uint8 {0, 1} [28, 28]. StreamError for a stream of another model,
    a damaged, truncated or random one (the check over the image does not match)."""
    payload = read_header(bytes(stream), table)
    padded = payload + b"\0" * ((-len(payload)) % 4)
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(padded, ">u4").astype(np.uint32))
    scale = float(1 << CODER_BITS)
    walk = GridWalk(table)
    try:
        for k in range(table.pixels):
            walk.step(k, lambda freq: int(decoder.decode(_BERNOULLI, np.array([freq / scale]))[0]))
    except (AssertionError, ValueError, RuntimeError):
        raise StreamError("damaged stream: its payload does not decode") from None
    ordered = walk.ordered.astype(np.uint8)
    bits = np.empty(table.pixels, np.uint8)
    bits[table.order] = ordered
    if _check(table.model_id, bits) != stream[5:HEADER_BYTES]:
        raise StreamError("damaged or truncated stream: the decoded image does not match its check")
    return bits.reshape(28, 28)




# ---------------------------------------------------------------- lossy: send only z
def quantise_z(z: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """z [..., 2] -> (bin indices int64 [..., 2] in 0..2^bits-1, the bins' centres z [..., 2]):
    each axis cut into 2^bits bins of equal prior mass (Phi(z) uniform), centre = Phi^-1 of
    the bin's middle."""
    if not 1 <= bits <= 16:
        raise ValueError(f"bits per axis must be 1..16, got {bits}")
    levels = 1 << bits
    u = torch.special.ndtr(torch.as_tensor(np.asarray(z, np.float64)))
    index = torch.clamp(torch.floor(u * levels), 0, levels - 1)
    centre = torch.special.ndtri((index + 0.5) / levels)
    return index.long().numpy(), centre.numpy()


@torch.inference_mode()
def rate_distortion(model: VAE, x: np.ndarray, bits: list[int]) -> dict[str, np.ndarray]:
    """For binary images x [N, 28, 28]: z = mu of q(z|x) quantised to b bits per axis, E[x|z]
    thresholded at 0.5 -> {"bits": rate in bits per image [B] (= 2b), "wrong": mean fraction
    of wrong pixels [B], "wrong_mu": the same with mu unquantised (the floor) [1]}."""
    x_flat = torch.as_tensor(np.asarray(x, np.float32).reshape(len(x), -1))  # [N, P]
    mu = model.encode(x_flat)[0].double().numpy()  # [N, 2]

    def wrong(z: np.ndarray) -> float:
        guess = model.decode(torch.as_tensor(z, dtype=torch.float32)).reshape(len(z), -1) >= 0.5  # [N, P]
        return float((guess != (x_flat >= 0.5)).float().mean())

    return {"bits": np.array([2 * b for b in bits], np.float64),
            "wrong": np.array([wrong(quantise_z(mu, b)[1]) for b in bits]),
            "wrong_mu": np.array([wrong(mu)])}


if __name__ == "__main__":
    from .compress_cli import main

    raise SystemExit(main())
