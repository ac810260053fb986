"""Lossless compression of a binarised 28x28 digit with the model's exact 2-D marginal p(x),
and a lossy mode that sends only a quantised z.

Lossless: the 784 pixels are range-coded one by one (the `constriction` package's RangeEncoder,
not a hand-written coder) under the grid mixture's predictive probability given the pixels
already coded (vae/gridcoder.py: bit-identical integers on both sides). The code length is
-log2 p_grid(x), within 0.02 bits of the exact -log2 p(x): p(z|x) is summed out, so neither an
ELBO gap nor bits-back's initial bits are paid.

A stream of one digit is an 8-byte header and the payload:
    b"LX" | format version 1 | model id (2 bytes) | check (3 bytes) | payload
The model id is the start of a hash of the model's weights; the check is the start of a sha256
of the image, so another model's stream, a truncated or a random one is refused with a
`StreamError` (one line) instead of being decoded into a wrong picture (a random stream passes
with probability 2^-24). The payload is the coder's output cut to the fewest whole bytes that
still decode when the decoder pads with zeros. A file cannot end mid-byte, so a digit pays for
whole bytes: if the code length I is uniform modulo 8, the shortest whole-byte cut costs on
average 4 - 1/ln 2 = 2.56 bits above I (`BYTE_ROUNDING_BITS`), 1.4 % of a digit's
~185 bits.

A set of digits (`encode_many` / `decode_many`) is one stream, so that the termination is paid
once, as bits-back papers do for their whole-dataset rates:
    b"LX" | format version 2 | model id (2 bytes) | payload check (3 bytes)
    | count (LEB128, 1-3 bytes) | images check (3 bytes) | payload
The digits are coded one after the other into a single range coder (each under its own grid
walk: the model knows nothing of the digits before it). The payload check (a sha256 of the
model id, the count and the payload) refuses a truncated, damaged or random set before any
decoding; the images check, after decoding, catches a decoder that computed other
probabilities (see vae/gridcoder.py on floats).

Lossy (vae/lossy.py): z = mu of q(z|x), each axis quantised to b bits on the Gaussian-quantile scale (2^b bins
of equal prior mass), sent as 2b bits; the receiver shows E[x|z].

`python -m vae.compress encode|decode|bench` is the command line (vae/compress_cli.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import constriction
import numpy as np
import torch

from .gridcoder import CODER_BITS, STEPS, CodingTable, GridWalk, as_bits, coding_table, grid_log2_px, model_id

__all__ = ["CodingTable", "Encoded", "EncodedSet", "StreamError", "as_bits", "coding_table", "decode",
           "decode_many", "decode_range", "encode", "encode_many", "grid_log2_px", "is_set_stream", "model_id",
           "read_header", "read_set_header"]

MAGIC = b"LX"
VERSION = 1  # one digit
SET_VERSION = 2  # a set of digits in one stream
HEADER_BYTES = 8
SET_CHECK_BYTES = 3  # the images check after a set's count
MAX_PAYLOAD_BYTES = 784 * CODER_BITS // 8  # no image costs more than 24 bits a pixel
MAX_SET_DIGITS = 100_000  # a set's count (a random count must not mean hours of decoding)
STREAM_SUFFIX = ".lxz"
# The expected cost of ending a stream on a whole byte. The payload is the fewest bytes n whose
# zero-padded value lies in the message's interval, of width 2^-I: an interval at a random
# place holds a multiple of 2^-8n with probability min(1, 2^(8n - I)), so
# E[8n] = 8 sum_n P(more than n bytes) = I + 8 - f - 8 2^-f 256/255 with f = I mod 8, and for f
# uniform on [0, 8) the mean excess is 4 - 1/ln 2 = 2.56 bits.
BYTE_ROUNDING_BITS = 4.0 - 1.0 / np.log(2.0)  # 2.557

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


class StreamError(ValueError):
    """A stream that cannot be decoded with this model; the message is one line for a user."""


def _check(model_id_bytes: bytes, bits: np.ndarray) -> bytes:
    return hashlib.sha256(model_id_bytes + np.packbits(bits.astype(np.uint8)).tobytes()).digest()[:3]


def _words(payload: bytes) -> np.ndarray:
    """A payload -> the coder's 32-bit words, the last one padded with zero bytes."""
    padded = payload + b"\0" * ((-len(payload)) % 4)
    return np.frombuffer(padded, ">u4").astype(np.uint32)


def _decodes_to(payload: bytes, bits: np.ndarray, probs: np.ndarray) -> bool:
    """Whether `payload` decodes to `bits` under known probabilities (the encoder's trial
    decode: the decoder's probabilities depend only on the pixels before, so a payload that
    gives the right pixels here gives them to the real decoder)."""
    try:
        decoder = constriction.stream.queue.RangeDecoder(_words(payload))
        return bool(np.array_equal(decoder.decode(_BERNOULLI, probs), bits))
    except (AssertionError, ValueError, RuntimeError):  # constriction's "invalid data"
        return False


def _shortest_payload(words: np.ndarray, bits: np.ndarray, probs: np.ndarray, information: float) -> bytes:
    """The fewest bytes that decode to `bits` when the decoder pads with zeros. The coder's
    output is a number inside the message's interval; for each length the only candidates are
    that number cut to the length, and cut plus one unit in its last byte. If a length has a
    candidate inside the interval, so has the next (the longer cut lies between the shorter one
    and the number; the longer bump between the number and the shorter bump), so the length is
    found by bisection between the information content minus a byte and the whole output: a
    few trial decodes, not one per byte (a set's output is ~0.1 bit a digit above its code
    length, hundreds of bytes for 10,000 digits)."""
    full = words.astype(">u4").tobytes()

    def fits(length: int) -> bytes | None:
        head = full[:length]
        candidates = [head]
        if length:
            bumped = int.from_bytes(head, "big") + 1
            if bumped < 1 << (8 * length):
                candidates.append(bumped.to_bytes(length, "big"))
        return next((c for c in candidates if _decodes_to(c, bits, probs)), None)

    lo, hi = max(0, int(information) // 8 - 1), len(full)  # the answer is in [lo, hi]; hi always fits
    found = {hi: full}
    while lo < hi:
        mid = (lo + hi) // 2
        payload = fits(mid)
        if payload is None:
            lo = mid + 1
        else:
            hi, found[mid] = mid, payload
    return found[hi] if hi in found else (fits(hi) or full)


def frequencies(table: CodingTable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One image -> (its pixels in coding order, uint8 [P]; the coder's frequency of a 1 at
    each step, out of 2^24, int64 [P]): what the range coder is given."""
    ordered = as_bits(x)[table.order]  # [P] in coding order
    walk = GridWalk(table)
    freqs = np.array([f for k in range(0, table.pixels, STEPS)
                      for f in walk.steps(k, ordered[k : k + STEPS].astype(np.int64))], np.int64)
    return ordered, freqs


def _costs(ordered: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """-log2 of the coder's probability of each coded pixel [..., P]."""
    return -np.log2(np.where(ordered == 1, probs, 1.0 - probs))


@dataclass(frozen=True)
class Encoded:
    """A stream and how its bits were spent."""

    stream: bytes  # header + payload
    pixel_bits: np.ndarray  # float64 [28, 28] -log2 of the coder's probability of each pixel
    frequencies: np.ndarray | None = None  # int64 [P] the coder's frequencies, coding order (for encode_many)

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
    ordered, freqs = frequencies(table, x)
    probs = freqs / float(1 << CODER_BITS)  # exact dyadic float64 [P]
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(ordered.astype(np.int32), _BERNOULLI, probs)
    costs = _costs(ordered, probs)
    payload = _shortest_payload(encoder.get_compressed(), ordered.astype(np.int32), probs, float(costs.sum()))
    cost = np.empty(len(bits))
    cost[table.order] = costs
    header = MAGIC + bytes([VERSION]) + table.model_id + _check(table.model_id, bits)
    return Encoded(stream=header + payload, pixel_bits=cost.reshape(28, 28), frequencies=freqs)


def read_header(stream: bytes, table: CodingTable) -> bytes:
    """Check a stream's header against this model -> the payload; StreamError if it is not
    one of ours, of another version or of another model."""
    if len(stream) < HEADER_BYTES or stream[:2] != MAGIC:
        raise StreamError("not a Latent Explorer stream (it does not start with the LX header)")
    if stream[2] == SET_VERSION:
        raise StreamError("this stream holds a set of digits (decode it with decode_many)")
    if stream[2] != VERSION:
        raise StreamError(f"stream format version {stream[2]} is not supported (this program reads version {VERSION})")
    if stream[3:5] != table.model_id:
        raise StreamError(f"the stream was made with another model (id {stream[3:5].hex()}); "
                          f"this model's id is {table.model_id.hex()}")
    if len(stream) - HEADER_BYTES > MAX_PAYLOAD_BYTES:
        raise StreamError(f"stream too long for one digit ({len(stream)} bytes)")
    return stream[HEADER_BYTES:]


def _decode_digits(table: CodingTable, decoder, count: int) -> np.ndarray:
    """The next `count` digits from a range decoder -> uint8 {0, 1} [count, P] in pixel order.
    StreamError if the payload runs into data constriction calls invalid."""
    scale = float(1 << CODER_BITS)
    out = np.empty((count, table.pixels), np.uint8)
    for i in range(count):
        walk = GridWalk(table)
        try:
            for k in range(table.pixels):
                walk.step(k, lambda freq: int(decoder.decode(_BERNOULLI, np.array([freq / scale]))[0]))
        except (AssertionError, ValueError, RuntimeError):
            raise StreamError("damaged stream: its payload does not decode") from None
        out[i, table.order] = walk.ordered
    return out


def decode(table: CodingTable, stream: bytes) -> np.ndarray:
    """A stream -> the image, uint8 {0, 1} [28, 28]. StreamError for a stream of another model,
    a damaged, truncated or random one (the check over the image does not match)."""
    payload = read_header(bytes(stream), table)
    decoder = constriction.stream.queue.RangeDecoder(_words(payload))
    bits = _decode_digits(table, decoder, 1)[0]
    if _check(table.model_id, bits) != stream[5:HEADER_BYTES]:
        raise StreamError("damaged or truncated stream: the decoded image does not match its check")
    return bits.reshape(28, 28)


# ---------------------------------------------------------------- a set of digits, one stream
def _varint(n: int) -> bytes:
    """LEB128: 7 bits a byte, low first, high bit = more follows."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >= 0x80 else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _set_check(model_id_bytes: bytes, count: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(b"set" + model_id_bytes + count + payload).digest()[:3]


def _images_check(model_id_bytes: bytes, bits: np.ndarray) -> bytes:
    """[N, P] bits -> 3 bytes (the count is in the hash through the length)."""
    return hashlib.sha256(model_id_bytes + np.packbits(bits.astype(np.uint8), axis=-1).tobytes()).digest()[:3]


def is_set_stream(stream: bytes) -> bool:
    """Whether a stream starts like a set of digits (format version 2)."""
    return len(stream) > 2 and stream[:2] == MAGIC and stream[2] == SET_VERSION


@dataclass(frozen=True)
class EncodedSet:
    """One stream holding a set of digits, and how its bits were spent."""

    stream: bytes  # header, count, images check, payload
    digit_bits: np.ndarray  # float64 [N] each digit's code length (its information content)
    checkpoints: tuple[tuple[int, int, tuple[int, int]], ...] = ()  # (digit, word position, coder state)

    @property
    def count(self) -> int:
        return len(self.digit_bits)

    @property
    def overhead_bytes(self) -> int:
        """The bytes before the payload: header, count and images check."""
        return HEADER_BYTES + len(_varint(self.count)) + SET_CHECK_BYTES

    @property
    def payload_bits(self) -> int:
        return 8 * (len(self.stream) - self.overhead_bytes)

    @property
    def information_bits(self) -> float:
        return float(self.digit_bits.sum())


def encode_many(table: CodingTable, images: np.ndarray, freqs: list[np.ndarray] | np.ndarray | None = None,
                checkpoints: tuple[int, ...] = ()) -> EncodedSet:
    """Code a set of binary 28x28 images [N, 28, 28] (N >= 1) as one stream. `freqs`: each
    image's coder frequencies if already known (`Encoded.frequencies`, e.g. from per-digit
    encodes in worker processes), else computed here. `checkpoints`: digit indices at which to
    record the coder's position, so that parts of the set can be decoded separately
    (`decode_range`); they are not part of the stream."""
    bits = np.stack([as_bits(x) for x in images]) if len(images) else np.zeros((0, table.pixels), np.uint8)
    count = len(bits)
    if not 1 <= count <= MAX_SET_DIGITS:
        raise ValueError(f"a set holds 1 to {MAX_SET_DIGITS:,} digits, got {count:,}")
    ordered = bits[:, table.order]  # [N, P]
    if freqs is None:
        freqs = [frequencies(table, x)[1] for x in bits]
    probs = np.asarray(freqs, np.int64).reshape(count, table.pixels) / float(1 << CODER_BITS)
    symbols = ordered.astype(np.int32)
    encoder = constriction.stream.queue.RangeEncoder()
    wanted = {c for c in checkpoints if 0 <= c < count}
    edges = sorted({0, count, *wanted})  # the runs between checkpoints, one call each
    marks = []
    for a, b in zip(edges[:-1], edges[1:]):
        if a in wanted:
            position, state = encoder.pos()
            marks.append((a, int(position), (int(state[0]), int(state[1]))))
        encoder.encode(symbols[a:b].reshape(-1), _BERNOULLI, probs[a:b].reshape(-1))
    costs = _costs(ordered, probs)  # [N, P]
    digit_bits = costs.sum(axis=1)
    payload = _shortest_payload(encoder.get_compressed(), symbols.reshape(-1), probs.reshape(-1),
                                float(digit_bits.sum()))
    n = _varint(count)
    stream = (MAGIC + bytes([SET_VERSION]) + table.model_id + _set_check(table.model_id, n, payload) + n
              + _images_check(table.model_id, bits) + payload)
    return EncodedSet(stream=stream, digit_bits=digit_bits, checkpoints=tuple(marks))


def read_set_header(stream: bytes, table: CodingTable) -> tuple[int, bytes, bytes]:
    """Check a set stream against this model -> (count, images check, payload); StreamError if
    it is not a set of ours, of another model, or if its payload fails its check (truncated,
    damaged, random)."""
    if len(stream) < HEADER_BYTES or stream[:2] != MAGIC:
        raise StreamError("not a Latent Explorer stream (it does not start with the LX header)")
    if stream[2] == VERSION:
        raise StreamError("this stream holds one digit, not a set (decode it with decode)")
    if stream[2] != SET_VERSION:
        raise StreamError(f"stream format version {stream[2]} is not supported (this program reads "
                          f"versions {VERSION} and {SET_VERSION})")
    if stream[3:5] != table.model_id:
        raise StreamError(f"the stream was made with another model (id {stream[3:5].hex()}); "
                          f"this model's id is {table.model_id.hex()}")
    count, shift, at = 0, 0, HEADER_BYTES
    while True:
        if at >= len(stream) or shift > 21:
            raise StreamError("damaged or truncated stream: no valid count of digits")
        byte = stream[at]
        count |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if not byte & 0x80:
            break
    if not 1 <= count <= MAX_SET_DIGITS or stream[HEADER_BYTES:at] != _varint(count):
        raise StreamError(f"damaged stream: a set holds 1 to {MAX_SET_DIGITS:,} digits, this one says {count:,}")
    if len(stream) < at + SET_CHECK_BYTES:
        raise StreamError("truncated stream: it ends before its payload")
    payload = stream[at + SET_CHECK_BYTES :]
    if len(payload) > count * MAX_PAYLOAD_BYTES:
        raise StreamError(f"stream too long for {count:,} digits ({len(stream):,} bytes)")
    if _set_check(table.model_id, stream[HEADER_BYTES:at], payload) != stream[5:HEADER_BYTES]:
        raise StreamError("damaged or truncated stream: its payload does not match its check")
    return count, stream[at : at + SET_CHECK_BYTES], payload


def decode_range(table: CodingTable, stream: bytes, start: int = 0, stop: int | None = None,
                 checkpoint: tuple[int, int, tuple[int, int]] | None = None) -> np.ndarray:
    """Digits start..stop-1 of a set stream -> uint8 {0, 1} [stop - start, 28, 28], from the
    stream's start or from a checkpoint recorded by encode_many at digit `start` (to decode
    parts of one stream in parallel). The images check is the caller's (decode_many's)."""
    count, _, payload = read_set_header(bytes(stream), table)
    stop = count if stop is None else stop
    if not 0 <= start <= stop <= count:
        raise ValueError(f"digits {start}..{stop} of a set of {count}")
    decoder = constriction.stream.queue.RangeDecoder(_words(payload))
    if checkpoint is not None:
        if checkpoint[0] != start:
            raise ValueError(f"a checkpoint at digit {checkpoint[0]} cannot start digit {start}")
        decoder.seek(checkpoint[1], checkpoint[2])
    elif start:
        _decode_digits(table, decoder, start)
    return _decode_digits(table, decoder, stop - start).reshape(-1, 28, 28)


def decode_many(table: CodingTable, stream: bytes) -> np.ndarray:
    """A set stream -> its images, uint8 {0, 1} [N, 28, 28]. StreamError for a stream of
    another model, a damaged, truncated or random one (refused by the payload check before any
    decoding), or if the decoded images do not match their check."""
    stream = bytes(stream)
    _, images_check, _ = read_set_header(stream, table)
    bits = decode_range(table, stream)
    if _images_check(table.model_id, bits.reshape(len(bits), -1)) != images_check:
        raise StreamError("the decoded images do not match their check (a decoder that computes other "
                          "probabilities than the encoder's)")
    return bits


if __name__ == "__main__":
    from .compress_cli import main

    raise SystemExit(main())
