"""Generate: samples from the prior N(0, I), decoded; where they fall among the data; and the
"holes": parts of the prior where the encoded data (the aggregate posterior) is thin."""

import streamlit as st

from ui.shell import page_header
from ui.images import show_digits, show_samples
from ui.models import aggregate_density, test_latents
from ui.widgets import label_picker
from ui.latent_plane import latent_plane
from ui.layers import means_layer
from vae.latent import decode_points, sample_prior
from vae.scenes import prior_samples_layers
from vae.holes import HOLE_RATIO, hole_mask

handle = page_header(
    "Generate",
    "A VAE generates by drawing z from the prior p(z) = N(0, I) and decoding it. The temperature "
    "T scales z (z ~ N(0, T²I)): below 1 the samples stay near the centre, above 1 they reach the"
    " edges of the map.",
)

controls = st.columns([2, 2, 1, 2])
count = controls[0].select_slider("Samples", [8, 16, 24, 32, 48, 64], 32, key="gen_count")
temperature = controls[1].slider("Temperature T", 0.1, 2.0, 1.0, 0.1, key="gen_temperature")
seed = controls[2].number_input("Seed", 0, 10_000, 0, key="gen_seed")
with controls[3]:
    show_data = st.toggle("Show the data (test-set μ)", False, key="gen_data")
    label = label_picker(handle, key="gen_label")
model = handle.view(label)

z = sample_prior(count, seed, handle.ckpt.config.latent_dim, temperature)
mu, logvar, _ = test_latents(handle)
in_hole = hole_mask(z, mu, logvar)
axis, density = aggregate_density(handle)

left, right = st.columns([2, 3])
with left:
    st.subheader(f"{count} samples, T = {temperature:.1f}")
    show_digits(decode_points(model, z),
                [f"{i + 1}{' · hole' if h else ''}" for i, h in enumerate(in_hole)], per_row=8, size=64)
    st.markdown(f"**{int(in_hole.sum())} of {count}** samples fall in holes.")
    if st.toggle("Binary samples x ~ p(x|z) too", True, key="gen_binary"):
        st.subheader("The same z's, as the model draws them")
        show_samples(decode_points(model, z), seed=seed, captions=[str(i + 1) for i in range(count)], size=64)
with right:
    plane, layers = prior_samples_layers(z, axis, density, in_hole, temperature,
                                         data=means_layer(handle, 3000) if show_data else None)
    latent_plane(handle, "gen_map", plane, layers, None, label=label, commit=False, size=420,
                 title="Prior samples over the data's density q(z)")

st.info(f"**Holes.** The grey shading is the aggregate posterior q(z) = average of q(z|x) over the "
        f"10,000 test images: where the encoder actually puts data. Training pulls q(z) towards "
        f"the prior but never matches it, so some regions the prior samples from are almost empty "
        f"of data; a sample there (marked in pink: q(z) below {HOLE_RATIO:g} × p(z)) decodes to "
        f"something the decoder was rarely trained on, often a blend of digits or a smudge. Higher "
        f"temperatures land in holes more often.", icon=":material/blur_on:")
