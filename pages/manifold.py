"""Latent map & manifold: the decoded grid of E[x|z] over the plane, the test set's latent
means on top, and click-to-decode."""

from ui.shell import ensure_app_shell

ensure_app_shell()  # before anything else: see ui/shell.py

import numpy as np
import streamlit as st

from ui.images import show_digit, show_digits
from ui.models import label_picker, manifold_png, map_figure, require_model
from vae.figures import from_plot
from vae.latent import decode_one, style_row

handle = require_model()
st.title("Latent map & manifold")
st.caption("Each cell shows the decoder's mean image E[x|z] at that point of the 2-D latent "
           "plane. Click anywhere on the map to decode that z.")

with st.sidebar:
    st.subheader("Map")
    label = label_picker(handle, key="mf_label")
    n = st.slider("Grid size n (n × n cells)", 5, 40, 20, key="mf_n")
    spacing_label = st.radio("Spacing", ["Linear", "Gaussian quantiles"], key="mf_spacing",
                             help="Gaussian quantiles: equal prior probability per cell "
                                  "(Kingma & Welling 2014, Fig. 4); the axes keep z units.")
    spacing = "gaussian" if spacing_label.startswith("Gaussian") else "linear"
    radius = st.slider("Range r (linear: z from -r to r)", 1.0, 5.0, 3.0, 0.5, key="mf_radius",
                       disabled=spacing == "gaussian")
    overlay = st.toggle("Overlay test-set latent means", value=False, key="mf_overlay")
    n_points = st.select_slider("Points shown", [1000, 2000, 5000, 10000], 2000, key="mf_points",
                                disabled=not overlay)

fig = map_figure(handle, n, spacing, radius, label, n_points if overlay else 0)


@st.fragment
def map_and_decoded_point() -> None:
    """A click reruns only this part; the figure stays the same object, so the browser keeps
    the rendered map and only the decoded image changes."""
    left, right = st.columns([3, 1])
    with left:
        event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="mf_map",
                                config={"displaylogo": False, "scrollZoom": True})
    picked = event.selection.points if event and event.selection else []
    if picked:
        z = from_plot(np.array([picked[0]["x"], picked[0]["y"]]), spacing)
        st.session_state.mf_selected_z = (round(float(z[0]), 3), round(float(z[1]), 3))
    selected = st.session_state.get("mf_selected_z")
    with right:
        st.subheader("Decoded z")
        if selected is None:
            st.info("Click the map to decode a point.")
        else:
            show_digit(decode_one(handle.view(label), selected), size=224)
            st.markdown(f"**z = ({selected[0]:+.2f}, {selected[1]:+.2f})**")
            st.page_link("pages/decoder.py", label="Open in the decoder", icon=":material/tune:",
                         query_params={"z1": f"{selected[0]:.2f}", "z2": f"{selected[1]:.2f}"})
        st.download_button("Download manifold (PNG)",
                           data=manifold_png(handle, n, spacing, radius, label),
                           file_name=f"manifold-{handle.ckpt.name.replace('/', '_')}-{spacing}-{n}x{n}.png",
                           mime="image/png", key="mf_download")
        st.caption(f"{n}×{n} cells, {spacing} spacing"
                   + (f", z ∈ [−{radius:g}, {radius:g}]" if spacing == "linear" else ""))
    if handle.conditional and selected is not None:
        st.subheader("The same z, all ten digits")
        st.caption("A conditional VAE's latent holds style, not class: one z decoded with every label.")
        show_digits(style_row(handle.model, selected), [str(d) for d in range(10)], per_row=10, size=84)


map_and_decoded_point()
