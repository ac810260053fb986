"""Plotly figure builders. Pure: arrays in, go.Figure out (no model, no streamlit).

The latent map has two coordinate systems:
- "linear": plot coordinates are z itself;
- "gaussian": plot coordinates are u = Phi(z) per axis (the standard normal CDF), so the
  Gaussian-quantile manifold (Kingma & Welling 2014, Fig. 4) is a uniform image. Ticks are
  labelled in z units, and every marker is placed at Phi of its z.
`to_plot` / `from_plot` convert; a clicked point's plot coordinates map back through from_plot.
"""

from __future__ import annotations

import base64
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from .latent import Manifold, Spacing
from .render import DIGIT_COLORS, png_bytes

Z_TICKS = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])


def to_plot(z: np.ndarray, spacing: Spacing) -> np.ndarray:
    """z (any shape) -> plot coordinates for that spacing."""
    z = np.asarray(z, dtype=np.float64)
    if spacing == "gaussian":
        return torch.special.ndtr(torch.from_numpy(z)).numpy()
    return z


def from_plot(u: np.ndarray, spacing: Spacing) -> np.ndarray:
    """Plot coordinates -> z (inverse of to_plot); u is clipped into (0, 1) for gaussian."""
    u = np.asarray(u, dtype=np.float64)
    if spacing == "gaussian":
        return torch.special.ndtri(torch.from_numpy(np.clip(u, 1e-6, 1 - 1e-6))).numpy()
    return u


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _cell_edges(centres: np.ndarray) -> tuple[float, float]:
    """Outer edges of a row of evenly spaced cell centres (plot coordinates)."""
    step = (centres[-1] - centres[0]) / (len(centres) - 1) if len(centres) > 1 else 1.0
    return float(centres[0] - step / 2), float(centres[-1] + step / 2)


def plot_extent(spacing: Spacing, radius: float, n: int) -> tuple[float, float]:
    """The axis range that shows a whole n x n manifold of that spacing and radius."""
    from .latent import grid_axis

    return _cell_edges(to_plot(grid_axis(n, spacing, radius), spacing))


def latent_map(
    spacing: Spacing = "linear",
    radius: float = 3.0,
    manifold: Manifold | None = None,
    points: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    click_lattice: int = 0,
    marker: Sequence[float] | None = None,
    path: np.ndarray | None = None,
    ellipses: Sequence[tuple[np.ndarray, str]] = (),
    samples: np.ndarray | None = None,
    height: int = 620,
    title: str | None = None,
) -> go.Figure:
    """The latent plane: manifold image, data scatter, click lattice, marker, path, ellipses.

    points [N, 2] / labels [N]: latent means coloured by digit, one legend entry per digit.
    click_lattice m > 0 adds an invisible m x m lattice of points over the map, so that a click
    anywhere (Streamlit's on_select reports only clicks on points) selects a nearby z.
    path [S, 2]: a polyline with numbered steps. ellipses: (closed contour [P, 2], name).
    """
    fig = go.Figure()
    n = manifold.n if manifold is not None else 20
    lo, hi = plot_extent(spacing, radius, n)
    if manifold is not None:
        fig.add_layout_image(
            source=_data_uri(png_bytes(manifold.image)),
            xref="x", yref="y", x=lo, y=hi, sizex=hi - lo, sizey=hi - lo,
            sizing="stretch", layer="below",
        )
    if click_lattice > 0:
        axis = np.linspace(lo, hi, click_lattice)
        ux, uy = np.meshgrid(axis, axis)
        zx, zy = from_plot(ux.ravel(), spacing), from_plot(uy.ravel(), spacing)
        fig.add_trace(go.Scatter(
            x=ux.ravel(), y=uy.ravel(), mode="markers", name="lattice", showlegend=False,
            marker=dict(size=8, opacity=0), customdata=np.stack([zx, zy], axis=1),
            hovertemplate="z = (%{customdata[0]:.2f}, %{customdata[1]:.2f})<extra></extra>",
        ))
    if points is not None and labels is not None and len(points):
        plot_xy = to_plot(points, spacing)
        for digit in range(10):
            sel = np.asarray(labels) == digit
            if not sel.any():
                continue
            fig.add_trace(go.Scattergl(
                x=plot_xy[sel, 0], y=plot_xy[sel, 1], mode="markers", name=str(digit),
                marker=dict(size=4, color=DIGIT_COLORS[digit], opacity=0.75),
                customdata=points[sel],
                hovertemplate=f"digit {digit}<br>z = (%{{customdata[0]:.2f}}, %{{customdata[1]:.2f}})<extra></extra>",
            ))
    for i, (contour, name) in enumerate(ellipses):
        xy = to_plot(contour, spacing)
        # Solid for the first (1 sigma), dashed for the next (2 sigma), ...
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name,
                                 line=dict(color="#e6a800", width=2.5, dash="solid" if i == 0 else "dash"),
                                 hoverinfo="skip"))
    if samples is not None and len(samples):
        xy = to_plot(samples, spacing)
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers", name="z ~ q(z|x)",
            marker=dict(size=7, color="#ffd400", symbol="x", line=dict(width=1, color="black")),
            customdata=samples, hovertemplate="z = (%{customdata[0]:.2f}, %{customdata[1]:.2f})<extra></extra>",
        ))
    if path is not None and len(path):
        xy = to_plot(path, spacing)
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="lines+markers+text", name="path",
            line=dict(color="#ff2d95", width=3), marker=dict(size=7, color="#ff2d95"),
            text=[str(i + 1) for i in range(len(path))], textposition="top center",
            textfont=dict(color="#ff2d95"), customdata=path,
            hovertemplate="step %{text}<br>z = (%{customdata[0]:.2f}, %{customdata[1]:.2f})<extra></extra>",
        ))
    if marker is not None:
        xy = to_plot(np.asarray(marker, dtype=np.float64)[None, :2], spacing)
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers", name="selected z",
            marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="#ff2d95", width=3),
                        symbol="circle"),
            hovertemplate=f"selected z = ({marker[0]:.2f}, {marker[1]:.2f})<extra></extra>",
        ))
    axis = dict(range=[lo, hi], zeroline=False, showgrid=False, title=None)
    if spacing == "gaussian":
        axis.update(tickvals=to_plot(Z_TICKS, spacing), ticktext=[f"{t:g}" for t in Z_TICKS])
    fig.update_layout(
        height=height,
        margin=dict(l=40, r=10, t=40 if title else 10, b=40),
        title=title,
        xaxis=dict(axis, title="z₁"),
        yaxis=dict(axis, title="z₂", scaleanchor="x", scaleratio=1),
        plot_bgcolor="black" if manifold is not None else "white",
        legend=dict(title="digit", itemsizing="constant"),
        dragmode="pan",
        clickmode="event+select",
    )
    return fig
