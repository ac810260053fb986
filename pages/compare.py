"""Compare: two models side by side with the same controls and one z cursor for both."""

from ui.shell import ensure_app_shell

ensure_app_shell()  # before anything else: see ui/shell.py

import streamlit as st

from ui.images import show_digit, show_png
from ui.latent_pad import latent_pad
from ui.models import DEFAULT_MODEL, handle_for, label_picker, manifold, scatter_background, usable_names
from ui.tables import show_table
from vae.latent import decode_one
from vae.render import mark_point

st.title("Compare two models")
st.caption("Same grid, same z: how do β, conditioning or size change the latent space?")

names = usable_names()
if len(names) < 2:
    st.info("Comparing needs two usable checkpoints; train one on the Train page.")
    st.stop()

c1, c2 = st.columns(2)
# Default: the shipped model on the left, the next one (e.g. the beta-VAE) on the right.
first = names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0
name_a = c1.selectbox("Left model", names, index=first, key="cmp_a")
name_b = c2.selectbox("Right model", names, index=(first + 1) % len(names), key="cmp_b")
handles = [handle_for(name_a), handle_for(name_b)]
if any(h is None for h in handles):
    st.error("One of the models could not be loaded.")
    st.stop()

with st.sidebar:
    st.subheader("Shared controls")
    n = st.slider("Grid size n", 5, 30, 15, key="cmp_n")
    spacing = "gaussian" if st.radio("Spacing", ["Linear", "Gaussian quantiles"], key="cmp_sp") != "Linear" else "linear"
    z1 = st.slider("z₁", -4.0, 4.0, 0.0, 0.05, key="cmp_z1")
    z2 = st.slider("z₂", -4.0, 4.0, 0.0, 0.05, key="cmp_z2")



def _from_pad(z: tuple[float, float]) -> None:
    # A pad commit moves the shared sliders (a callback: the sliders already exist).
    st.session_state.cmp_z1, st.session_state.cmp_z2 = round(z[0], 2), round(z[1], 2)


with st.expander(f"Live pad: drag z across {name_a}'s latent plane (both models follow on release)",
                 expanded=True):
    latent_pad(handles[0], (z1, z2), key="cmp_pad", on_commit=_from_pad,
               label=st.session_state.get("cmp_label_a"))


def _nats(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


rows: list[tuple[str, ...]] = []
for col, name, handle, side in zip(st.columns(2), [name_a, name_b], handles, ["a", "b"]):
    with col:
        st.subheader(name)
        label = label_picker(handle, key=f"cmp_label_{side}")
        grid = manifold(handle, n, spacing, 3.0, label)
        show_digit(grid.image, f"Manifold ({spacing})", size=420)
        d1, d2 = st.columns(2)
        with d1:
            show_digit(decode_one(handle.view(label), (z1, z2)), f"E[x|z] at ({z1:+.2f}, {z2:+.2f})", size=196)
        with d2:
            show_png(mark_point(scatter_background(handle), (z1, z2)), "Test-set latent means", width=196)
    m, c = handle.ckpt.metrics, handle.ckpt.config
    rows.append((name, "CVAE" if handle.conditional else "VAE", f"{c.beta:g}",
                 "-".join(map(str, c.decoder_hidden)), _nats(m.get("test_elbo")),
                 _nats(m.get("test_nll_iwae")), _percent(m.get("test_knn5_accuracy")),
                 _nats(m.get("val_elbo"))))

st.subheader("Metrics")
show_table(["model", "kind", "β", "decoder hidden", "test ELBO (nats)", "test NLL IWAE (nats)",
            "5-NN accuracy", "val ELBO (nats)"], rows, align=["left"] * 4 + ["right"] * 4)
