"""Plotly figure builders for charts: curves and histograms. Pure: arrays in, go.Figure out (no
model, no streamlit). The latent plane is not drawn here: every page draws it with the one
latent-plane component (ui/latent_plane/; layers from vae/plane.py and vae/scenes.py).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .typicality import Bands

_MARK_COLOR = "#ff2d95"  # the user's score


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


def score_histogram(reference: np.ndarray, score: float, bands: Bands, percentile: float,
                    score_name: str = "log p(x)", height: int = 380, outer_label: str = "1–99 %") -> go.Figure:
    """Histogram of reference scores with the outer band (bands.p1 .. bands.p99, labelled
    `outer_label`: 1-99 % unless a rule's band is passed there), the 25-75 % band and the score.

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
                  annotation_text=outer_label, annotation_position="top left")
    fig.add_vrect(x0=bands.p25, x1=bands.p75, fillcolor="#2ca02c", opacity=0.22, line_width=0,
                  annotation_text="25–75 %", annotation_position="top right")
    fig.add_vline(x=shown, line=dict(color=_MARK_COLOR, width=3))
    fig.add_annotation(x=shown, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"<b>your image: {score:.1f}{off}</b> · {percentile:.1f} %",
                       font=dict(color=_MARK_COLOR), xanchor="left" if shown < (lo + hi) / 2 else "right")
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


def pixel_map_figure(values: np.ndarray, title: str, unit: str, colorscale: str = "Reds",
                     height: int = 300, zmax: float | None = None) -> go.Figure:
    """A per-pixel quantity [H, W] in image orientation (bits spent on each pixel, the
    uncertainty of a completion...), with its unit on hover and on the colour bar."""
    v = np.asarray(values, np.float32)
    fig = go.Figure(go.Heatmap(z=v, colorscale=colorscale, zmin=0.0, zmax=zmax,
                               colorbar=dict(title=unit, thickness=10),
                               hovertemplate=f"row %{{y}}, col %{{x}}<br>%{{z:.2f}} {unit}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), title=title,
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"))
    return fig


def rate_distortion_figure(rate_bits: np.ndarray, wrong_pct: np.ndarray, digit_wrong_pct: np.ndarray,
                           lossless_bits: float, floor_pct: float, height: int = 340) -> go.Figure:
    """Lossy coding by a quantised z: % of pixels wrong against bits per digit, for the test
    digits (mean) and for one digit, with the same digit's lossless stream (0 % wrong) and the
    error left with z unquantised (the decoder's own limit)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rate_bits, y=wrong_pct, mode="lines+markers", name="test digits (mean)",
                             line=dict(color="#8aa1b4")))
    fig.add_trace(go.Scatter(x=rate_bits, y=digit_wrong_pct, mode="lines+markers", name="this digit",
                             line=dict(color=_MARK_COLOR)))
    fig.add_trace(go.Scatter(x=[lossless_bits], y=[0.0], mode="markers", name="this digit, lossless",
                             marker=dict(symbol="star", size=14, color="#2ca02c"), cliponaxis=False))  # whole on y = 0
    fig.add_hline(y=floor_pct, line=dict(color="#888", dash="dot"),
                  annotation_text=f"z unquantised: {floor_pct:.1f} %", annotation_position="top right")
    ticks = log_ticks(min(float(np.min(rate_bits)), lossless_bits), max(float(np.max(rate_bits)), lossless_bits))
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.3),
                      xaxis=dict(title="bits per digit", type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks]),
                      yaxis=dict(title="pixels wrong (%)", rangemode="tozero"))
    return fig


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks 1, 2 and 5 times each power of ten within [lo, hi] (a log axis's own labels read
    "2 3 4 ... 10 2 3", which says 20 and 30 as 2 and 3)."""
    if not (0 < lo <= hi and np.isfinite(hi)):
        return []
    return [m * 10.0**k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
            for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, height: int = 380,
               mark_false_alarm: float | None = 0.05) -> go.Figure:
    """ROC curves {name: (false-alarm rate [K], detection rate [K])} with the chance diagonal
    and, optionally, a line at the chosen false-alarm rate."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                               line=dict(color="#bbb", dash="dot"), hoverinfo="skip"))
    for name, (fpr, tpr) in curves.items():
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=name,
                                 hovertemplate="false alarms %{x:.1%}<br>detected %{y:.1%}<extra></extra>"))
    if mark_false_alarm is not None:
        fig.add_vline(x=mark_false_alarm, line=dict(color=_MARK_COLOR, dash="dash"),
                      annotation_text=f"{mark_false_alarm:.0%} false alarms", annotation_position="bottom right")
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=40, b=40), title=title,
                      xaxis=dict(title="false-alarm rate (test digits flagged)", range=[0, 1], tickformat=".0%"),
                      yaxis=dict(title="detection rate", range=[0, 1.02], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.25))
    return fig
