"""The probability model a lossless coder shares between encoder and decoder: the model's
mixture over a fixed grid of z, p(x) = sum_g p(z_g) p(x | z_g), walked pixel by pixel with
integer arithmetic so that both sides compute bit-identical probabilities (vae/compress.py
writes and reads the streams).

At step k (pixels in a fixed order, most informative first) the coder's probability of a 1 is

    p(x_k = 1 | x_<k) = sum_g w_g p(x_k = 1 | z_g) / sum_g w_g,   w_g = p(z_g) prod_{j<k} p(x_j | z_g),

the grid posterior after the pixels so far; by the chain rule the code length is -log2 p_grid(x).
The grid: 160 x 160 cells of side 0.05 over [-4, 4]^2 weighted by their prior mass (the midpoint
rule for the 2-D integral: 0.015 bits from the exact -log2 p(x) on average, measured on 300 test
digits against vae/quadrature.py; a 100 x 100 grid of side 0.1 loses 0.48 bits, a
Gaussian-quantile one far more in the tails).

Bit-identical on both sides: after the grid's one decode (float64), P(x_i = 1 | z_g) is quantised
to counts c / 2^16 and everything is integers: each point's weight is an exact fixed-point log2
(int64, 2^-12 bit units, from tables of rounded logs), linear weights for a prediction come from
a table of rounded powers of two, and the coder's probability is
floor(2^24 sum_g w_g c_g / (2^16 sum_g w_g)) / 2^24 in Python integers. Integer sums do not
depend on order, so the encoder, which knows the pixels, may do 8 steps at once with matrices
and still get the decoder's numbers (it does where at most WIDE points are active; with more, as
in the first groups, [8, A] temporaries fall out of the cache and one step at a time is faster).
The watch points' log-likelihoods are kept as running sums in the table, so a regroup costs two
row sums instead of a gather over 8 x 1,600 counts. The only floats are the grid decode and the tables'
rounding: a machine whose libm or BLAS rounded one of 20 million values differently at a
rounding boundary would decode wrongly, and the stream's check (vae/compress.py) says so.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .arraycache import saved_arrays
from .checkpoint import weights_digest
from .model import VAE

GRID_N = 160  # grid cells per axis ...
GRID_RADIUS = 4.0  # ... over [-4, 4]^2 (cell side 0.05); prior mass outside: 1.3e-4
COUNT_BITS = 16  # P(x_i = 1 | z_g) as c / 2^16, c in [1, 2^16 - 1]
CODER_BITS = 24  # the coder's probability of a 1: k / 2^24, k in [1, 2^24 - 1]
LOG_FRAC_BITS = 12  # log2 weights in fixed point, units of 2^-12 bits
EXP_BITS = 31  # linear weights < 2^31, so sum_g w_g c_g < 2^31 2^16 2^15 fits int64
BLOCK = 4  # one watch point per 4 x 4 block of the grid ...
WATCH_BITS = 30  # ... the blocks within 2^-30 of the best watch point are active ...
STEPS = 8  # ... chosen again every 8 pixels
WIDE = 1024  # the encoder's steps as matrices with at most this many points active, else one by one


def model_id(model: VAE) -> bytes:
    """Two bytes naming the model: the start of a sha256 over its config and weights (a stream
    decoded with another model would give another image): vae.checkpoint.weights_digest's."""
    return bytes.fromhex(weights_digest(model))[:2]


@dataclass(frozen=True)
class CodingTable:
    """What encoder and decoder share for one model: the grid's quantised pixel probabilities
    in coding order. Read-only (a page caches one per model)."""

    model_id: bytes  # 2 bytes
    order: np.ndarray  # int64 [P]: pixel (row-major index) coded at step k
    counts: np.ndarray  # uint16 [P, G]: row k = 2^16 P(x_order[k] = 1 | z_g), in [1, 2^16 - 1]
    z: np.ndarray  # float64 [G, 2] grid points (cell centres), flat index j * n + i
    log_prior_mass: np.ndarray  # float64 [G] log of each cell's prior probability (normalised)
    initial_log_weights: np.ndarray  # int64 [G] round(2^12 log2 prior mass): fixed point
    # The watch points' fixed-point log-likelihoods, so that a group's update is two row sums:
    watch_zero_cum: np.ndarray  # int32 [P + 1, W] sum over steps j < k of log2 p(x_j = 0 | watch point)
    watch_one_gain: np.ndarray  # int32 [P, W] log2 p(x_k = 1 | .) - log2 p(x_k = 0 | .) at step k

    @property
    def pixels(self) -> int:
        return self.counts.shape[0]


@torch.inference_mode()
def coding_table(model: VAE, n: int = GRID_N, radius: float = GRID_RADIUS) -> CodingTable:
    """Decode the grid once (in float64, so the 16-bit counts do not depend on float32
    rounding) and quantise it. ValueError for a model it cannot code."""
    _check_codable(model)
    z, log_mass, initial = _grid_points(n, radius)
    decoder = copy.deepcopy(model).double()  # the shared model is never mutated
    zt = torch.from_numpy(z)
    # One-off and the biggest decode a page asks for (25,600 z's in float64: 2.5 s on one core):
    # every core, for this thread only (the counts are the same: checked on the shipped models).
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, os.cpu_count() or 1))
    try:
        logits = torch.cat([decoder.decode_logits(zt[s : s + 2048]) for s in range(0, len(z), 2048)]).numpy()
    finally:
        torch.set_num_threads(threads)
    probs = 1.0 / (1.0 + np.exp(-logits))  # [G, P] float64
    counts = np.clip(np.rint(probs * (1 << COUNT_BITS)), 1, (1 << COUNT_BITS) - 1).astype(np.int64).T  # [P, G]
    # Most informative pixels first: the variance of the counts over the grid, in integers
    # (G * sum c^2 - (sum c)^2), so the order is the same on every machine; ties by index.
    spread = [len(z) * int((row * row).sum()) - int(row.sum()) ** 2 for row in counts]
    order = np.array(sorted(range(len(spread)), key=lambda i: (-spread[i], i)), np.int64)
    ordered_counts = np.ascontiguousarray(counts[order]).astype(np.uint16)
    watch = ordered_counts[:, _blocks(n)[0]]  # [P, W]
    zero_cum = np.concatenate([np.zeros((1, watch.shape[1]), np.int64), np.cumsum(_LOG0[watch], axis=0)])
    return CodingTable(model_id=model_id(model), order=order, counts=ordered_counts, z=z,
                       log_prior_mass=log_mass, initial_log_weights=initial,
                       watch_zero_cum=zero_cum.astype(np.int32),  # >= -784 * 24 * 2^12: fits
                       watch_one_gain=(_LOG1[watch] - _LOG0[watch]).astype(np.int32))


def _check_codable(model: VAE) -> None:
    if model.config.latent_dim != 2:
        raise ValueError("lossless coding by grid needs a 2-D latent space")
    if getattr(model, "conditional", False):
        raise ValueError("lossless coding needs an unconditional model (a CVAE needs the digit's label)")


def _grid_points(n: int, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell centres float64 [G, 2] (z1 fastest), log prior mass [G] (normalised), the same in
    fixed-point log2 int64 [G]) of the n x n grid over [-radius, radius]^2."""
    step = 2.0 * radius / n
    axis = -radius + (np.arange(n) + 0.5) * step  # [n]
    z = np.stack(np.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)  # [G, 2]
    log_mass = -0.5 * (z ** 2).sum(axis=1)  # cells of equal area: prior mass ∝ N(z; 0, I)
    log_mass -= np.log(np.exp(log_mass).sum())
    return z, log_mass, np.rint(log_mass / np.log(2.0) * (1 << LOG_FRAC_BITS)).astype(np.int64)


_SAVED = ("order", "counts", "watch_zero_cum", "watch_one_gain")  # the table's parts that need the decode


def saved_coding_table(model: VAE, model_key: dict[str, object]) -> Callable[[], CodingTable]:
    """coding_table(model), built once for the weights model_key names (in any process) and kept
    in the array cache: returns an opener whose table maps its 50 MB from those files for as
    long as the caller holds it (a server keeps none of it between uses). ValueError for a model
    it cannot code."""
    _check_codable(model)
    key = {"what": "coding table", "version": 1, "torch": torch.__version__, "n": GRID_N,
           "radius": GRID_RADIUS, "count_bits": COUNT_BITS, **model_key}
    open_arrays = saved_arrays(key, _SAVED, lambda: _parts(coding_table(model)))
    z, log_mass, initial = _grid_points(GRID_N, GRID_RADIUS)
    ident = model_id(model)

    def open_table() -> CodingTable:
        return CodingTable(model_id=ident, z=z, log_prior_mass=log_mass, initial_log_weights=initial, **open_arrays())

    return open_table


def _parts(table: CodingTable) -> dict[str, np.ndarray]:
    return {name: getattr(table, name) for name in _SAVED}


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed-point logs and exponentials (integers: the same on every machine that rounds
    float64 log2/exp2 of these exact inputs the same way, which IEEE libms do):
    log1[c] = round(2^12 log2(c / 2^16)), log0[c] = round(2^12 log2(1 - c / 2^16)) for c < 2^16,
    and exp[f] = round(2^31 2^(-f / 2^12)) for a fractional part f < 2^12."""
    c = np.arange(1 << COUNT_BITS, dtype=np.float64)
    c[0] = 1.0  # never a count (counts are >= 1); keeps log2 finite
    scale = float(1 << LOG_FRAC_BITS)
    log1 = np.rint(np.log2(c / (1 << COUNT_BITS)) * scale).astype(np.int64)
    log0 = np.rint(np.log2(1.0 - c / (1 << COUNT_BITS)) * scale).astype(np.int64)
    exp = np.rint(np.exp2(EXP_BITS - np.arange(1 << LOG_FRAC_BITS) / scale)).astype(np.int64)
    return log1, log0, exp


_LOG1, _LOG0, _EXP = _tables()
_LOG = np.concatenate([_LOG0, _LOG1])  # [2^17]: index count + (pixel << 16)


def _catch_up(table: CodingTable, ordered: np.ndarray, since: np.ndarray, stop: int,
              idx: np.ndarray) -> np.ndarray:
    """The exact change of the log weights of grid points idx [n] from their steps since [n] to
    stop: sum over j of log p(x_j | z_g) in fixed point -> int64 [n] (slices of 64 steps)."""
    out = np.zeros(len(idx), np.int64)
    if len(idx) == 0:
        return out
    first = int(since.min())
    uniform = bool((since == first).all())
    for s in range(first, stop, 64):
        rows = table.counts[s : min(s + 64, stop)][:, idx]  # uint16 [B, n]
        terms = _LOG[rows + (ordered[s : s + len(rows), None] << COUNT_BITS)]  # [B, n]
        if not uniform:  # each point from its own step on
            terms = np.where(np.arange(s, s + len(rows))[:, None] >= since[None, :], terms, 0)
        out += terms.sum(axis=0)
    return out


def _neighbours(m: int) -> np.ndarray:
    """Each block of the m x m watch grid and its 8 neighbours (edges clipped) -> int64 [m*m, 9]."""
    r, c = np.divmod(np.arange(m * m), m)
    dr, dc = np.divmod(np.arange(9), 3)
    rr = np.clip(r[:, None] + dr[None, :] - 1, 0, m - 1)
    cc = np.clip(c[:, None] + dc[None, :] - 1, 0, m - 1)
    return rr * m + cc


def _blocks(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The coarse watch grid: (flat index of one point per BLOCK x BLOCK block [B], the flat
    indices of each block's points [B, BLOCK^2]); blocks in row-major order."""
    m = n // BLOCK
    rows = np.arange(m)[:, None, None, None] * BLOCK + np.arange(BLOCK)[None, None, :, None]
    cols = np.arange(m)[None, :, None, None] * BLOCK + np.arange(BLOCK)[None, None, None, :]
    members = (rows * n + cols).reshape(m * m, BLOCK * BLOCK)
    return members[:, (BLOCK // 2) * BLOCK + BLOCK // 2].copy(), members


class GridWalk:
    """The shared model's state while pixels are coded in order (encoder and decoder alike).

    Every grid point's weight is an exact fixed-point log2 (int64): prior plus the pixels'
    log-likelihoods. Updating all 25,600 every step would be slow, so a coarse watch grid (one
    point per 4 x 4 block, 1,600) is brought up to date every STEPS pixels; the blocks whose
    watch point lies within 2^-30 of the best one, and their neighbours, are "active" for the
    next STEPS pixels: their points are brought up to date exactly when they join, updated every
    step while active, and only they enter the prediction. So the prediction is the fine grid's
    mixture wherever the posterior has mass, however far it moves (a narrow peak is seen by a
    watch point beside it: the posterior falls by far less than 30 bits over a block). Being
    integers, the sums do not depend on order: the encoder may do STEPS steps at once.
    """

    def __init__(self, table: CodingTable) -> None:
        self.table = table
        n = int(round(np.sqrt(len(table.z))))
        self.m = n // BLOCK
        self.watch, self.members = _blocks(n)
        self.neighbours = _neighbours(self.m)
        self.ordered = np.zeros(table.pixels, np.int64)  # pixels so far, in coding order
        self.watch_ll = table.initial_log_weights[self.watch].copy()  # [W] exact at each regroup
        self.stale = table.initial_log_weights.copy()  # int64 [G] exact as of step `since`
        self.since = np.zeros(len(self.stale), np.int64)
        self.blocks = np.zeros(self.m * self.m, bool)
        self.idx = np.zeros(0, np.int64)  # the active points (any order: sums are exact) ...
        self.ll = np.zeros(0, np.int64)  # ... and their log weights, current

    def _bring_up_to_date(self, points: np.ndarray, k: int) -> None:
        late = points[self.since[points] < k]
        self.stale[late] += _catch_up(self.table, self.ordered, self.since[late], k, late)
        self.since[late] = k

    def regroup(self, k: int) -> None:
        """At step k (a multiple of STEPS): choose the active blocks from the watch grid."""
        table = self.table
        if k:  # the watch points, over the last STEPS pixels: the zeros' sum, plus the ones' gain
            self.watch_ll += table.watch_zero_cum[k] - table.watch_zero_cum[k - STEPS]
            ones = np.flatnonzero(self.ordered[k - STEPS : k])
            if len(ones):
                self.watch_ll += table.watch_one_gain[k - STEPS + ones].sum(axis=0)
        values = self.watch_ll
        near = np.flatnonzero(values >= values.max() - (WATCH_BITS << LOG_FRAC_BITS))
        wide = np.zeros(self.m * self.m, bool)  # with the neighbouring blocks: a peak between watch points
        wide[self.neighbours[near]] = True
        if not np.array_equal(wide, self.blocks):  # else the active points and their weights stay
            self.stale[self.idx], self.since[self.idx] = self.ll, k
            self.blocks = wide
            self.idx = self.members[wide].reshape(-1)
            self._bring_up_to_date(self.idx, k)
            self.ll = self.stale[self.idx]

    @staticmethod
    def _weights(ll: np.ndarray) -> np.ndarray:
        """Fixed-point log weights [..., A] -> integers 2^31 2^-(bits below the row's best)."""
        d = ll.max(axis=-1, keepdims=True) - ll
        return _EXP[d & ((1 << LOG_FRAC_BITS) - 1)] >> np.minimum(d >> LOG_FRAC_BITS, 63)

    def step(self, k: int, pixel_at: Callable[[int], int]) -> int:
        """Step k alone (the decoder): the frequency of a 1, then pixel_at(freq) is the pixel."""
        if k % STEPS == 0:
            self.regroup(k)
        return self._advance(k, pixel_at)

    def _advance(self, k: int, pixel_at: Callable[[int], int]) -> int:
        """Step k after its group's regroup."""
        c = self.table.counts[k, self.idx].astype(np.int64)  # [A]
        w = self._weights(self.ll)
        freq = _frequency(int(w @ c), int(w.sum()))
        self.ordered[k] = bit = pixel_at(freq)
        self.ll = self.ll + (_LOG1 if bit else _LOG0)[c]
        return freq

    def steps(self, k: int, bits: np.ndarray) -> list[int]:
        """Steps k .. k + len(bits) - 1 at once, within one group (the encoder, which knows the
        pixels) -> their frequencies, the same integers `step` gives one by one."""
        self.regroup(k)
        r = len(bits)
        self.ordered[k : k + r] = bits
        if len(self.idx) > WIDE:  # many points: step by step, each step's arrays stay in cache
            return [self._advance(k + j, lambda freq, bit=int(bits[j]): bit) for j in range(r)]
        c = self.table.counts[k : k + r][:, self.idx].astype(np.int64)  # [R, A]
        terms = _LOG[c + (bits[:, None] << COUNT_BITS)]  # [R, A]
        before = self.ll[None, :] + np.cumsum(terms, axis=0) - terms  # [R, A] ll at each step
        w = self._weights(before)
        freqs = [_frequency(int(a), int(b)) for a, b in zip((w * c).sum(axis=1), w.sum(axis=1))]
        self.ll = before[-1] + terms[-1]
        return freqs


def _frequency(weighted_ones: int, total: int) -> int:
    """The coder's frequency of a 1 out of 2^24: floor(2^24 sum w c / (2^16 sum w)), clipped so
    both pixel values stay possible (Python integers: exact)."""
    freq = (weighted_ones << CODER_BITS) // (total << COUNT_BITS)
    return min(max(freq, 1), (1 << CODER_BITS) - 1)


def as_bits(x: np.ndarray) -> np.ndarray:
    """A 28x28 image -> uint8 {0, 1} [784], ink = 1: floats in [0, 1] are binarised at 0.5,
    integers 0..255 at 128, and an integer or bool array of only 0s and 1s is taken as bits."""
    a = np.asarray(x)
    if a.size != 784:
        raise ValueError(f"expected a 28x28 image, got shape {a.shape}")
    if a.dtype.kind in "iub":
        return (a.reshape(-1) >= (1 if a.max(initial=0) <= 1 else 128)).astype(np.uint8)
    return (a.reshape(-1).astype(np.float64) >= 0.5).astype(np.uint8)


def grid_log2_px(table: CodingTable, x: np.ndarray) -> float | np.ndarray:
    """-log2 of the grid's p(x) in float64 (what the code length approaches; no quantisation):
    one image [28, 28] -> float, a batch [N, 28, 28] -> float64 [N]."""
    a = np.asarray(x)
    batch = a.ndim == 3
    images = a.reshape(-1, 28, 28) if batch else a[None]
    counts = table.counts.astype(np.float64) / (1 << COUNT_BITS)  # [P, G] in coding order
    log1, log0 = np.log(counts), np.log1p(-counts)
    ordered = np.stack([as_bits(image)[table.order] for image in images]).astype(np.float64)  # [N, P]
    log_lik = ordered @ (log1 - log0) + log0.sum(axis=0)  # [N, G]
    joint = log_lik + table.log_prior_mass
    top = joint.max(axis=1, keepdims=True)
    out = -(top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))) / np.log(2.0)
    return out if batch else float(out[0])
