"""Plotly figure builders. Pure: arrays in, go.Figure out (no model, no streamlit).

The latent map has two coordinate systems:
- "linear": plot coordinates are z itself;
- "gaussian": plot coordinates are u = Phi(z) per axis (the standard normal CDF), so the
  Gaussian-quantile manifold (Kingma & Welling 2014, Fig. 4) is a uniform image. Ticks are
  labelled in z units, and every marker is placed at Phi of its z.
`to_plot` / `from_plot` convert; a clicked point's plot coordinates map back through from_plot.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from .latent import Spacing
from .render import DIGIT_COLORS

Z_TICKS = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])


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
    points: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    marker: Sequence[float] | None = None,
    path: np.ndarray | None = None,
    ellipses: Sequence[tuple[np.ndarray, str]] = (),
    samples: np.ndarray | None = None,
    height: int = 620,
    title: str | None = None,
) -> go.Figure:
    """The latent plane (the frame of a 20 x 20 manifold of that radius): data scatter, marker,
    path, ellipses. (The manifold page's map is the live pad, ui/latent_pad.py.)

    points [N, 2] / labels [N]: latent means coloured by digit, one legend entry per digit.
    path [S, 2]: a polyline with numbered steps. ellipses: (closed contour [P, 2], name).
    """
    fig = go.Figure()
    lo, hi = plot_extent(spacing, radius, 20)
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
        plot_bgcolor="white",
        legend=dict(title="digit", itemsizing="constant"),
        dragmode="pan",
        clickmode="event+select",
    )
    return fig


def training_curves(history: list[dict[str, float]]) -> go.Figure:
    """Per-epoch curves: validation ELBO, and the last batch's ELBO, KL and reconstruction."""
    epochs = [row["epoch"] for row in history]
    fig = go.Figure()
    for key, name in [("val_elbo", "validation ELBO"), ("train_elbo", "train ELBO (last batch)"),
                      ("train_recon", "−reconstruction term"), ("train_kl", "−KL term")]:
        sign = -1.0 if key in ("train_recon", "train_kl") else 1.0
        fig.add_trace(go.Scatter(x=epochs, y=[sign * row[key] for row in history], mode="lines+markers",
                                 name=name))
    fig.update_layout(height=380, margin=dict(l=40, r=10, t=30, b=40), xaxis_title="epoch",
                      yaxis_title="nats per image", legend=dict(orientation="h", y=-0.25))
    return fig


# ================================================================ probabilities (issue 4)

from .latent import ellipse  # noqa: E402  (this section is appended; imports kept with it)
from .likelihood import Bands, PosteriorGrid  # noqa: E402

_Q_COLOR = "#00e5ff"  # q(z|x): ellipses and its mean
# Inferno with its first colour #000004 made #000000: Streamlit's plotly theme treats colours
# #000001..#0000xx as placeholders for theme colours and would paint zero density pink.
_INFERNO = ["#000000", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06",
            "#f7d13d", "#fcffa4"]
_MAP_COLOR = "#ff2d95"  # z_MAP of p(z|x), the user's score


def _point(fig: go.Figure, z: np.ndarray, name: str, symbol: str, color: str, size: int = 12) -> None:
    line = dict(width=2, color=color) if symbol.endswith("-open") else dict(width=1.5, color="black")
    fig.add_trace(go.Scatter(
        x=[float(z[0])], y=[float(z[1])], mode="markers", name=name,
        marker=dict(symbol=symbol, size=size, color=color, line=line),
        hovertemplate=f"{name}<br>z = ({float(z[0]):.3f}, {float(z[1]):.3f})<extra></extra>",
    ))


def _q_ellipses(fig: go.Figure, mu: np.ndarray, logvar: np.ndarray) -> None:
    for n_sigma, dash in ((1.0, "solid"), (2.0, "dash")):
        xy = ellipse(mu, logvar, n_sigma)
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=f"q(z|x) {n_sigma:g}σ",
                                 line=dict(color=_Q_COLOR, width=2, dash=dash), hoverinfo="skip"))


def _legend_below() -> dict:
    return dict(orientation="h", yanchor="top", y=-0.14, xanchor="left", x=0)


def log_joint_figure(post: PosteriorGrid, span: float = 150.0, height: int = 470) -> go.Figure:
    """log p(x, z) = log p(x|z) + log p(z) over the prior's bulk (the level-0 grid), with the
    finely resolved view around the posterior drawn on top (one colour scale, clipped `span`
    nats below the maximum)."""
    top = float(max(post.view_log_joint.max(), post.coarse_log_joint.max()))
    hover = "z = (%{x:.3f}, %{y:.3f})<br>log p(x,z) = %{z:.1f} nats<extra>%{meta}</extra>"
    # Colour scales are set on each trace (Streamlit's plotly theme would fill a shared
    # coloraxis's scale in from its template).
    scale = dict(colorscale="Viridis", zmin=top - span, zmax=top)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=post.coarse_axis, y=post.coarse_axis,
                             z=post.coarse_log_joint.astype(np.float32), **scale,
                             colorbar=dict(title="nats", thickness=12),
                             meta="level-0 grid", hovertemplate=hover, name="level-0 grid"))
    fig.add_trace(go.Heatmap(x=post.view_z1, y=post.view_z2, z=post.view_log_joint.astype(np.float32),
                             **scale, showscale=False, meta="refined", hovertemplate=hover, name="refined view"))
    x0, x1, y0, y1 = post.view_extent
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, line=dict(color="white", width=1, dash="dot"))
    _point(fig, post.mu, "μ of q(z|x)", "x", _Q_COLOR)
    _point(fig, post.z_map, "z_MAP of p(z|x)", "star", _MAP_COLOR, size=14)
    r = float(post.coarse_axis[-1] + (post.coarse_axis[1] - post.coarse_axis[0]) / 2)
    fig.update_layout(
        height=height, margin=dict(l=40, r=10, t=40, b=10), title="log p(x, z) over the latent plane",
        xaxis=dict(range=[-r, r], title="z₁", zeroline=False, constrain="domain"),
        yaxis=dict(range=[-r, r], title="z₂", zeroline=False, scaleanchor="x", scaleratio=1, constrain="domain"),
        legend=_legend_below(), plot_bgcolor="black",
    )
    return fig


def posterior_figure(post: PosteriorGrid, height: int = 470) -> go.Figure:
    """The true posterior p(z|x) (density, normalised on the grid) around q(z|x), with q's 1σ and
    2σ ellipses on top: where they differ is what the ELBO's gap measures."""
    x0, x1, y0, y1 = post.view_extent  # covers the posterior's mass and q's 2-sigma box
    hover = "z = (%{x:.3f}, %{y:.3f})<br>p(z|x) = %{z:.3g}<extra></extra>"
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=post.view_z1, y=post.view_z2, z=post.view_posterior.astype(np.float32),
                             colorscale=_INFERNO, zmin=0.0, colorbar=dict(title="density", thickness=12),
                             hovertemplate=hover, name="p(z|x)"))
    _q_ellipses(fig, post.mu, post.logvar)
    # Open markers: a posterior narrower than a marker must stay visible under it.
    _point(fig, post.mu, "μ of q(z|x)", "x-open", _Q_COLOR)
    _point(fig, post.z_map, "z_MAP of p(z|x)", "star-open", _MAP_COLOR, size=16)
    fig.update_layout(
        height=height, margin=dict(l=40, r=10, t=40, b=10), title="True posterior p(z|x) and q(z|x)",
        xaxis=dict(range=[x0, x1], title="z₁", zeroline=False, constrain="domain"),
        yaxis=dict(range=[y0, y1], title="z₂", zeroline=False, scaleanchor="x", scaleratio=1,
                   constrain="domain"),
        legend=_legend_below(), plot_bgcolor="black",
    )
    return fig


def score_histogram(reference: np.ndarray, score: float, bands: Bands, percentile: float,
                    score_name: str = "log p(x)", height: int = 380) -> go.Figure:
    """Histogram of reference scores with the 1-99 % and 25-75 % bands and the user's score.

    A score far outside the reference range is pinned to the nearer edge with its value.
    """
    ref = np.asarray(reference, np.float64)
    lo, hi = np.percentile(ref, [0.1, 99.9])
    pad = 0.08 * (hi - lo)
    lo, hi = float(lo - pad), float(hi + pad)
    spread = hi - lo
    if lo - 0.5 * spread <= score <= hi + 0.5 * spread:  # near enough: widen the axis to show it
        lo, hi = min(lo, score - 0.03 * spread), max(hi, score + 0.03 * spread)
        shown, off = score, ""
    else:
        shown, off = (lo + 0.01 * spread, " ◀ off scale") if score < lo else (hi - 0.01 * spread, " off scale ▶")
    fig = go.Figure(go.Histogram(x=ref, nbinsx=70, marker_color="#8aa1b4", name="validation images",
                                 hovertemplate="%{x}<br>%{y} images<extra></extra>"))
    fig.add_vrect(x0=bands.p1, x1=bands.p99, fillcolor="#2ca02c", opacity=0.10, line_width=0,
                  annotation_text="1–99 %", annotation_position="top left")
    fig.add_vrect(x0=bands.p25, x1=bands.p75, fillcolor="#2ca02c", opacity=0.22, line_width=0,
                  annotation_text="25–75 %", annotation_position="top right")
    fig.add_vline(x=shown, line=dict(color=_MAP_COLOR, width=3))
    fig.add_annotation(x=shown, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"<b>your image: {score:.1f}{off}</b> · {percentile:.1f} %",
                       font=dict(color=_MAP_COLOR), xanchor="left" if shown < (lo + hi) / 2 else "right")
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=50, b=40), bargap=0.02, showlegend=False,
                      xaxis=dict(range=[lo, hi], title=f"{score_name} (nats)"), yaxis=dict(title="images"))
    return fig


def error_map_figure(error: np.ndarray, height: int = 300) -> go.Figure:
    """Per-pixel reconstruction error -log p(x_i | z) [H, W], nats, image orientation."""
    err = np.asarray(error, np.float32)
    fig = go.Figure(go.Heatmap(z=err, colorscale="Reds", zmin=0.0, colorbar=dict(title="nats", thickness=10),
                               hovertemplate="row %{y}, col %{x}<br>%{z:.2f} nats<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      title=f"Reconstruction error: {float(err.sum()):.1f} nats in all",
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"))
    return fig


def prior_samples_map(samples: np.ndarray, density_axis: np.ndarray, density: np.ndarray,
                      in_hole: np.ndarray | None = None, points: np.ndarray | None = None,
                      labels: np.ndarray | None = None, temperature: float = 1.0, radius: float = 4.0,
                      height: int = 600) -> go.Figure:
    """Prior samples z [S, 2] on the latent map over the aggregate posterior density q(z)
    (density [n, n] on density_axis, rows z2; drawn as log10), optional data points by digit,
    and the sampling distribution's 1σ / 2σ circles. `in_hole` [S] marks samples in holes."""
    fig = latent_map("linear", radius, points=points, labels=labels, height=height)
    log_q = np.log10(np.maximum(np.asarray(density, np.float64), 1e-12)).astype(np.float32)
    heat = go.Heatmap(x=density_axis, y=density_axis, z=log_q, colorscale="Greys", reversescale=False,
                      zmin=-4.0, zmax=float(log_q.max()), name="q(z)",
                      colorbar=dict(title="log₁₀ q(z)", thickness=12, x=1.0, len=0.6, y=0.3),
                      hovertemplate="z = (%{x:.2f}, %{y:.2f})<br>log₁₀ q(z) = %{z:.2f}<extra></extra>")
    fig.add_trace(heat)
    fig.data = (fig.data[-1],) + fig.data[:-1]  # the density goes underneath the points
    for n_sigma, dash in ((1.0, "solid"), (2.0, "dash")):
        xy = ellipse(np.zeros(2), np.full(2, 2 * np.log(max(temperature, 1e-6))), n_sigma)
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=f"N(0, T²I) {n_sigma:g}σ",
                                 line=dict(color="#ff7f0e", width=2, dash=dash), hoverinfo="skip"))
    hole = np.zeros(len(samples), bool) if in_hole is None else np.asarray(in_hole, bool)
    for mask, name, color in ((~hole, "sample", "black"), (hole, "sample in a hole", _MAP_COLOR)):
        if mask.any():
            idx = np.flatnonzero(mask)
            fig.add_trace(go.Scatter(
                x=samples[mask, 0], y=samples[mask, 1], mode="markers+text", name=name,
                text=[str(i + 1) for i in idx], textposition="top right", textfont=dict(size=9, color=color),
                marker=dict(symbol="x", size=9, color=color, line=dict(width=1, color="white")),
                hovertemplate="sample %{text}<br>z = (%{x:.2f}, %{y:.2f})<extra></extra>",
            ))
    fig.update_layout(legend=dict(title=None), margin=dict(l=40, r=10, t=10, b=40))
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(constrain="domain")
    return fig
