"""Latent map & manifold: the decoded grid of E[x|z] as a live plane (ui/latent_plane/): hover
to preview, click or drag to choose a z, decoded in the browser; the test set's latent means on
top if asked."""

import streamlit as st

from ui.shell import page_header
from ui.images import show_digits
from ui.latent_plane import MAP_PX, latent_plane
from ui.layers import manifold_layer, means_layer
from ui.models import manifold_png
from ui.widgets import label_picker
from vae.latent import style_row
from vae.plane import Plane

handle = page_header(
    "Latent map & manifold",
    "Each cell shows the decoder's mean image E[x|z] at that point of the 2-D latent plane. Hover"
    " over the map to preview a z, click or tap (or drag) to choose one: your browser decodes it "
    "at once. Arrow keys move the chosen point.",
)

# The map's settings on the page (on a phone the sidebar is folded away), folded: the
# defaults show the classic 20 x 20 map.
summary = f"{st.session_state.get('mf_n', 20)}×{st.session_state.get('mf_n', 20)}, " + \
    st.session_state.get("mf_spacing", "Linear").lower()
with st.expander(f"Map settings · {summary}", icon=":material/tune:"):
    left, middle, right = st.columns(3)
    with left:
        n = st.slider("Grid size n (n × n cells)", 5, 40, 20, key="mf_n")
        label = label_picker(handle, key="mf_label", url_param="label")
    with middle:
        spacing_label = st.radio("Spacing", ["Linear", "Gaussian quantiles"], key="mf_spacing",
                                 help="Gaussian quantiles: equal prior probability per cell "
                                      "(Kingma & Welling 2014, Fig. 4); the axes keep z units.")
        spacing = "gaussian" if spacing_label.startswith("Gaussian") else "linear"
        radius = st.slider("Range r (linear: z from -r to r)", 1.0, 5.0, 3.0, 0.5, key="mf_radius",
                           disabled=spacing == "gaussian")
    with right:
        overlay = st.toggle("Overlay test-set latent means", value=False, key="mf_overlay")
        n_points = st.select_slider("Points shown", [1000, 2000, 5000, 10000], 2000, key="mf_points",
                                    disabled=not overlay)


def _choose(z: tuple[float, float]) -> None:
    """A click or drag released on the map (a widget callback, before the rerun)."""
    st.session_state.mf_selected_z = (round(z[0], 2), round(z[1], 2))


@st.fragment
def map_and_choice() -> None:
    """A choice reruns only this part: the map's pictures are already in the browser, so the
    rerun sends a few hundred bytes (the point, the link)."""
    # A choice made on a wider map (larger r, or linear spacing) is kept on this one's edge.
    plane = Plane.of_manifold(n, spacing, radius)
    selected = plane.clamp(st.session_state.get("mf_selected_z"))
    layers = [manifold_layer(handle, n, spacing, radius, label, MAP_PX)]
    if overlay:
        layers.append(means_layer(handle, n_points))
    latent_plane(handle, "mf_map", plane, layers, selected, on_commit=_choose, label=label, size=MAP_PX,
                 title=f"Manifold E[x|z], {n}×{n}", dark=True)
    info, link, download = st.columns([2, 1, 1], vertical_alignment="center")
    if selected is None:
        info.info("Click or tap the map to choose a point.")
    else:
        info.markdown(f"Chosen **z = ({selected[0]:+.2f}, {selected[1]:+.2f})**")
        link.page_link("pages/decoder.py", label="Open in the decoder", icon=":material/tune:",
                       query_params={"z1": f"{selected[0]:.2f}", "z2": f"{selected[1]:.2f}",
                                     **({"label": str(label)} if label is not None else {})})
    download.download_button("Download manifold (PNG)",
                             data=manifold_png(handle, n, spacing, radius, label),
                             file_name=f"manifold-{handle.ckpt.name.replace('/', '_')}-{spacing}-{n}x{n}.png",
                             mime="image/png", key="mf_download")
    st.caption(f"{n}×{n} cells, {spacing} spacing"
               + (f", z ∈ [−{radius:g}, {radius:g}] at the cell centres" if spacing == "linear" else ""))
    if handle.conditional and selected is not None:
        st.subheader("The same z, all ten digits")
        st.caption("A conditional VAE's latent holds style, not class: one z decoded with every label.")
        show_digits(style_row(handle.model, selected), [str(d) for d in range(10)], per_row=10, size=84)


map_and_choice()
