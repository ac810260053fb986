"""The one way a page shows a plotly chart (curves, histograms; never the latent plane)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

# No toolbar: on a phone it sits over the chart's title, and these charts need no zoom tools.
CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


def show_chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config=CONFIG, width="stretch")
