"""The latent plane as the browser draws it: its geometry and its layers. Pure: arrays in,
plain data out (no streamlit); ui/latent_plane/ turns these into the live component.

Two coordinate systems (as a manifold lays out its cells):
- "linear": plot coordinates are z itself;
- "gaussian": plot coordinates are u = Phi(z) per axis (the standard normal CDF), so the
  Gaussian-quantile manifold (Kingma & Welling 2014, Fig. 4: equal prior mass per cell) is a
  uniform picture. Ticks are labelled in z units; every point is placed at Phi of its z.
`to_plot` / `from_plot` convert; the browser does the same in plane.js (ndtr / ndtri).

Layers are data: a picture (the manifold, a density with its colour scale), points (data means
by digit, samples), polylines (q's ellipses), a path with its ends marked, markers (mu, z_MAP).
Coordinates are in z units (the browser maps them through the plane's spacing), pictures give
their extent in plot coordinates. Heavy payloads (a PNG, thousands of points) are a layer's
`blob`: the app serves each as a file named by its content hash (ui/static_files.py), so a
browser fetches it once and its HTTP cache keeps it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from .latent import Spacing, grid_axis
from .render import DIGIT_COLORS

Z_TICKS = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
Symbol = Literal["dot", "x", "ring", "star", "cross"]


def to_plot(z: np.ndarray, spacing: Spacing) -> np.ndarray:
    """z (any shape) -> plot coordinates for that spacing."""
    z = np.asarray(z, dtype=np.float64)
    if spacing == "gaussian":
        return torch.special.ndtr(torch.as_tensor(z)).numpy()  # as_tensor: 0-d input too
    return z


def from_plot(u: np.ndarray, spacing: Spacing) -> np.ndarray:
    """Plot coordinates -> z (inverse of to_plot); u is clipped into (0, 1) for gaussian."""
    u = np.asarray(u, dtype=np.float64)
    if spacing == "gaussian":
        return torch.special.ndtri(torch.as_tensor(np.clip(u, 1e-6, 1 - 1e-6))).numpy()
    return u


def plot_extent(spacing: Spacing, radius: float, n: int) -> tuple[float, float]:
    """The axis range that shows a whole n x n manifold of that spacing and radius: its cell
    centres (plot coordinates) and half a cell beyond the outer ones."""
    centres = to_plot(grid_axis(n, spacing, radius), spacing)
    step = (centres[-1] - centres[0]) / (len(centres) - 1) if len(centres) > 1 else 1.0
    return float(centres[0] - step / 2), float(centres[-1] + step / 2)


@dataclass(frozen=True)
class Plane:
    """The square of the latent plane a component shows: [lo, hi]^2 in plot coordinates (z for
    linear spacing, Phi(z) for Gaussian quantiles), and the z values labelled on its axes."""

    spacing: Spacing = "linear"
    lo: float = -4.0
    hi: float = 4.0
    ticks: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)

    @staticmethod
    def square(extent: float) -> Plane:
        """[-extent, extent]^2 in z units."""
        step = 1.0 if extent <= 3 else 2.0
        ticks = tuple(float(t) for t in np.arange(-math.floor(extent / step), math.floor(extent / step) + 1) * step)
        return Plane("linear", -float(extent), float(extent), ticks)

    @staticmethod
    def of_manifold(n: int, spacing: Spacing, radius: float) -> Plane:
        """Exactly the area of an n x n manifold (vae.latent.decode_grid): cell edges included."""
        lo, hi = plot_extent(spacing, radius, n)
        z_lo, z_hi = (float(v) for v in from_plot(np.array([lo, hi]), spacing))
        step = 1.0 if z_hi - z_lo <= 8 else 2.0
        # Gaussian: Phi(3) sits a hair from Phi(2) at the edge; label the central ones only.
        ticks = Z_TICKS[np.abs(Z_TICKS) <= 2] if spacing == "gaussian" else np.arange(-10, 11) * step
        return Plane(spacing, float(lo), float(hi), tuple(float(t) for t in ticks if z_lo <= t <= z_hi))

    @property
    def z_range(self) -> tuple[float, float]:
        """The smallest and largest z (either axis) inside the square."""
        z = from_plot(np.array([self.lo, self.hi]), self.spacing)  # clipped into (0, 1) if Gaussian
        return float(z[0]), float(z[1])

    @property
    def centre(self) -> tuple[float, float]:
        """The z at the middle of the square."""
        middle = float(from_plot(np.array((self.lo + self.hi) / 2), self.spacing))
        return middle, middle

    def clamp(self, z: Sequence[float] | None) -> tuple[float, float] | None:
        """z moved into the square (a choice made on a larger map stays on this one's edge)."""
        if z is None:
            return None
        lo, hi = self.z_range
        return (round(min(max(float(z[0]), lo), hi), 2), round(min(max(float(z[1]), lo), hi), 2))

    def view_around(self, z_lo: Sequence[float], z_hi: Sequence[float], margin: float = 0.15,
                    min_side: float = 0.05) -> tuple[float, float, float, float]:
        """A square view (x0, x1, y0, y1, plot coordinates) holding the box z_lo..z_hi (z units,
        per axis) with `margin` of its side on each edge, at least `min_side` of the plane wide,
        inside the plane: how a page opens zoomed on something small (q(z|x) with tiny sigma)."""
        a, b = to_plot(np.asarray(z_lo, np.float64), self.spacing), to_plot(np.asarray(z_hi, np.float64), self.spacing)
        side = float(max(b[0] - a[0], b[1] - a[1]))
        full = self.hi - self.lo
        side = min(full, max(side * (1 + 2 * margin), min_side * full))
        out = []
        for c in ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2):
            start = min(max(float(c) - side / 2, self.lo), self.hi - side)
            out += [start, start + side]
        return out[0], out[1], out[2], out[3]


@dataclass(frozen=True)
class Layer:
    """One layer of the plane. `spec` is small and sent on every run; `blob` (PNG bytes, or a
    points file) is served as a static file (`suffix`) and the spec carries only its URL."""

    kind: str
    name: str
    spec: dict[str, Any] = field(default_factory=dict)
    blob: bytes | None = None
    suffix: str = ""

    def to_data(self, url_for: Callable[[bytes, str], str]) -> dict[str, Any]:
        """The JSON-able form for the component; url_for(blob, suffix) publishes the blob."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, **self.spec}
        if self.blob:
            out["src"] = url_for(self.blob, self.suffix)
        return out


def _xy(z: np.ndarray) -> list[float]:
    """[P, 2] z -> flat [z1, z2, z1, z2, ...] rounded to 1e-4 (far below a pixel)."""
    return [round(float(v), 4) for v in np.asarray(z, np.float64)[:, :2].reshape(-1)]


def picture(name: str, png: bytes, extent: Sequence[float], *, pixelated: bool = False,
            opacity: float = 1.0, scale: dict[str, Any] | None = None, legend: bool = False,
            visible: bool = True) -> Layer:
    """A PNG filling extent = (x0, x1, y0, y1) in plot coordinates (row 0 at the top, y1).
    `scale`: a colour bar {title, colors, min, max} for a density."""
    spec = {"extent": [float(v) for v in extent], "pixelated": pixelated, "opacity": opacity,
            "legend": legend, "visible": visible}
    if scale:
        spec["scale"] = scale
    return Layer("picture", name, spec, png, "png")


def points(name: str, z: np.ndarray, groups: np.ndarray | None = None,
           group_names: Sequence[str] = (), colors: Sequence[str] = ("#444444",), *, size: float = 2.5,
           symbol: Symbol = "dot", clamp: bool = False, legend: bool = True, visible: bool = True) -> Layer:
    """Many points z [N, 2], each in group g [N] (colour colors[g], one legend entry per group
    name). clamp: points beyond the view are drawn on its edge instead of dropped."""
    z = np.asarray(z, np.float32)[:, :2]
    g = np.zeros(len(z), np.uint8) if groups is None else np.asarray(groups).astype(np.uint8)
    names = list(group_names) or [name]
    spec = {"groups": names, "colors": list(colors), "size": size, "symbol": symbol, "clamp": clamp,
            "legend": legend, "visible": visible, "count": int(len(z))}
    # float32 little-endian pairs [N, 2], then one group byte per point [N]: 9 bytes a point.
    return Layer("points", name, spec, z.astype("<f4").tobytes() + g.tobytes(), "bin")


def digit_points(name: str, z: np.ndarray, labels: np.ndarray, **kw: Any) -> Layer:
    """Data means coloured by digit class, a legend entry per digit."""
    return points(name, z, labels, [str(d) for d in range(10)], DIGIT_COLORS, **kw)


def polyline(name: str, z: np.ndarray, color: str, *, width: float = 2.0, dash: bool = False,
             closed: bool = False, legend: bool = True, visible: bool = True) -> Layer:
    """A line through z [P, 2] (an ellipse's contour, a circle): small, sent inline."""
    return Layer("line", name, {"xy": _xy(z), "color": color, "width": width, "dash": dash, "closed": closed,
                                "legend": legend, "visible": visible})


def path(name: str, z: np.ndarray, color: str = "#ff2d95", ends: tuple[str, str] = ("A", "B"), *,
         numbered: bool = True, legend: bool = True) -> Layer:
    """A path z [S, 2] with its steps as dots (numbered) and its two ends marked (A, B)."""
    return Layer("path", name, {"xy": _xy(z), "color": color, "ends": list(ends), "numbered": numbered,
                                "legend": legend, "visible": True})


def markers(name: str, z: np.ndarray, color: str, *, symbol: Symbol = "ring", size: float = 12.0,
            texts: Sequence[str] = (), clamp: bool = True, legend: bool = True) -> Layer:
    """A few marked points z [K, 2] (mu, z_MAP, samples) with optional text beside each."""
    return Layer("markers", name, {"xy": _xy(np.atleast_2d(z)), "color": color, "symbol": symbol, "size": size,
                                   "texts": list(texts), "clamp": clamp, "legend": legend, "visible": True})


# ---------------------------------------------------------------- densities as pictures
# Colour stops (evenly spaced) of the scales the plane uses; a colour bar shows the same stops.
SCALES: dict[str, tuple[str, ...]] = {
    "viridis": ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
                "#b5de2b", "#fde725"),
    "inferno": ("#000000", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06",
                "#f7d13d", "#fcffa4"),
    "greys": ("#ffffff", "#d9d9d9", "#a3a3a3", "#6e6e6e", "#3a3a3a", "#000000"),
}


def colorize(values: np.ndarray, scale: str, vmin: float, vmax: float) -> np.ndarray:
    """values [H, W] -> RGB uint8 [H, W, 3] on a colour scale, clipped to [vmin, vmax];
    NaN is drawn as the scale's first colour."""
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in SCALES[scale]], np.float64)  # [S, 3]
    t = (np.nan_to_num(np.asarray(values, np.float64), nan=vmin) - vmin) / max(vmax - vmin, 1e-12)
    pos = np.clip(t, 0.0, 1.0) * (len(stops) - 1)  # [H, W] in stop units
    return np.stack([np.interp(pos, np.arange(len(stops)), stops[:, c]) for c in range(3)], -1).round().astype(np.uint8)


def density_picture(name: str, values: np.ndarray, extent: Sequence[float], scale: str, vmin: float,
                    vmax: float, title: str, **kw: Any) -> Layer:
    """A density on a raster (values [m, n], rows z2 ascending as on a plot, extent (x0, x1, y0,
    y1) in plot coordinates) as a picture layer with its colour bar."""
    rgb = colorize(np.asarray(values)[::-1], scale, vmin, vmax)  # row 0 at the top of the picture
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG", optimize=True)
    bar = {"title": title, "colors": list(SCALES[scale]), "min": float(vmin), "max": float(vmax)}
    return picture(name, buffer.getvalue(), extent, scale=bar, **kw)
