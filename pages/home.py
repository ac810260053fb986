"""Home: what a VAE is, the loaded model's card, samples, links to every page."""

import streamlit as st

from ui.cache import per_model
from ui.latent_plane import decoder_summary
from ui.models import ModelHandle
from ui.shell import page_header, page_links, registered
from ui.images import show_digit
from ui.widgets import label_picker
from vae.latent import decode_points, sample_prior, tile
from vae.site import folder_name, site_files, site_zip


@per_model(st.cache_data, show_spinner=False, max_entries=4)
def explorer_zip(handle: ModelHandle) -> bytes:
    """This model's static explorer (vae/site.py, as `python -m vae.site` writes it) as a zip."""
    return site_zip(site_files(handle.ckpt), folder_name(handle.ckpt))

handle = page_header("Latent Explorer")
ckpt = handle.ckpt
st.markdown(
    "A **variational autoencoder** learns to squeeze each image *x* into a few numbers *z* "
    "(here just two, so we can draw them) and to turn any *z* back into an image. "
    "The encoder gives a whole distribution q(z|x) rather than one point, and training "
    "maximises the ELBO, a lower bound on log p(x) that trades reconstruction against keeping "
    "q(z|x) close to the prior p(z) = N(0, I) (Kingma & Welling, 2014). "
    "Because the latent space is 2-D, every picture here is exact: the whole decoder fits on one map."
)

left, right = st.columns([3, 2])
with left:
    st.subheader(f"Model: {ckpt.name}")
    m = ckpt.metrics
    cols = st.columns(3)
    # The unit in the label: a value as long as "-142.81 nats" is cut short in a third of a column.
    cols[0].metric("Test ELBO, nats", f"{m['test_elbo']:.1f}" if "test_elbo" in m else "n/a",
                   help="Mean evidence lower bound per test image (higher is better).")
    cols[1].metric("Test NLL (IWAE), nats", f"{m['test_nll_iwae']:.1f}" if "test_nll_iwae" in m else "n/a",
                   help=f"-log p(x) estimated with k={m.get('test_iwae_k', '?')} importance samples (lower is better).")
    cols[2].metric("5-NN accuracy", f"{100 * m['test_knn5_accuracy']:.1f} %" if "test_knn5_accuracy" in m else "n/a",
                   help="Digit class predicted from the 5 nearest training latent means.")
    if m.get("test_n_images", 10_000) < 10_000:  # a model trained in the app (vae/jobs.py)
        st.caption(f"On the first {m['test_n_images']:,} test images, IWAE k = {m.get('test_iwae_k', '?')} "
                   "(measured by its training job; the shipped models: all 10,000, k = 1000).")
    config = ckpt.config.to_dict()
    st.markdown("**Architecture** · encoder "
                f"{ckpt.config.input_dim}-{'-'.join(map(str, ckpt.config.encoder_hidden))}-2×{ckpt.config.latent_dim}, "
                f"decoder {ckpt.config.latent_dim}-{'-'.join(map(str, ckpt.config.decoder_hidden))}-{ckpt.config.input_dim}, "
                f"{ckpt.config.activation.upper()}, Bernoulli likelihood, β = {ckpt.config.beta:g}, "
                f"training bound: {'ELBO' if ckpt.config.train_iwae_k == 1 else f'IWAE k={ckpt.config.train_iwae_k}'}")
    with st.expander("Config, training command and all metrics"):
        st.code(ckpt.train_command or "(not recorded)", language="bash")
        st.json({"config": config, "metrics": m, "training": ckpt.extra}, expanded=False)
    if ckpt.config.latent_dim == 2 and decoder_summary(handle) is not None:
        # Built when clicked (a few seconds the first time per model), then cached.
        st.download_button("Download this explorer as a static site (zip)", data=lambda: explorer_zip(handle),
                           file_name=f"{folder_name(ckpt)}.zip", mime="application/zip", key="home_site",
                           on_click="ignore", icon=":material/folder_zip:",
                           help="A folder to open from disk or put on any static host: the manifold, the "
                                "data's means, hover and drag to decode, interpolation with a GIF, this "
                                "model card. No server; index.html works offline (python -m vae.site).")
    st.subheader("Explore")
    page_links([e for e in registered() if e.path != "pages/home.py"],  # app.py's registry, but this page
               query_params={"model": ckpt.name})
with right:
    st.subheader("Samples from the prior")
    seed = st.number_input("Seed", 0, 10_000, 0, key="home_seed")
    label = label_picker(handle, key="home_label")
    samples = decode_points(handle.view(label), sample_prior(64, seed, ckpt.config.latent_dim))
    show_digit(tile(samples, 8, 8), caption="64 decoder means E[x|z], z ~ N(0, I)", size=448)
