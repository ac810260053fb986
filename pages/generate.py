"""Generate: samples from the prior N(0, I), decoded; where they fall among the data; and the
"holes": parts of the prior where the encoded data (the aggregate posterior) is thin."""

from ui.shell import ensure_app_shell

ensure_app_shell()  # before anything else: see ui/shell.py

import streamlit as st

from ui.images import show_digits
from ui.models import aggregate_density, label_picker, require_model, test_latents
from vae.figures import prior_samples_map
from vae.latent import decode_points, sample_prior
from vae.likelihood import HOLE_RATIO, hole_mask

handle = require_model()
st.title("Generate")
st.caption("A VAE generates by drawing z from the prior p(z) = N(0, I) and decoding it. The "
           "temperature T scales z (z ~ N(0, T²I)): below 1 the samples stay near the centre, "
           "above 1 they reach the edges of the map.")

controls = st.columns([2, 2, 1, 2])
count = controls[0].select_slider("Samples", [8, 16, 24, 32, 48, 64], 32, key="gen_count")
temperature = controls[1].slider("Temperature T", 0.1, 2.0, 1.0, 0.1, key="gen_temperature")
seed = controls[2].number_input("Seed", 0, 10_000, 0, key="gen_seed")
with controls[3]:
    show_data = st.toggle("Show the data (test-set μ)", False, key="gen_data")
    label = label_picker(handle, key="gen_label")
model = handle.view(label)

z = sample_prior(count, seed, handle.ckpt.config.latent_dim, temperature)
mu, logvar, labels = test_latents(handle)
in_hole = hole_mask(z, mu, logvar)
axis, density = aggregate_density(handle)

left, right = st.columns([2, 3])
with left:
    st.subheader(f"{count} samples, T = {temperature:.1f}")
    show_digits(decode_points(model, z),
                [f"{i + 1}{' · hole' if h else ''}" for i, h in enumerate(in_hole)], per_row=8, size=64)
    st.markdown(f"**{int(in_hole.sum())} of {count}** samples fall in holes.")
with right:
    fig = prior_samples_map(z, axis, density, in_hole=in_hole,
                            points=mu[:3000] if show_data else None,
                            labels=labels[:3000] if show_data else None, temperature=temperature)
    st.plotly_chart(fig, key="gen_map", config={"displaylogo": False})

st.info(f"**Holes.** The grey shading is the aggregate posterior q(z) = average of q(z|x) over the "
        f"10,000 test images: where the encoder actually puts data. Training pulls q(z) towards "
        f"the prior but never matches it, so some regions the prior samples from are almost empty "
        f"of data; a sample there (marked in pink: q(z) below {HOLE_RATIO:g} × p(z)) decodes to "
        f"something the decoder was rarely trained on, often a blend of digits or a smudge. Higher "
        f"temperatures land in holes more often.", icon=":material/blur_on:")
