"""Compare: two models side by side with the same controls and one z cursor for both."""

import streamlit as st

from ui.shell import page_header
from ui.latent_plane import latent_plane
from ui.layers import manifold_layer, means_layer
from ui.models import DEFAULT_MODEL, handle_for, usable_names
from ui.widgets import label_picker
from ui.tables import show_table
from vae.plane import Plane

ELBO_MODEL = "mnist-2d-elbo"

page_header(
    "Compare two models",
    "Same grid, same z: how do β, conditioning or size change the latent space?",
    model=False,
)

names = usable_names()
if len(names) < 2:
    st.info("Comparing needs two usable checkpoints; train one on the Train page.")
    st.stop()

c1, c2 = st.columns(2)
# Default: the shipped model on the left; on the right the same architecture trained on the
# plain ELBO (what the IWAE objective buys and costs), else the next model.
first = names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0
second = names.index(ELBO_MODEL) if ELBO_MODEL in names and ELBO_MODEL != names[first] else (first + 1) % len(names)
name_a = c1.selectbox("Left model", names, index=first, key="cmp_a")
name_b = c2.selectbox("Right model", names, index=second, key="cmp_b")
handles = [handle_for(name_a), handle_for(name_b)]
if any(h is None for h in handles):
    st.error("One of the models could not be loaded.")
    st.stop()

with st.expander("Shared controls: grid, spacing, z", expanded=True, icon=":material/tune:"):
    left, right = st.columns(2)
    with left:
        n = st.slider("Grid size n", 5, 30, 15, key="cmp_n")
        spacing = "gaussian" if st.radio("Spacing", ["Linear", "Gaussian quantiles"], key="cmp_sp",
                                         horizontal=True) != "Linear" else "linear"
    with right:
        z1 = st.slider("z₁", -4.0, 4.0, 0.0, 0.05, key="cmp_z1")
        z2 = st.slider("z₂", -4.0, 4.0, 0.0, 0.05, key="cmp_z2")


def _from_pad(z: tuple[float, float]) -> None:
    # A pad commit moves the shared sliders (a callback: the sliders already exist).
    st.session_state.cmp_z1, st.session_state.cmp_z2 = round(z[0], 2), round(z[1], 2)


RADIUS = 4.0  # the manifolds span the sliders' range
st.caption("Hover either plane to preview a z on both models at once; click or drag to move the "
           "shared z: both digits follow live, decoded in your browser, and the sliders on release.")


def _nats(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


columns: list[list[str]] = []
for col, name, handle, side in zip(st.columns(2), [name_a, name_b], handles, ["a", "b"]):
    with col:
        st.subheader(name)
        label = label_picker(handle, key=f"cmp_label_{side}")
        plane = Plane.of_manifold(n, spacing, RADIUS)
        latent_plane(handle, f"cmp_pad_{side}", plane,
                     [manifold_layer(handle, n, spacing, RADIUS, label, 300), means_layer(handle, visible=False)],
                     (z1, z2), on_commit=_from_pad, label=label, size=300, dark=True,
                     title=f"Manifold ({spacing}), {n}×{n}", link="compare")
    m, c = handle.ckpt.metrics, handle.ckpt.config
    columns.append(["CVAE" if handle.conditional else "VAE", f"{c.beta:g}", "-".join(map(str, c.decoder_hidden)),
                    _nats(m.get("test_elbo")), _nats(m.get("test_nll_iwae")),
                    _percent(m.get("test_knn5_accuracy")), _nats(m.get("val_elbo"))])

# One row per quantity, one column per model: three narrow columns fit a phone's width.
st.subheader("Metrics")
quantities = ["kind", "β", "decoder hidden", "test ELBO (nats)", "test NLL, IWAE (nats)", "5-NN accuracy",
              "validation ELBO (nats)"]
show_table(["", name_a, name_b], [(q, a, b) for q, a, b in zip(quantities, *columns)],
           align=["left", "right", "right"])
