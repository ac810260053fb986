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
