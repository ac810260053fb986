"""Posterior & likelihood: for one image, log p(x, z) over the whole latent plane, the true
posterior p(z|x) next to the encoder's q(z|x), and every number in nats: log p(x) by quadrature,
IWAE, the ELBO and its two terms, and the gap between them."""

import streamlit as st

from ui.shell import page_header
from ui.gallery import show_gallery
from ui.images import input_label, required_image, show_digit
from ui.models import quadrature_grid
from ui.tables import show_table
from ui.latent_plane import latent_plane
from vae.scenes import log_joint_layers, posterior_layers
from vae.latent import decode_one
from vae import data
from vae.evidence import evidence
from vae.quadrature import exact_posterior

handle = page_header(
    "Posterior & likelihood",
    "With two latent dimensions nothing has to be approximated: log p(x, z) = log p(x|z) + log "
    "p(z) is evaluated on a grid over the plane, the true posterior p(z|x) is that grid "
    "normalised, and log p(x) is its sum. Compare it with what the encoder's q(z|x) and the ELBO "
    "give.",
)

with st.expander("Images worth a look: large ELBO gaps, several modes, the most and least likely, "
                 "digits on a border", icon=":material/photo_library:"):
    show_gallery(handle, on_pick=lambda i: st.session_state.update(post_source="Test image", post_index=i))

inp = required_image("post", default_index=0, query_param="i", model=handle.model)
label = input_label(handle, inp, key="post_label")
model = handle.view(label)

with st.expander("Estimators", icon=":material/tune:"):
    cols = st.columns(4)
    binarize = cols[0].toggle("Binarise x", True, key="post_binarize",
                              help="The model's likelihood is for black-and-white pixels: each grey "
                                   "pixel becomes ink with its intensity as probability (seeded), as "
                                   "in training and evaluation. Off: grey levels are scored as they are "
                                   "(a cross-entropy, not a probability).")
    iwae_k = cols[1].select_slider("IWAE samples k", [10, 100, 1000, 5000], 1000, key="post_k")
    samples = cols[2].select_slider("ELBO samples", [1, 10, 100, 1000], 100, key="post_samples",
                                    help="Monte Carlo draws z ~ q(z|x) for E_q[log p(x|z)].")
    seed = cols[3].number_input("Seed", 0, 10_000, 0, key="post_seed")

x = data.binarize(inp.x, seed) if binarize else inp.x  # the one binarisation (vae/data.py)
post = exact_posterior(model, x, quadrature_grid(handle, label))
ev = evidence(model, x, post, iwae_k=iwae_k, elbo_samples=samples, seed=seed)

cols = st.columns(5)
with cols[0]:
    show_digit(inp.x, "x as given", size=112)
with cols[1]:
    show_digit(x, f"x scored{' (binarised)' if binarize else ''}", size=112)
with cols[2]:
    show_digit(decode_one(model, post.mu), "E[x | μ of q(z|x)]", size=112)
with cols[3]:
    show_digit(decode_one(model, post.z_map), "E[x | z_MAP of p(z|x)]", size=112)
with cols[4]:
    st.markdown(f"**{inp.source}**")
    st.markdown(f"μ = ({post.mu[0]:+.3f}, {post.mu[1]:+.3f})  \nz_MAP = ({post.z_map[0]:+.3f}, {post.z_map[1]:+.3f})")
    st.markdown(f"p(z|x) inside q's 2σ ellipse: **{100 * post.mass_near_q(2.0):.1f} %**",
                help="Near 100 % when q(z|x) covers the true posterior; small when q sits beside it "
                     "(then samples from q rarely land where p(z|x) is, and IWAE undershoots).")

left, right = st.columns(2)
with left:
    plane, layers = log_joint_layers(post)
    latent_plane(handle, "post_joint", plane, layers, post.z_map, label=label, commit=False, mark=False, size=400,
                 dark=True, title="log p(x, z) over the latent plane")
with right:
    plane, layers, view = posterior_layers(post)
    latent_plane(handle, "post_posterior", plane, layers, post.z_map, label=label, view=view, commit=False, mark=False,
                 size=400, dark=True, title="True posterior p(z|x) and q(z|x)")
    st.caption("Opened zoomed on where the true posterior and q(z|x) lie (each may be much narrower "
               "than the other); **whole plane** shows where they sit.")

st.subheader("In nats")
rows = [
    ("log p(x), quadrature", post.log_px,
     "log ∫ p(x|z) p(z) dz summed over the grid: exact up to grid error (~0.01 nats)"),
    (f"log p(x), IWAE k={ev.iwae_k}, one estimate", ev.iwae,
     "importance-weighted estimate with k samples from q(z|x). It is random: one run can land above "
     "log p(x); only its average is a lower bound (tighter as k grows)"),
    (f"  IWAE over {len(ev.iwae_runs)} runs: mean (± sd)", ev.iwae_mean,
     f"± {ev.iwae_sd:.2f} nats; runs from {min(ev.iwae_runs):.2f} to {max(ev.iwae_runs):.2f}"),
    (f"ELBO ({ev.elbo_samples} samples)", ev.elbo,
     "E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)): the bound training maximises"),
    ("  E_q[log p(x|z)]", ev.expected_log_lik,
     f"reconstruction term: how well z ~ q(z|x) explains the pixels (Monte Carlo, seed {ev.seed})"),
    ("  KL(q(z|x) ‖ p(z))", ev.kl, "closed form: what it costs to move q(z|x) away from the prior"),
    ("ELBO gap, Monte Carlo: log p(x) − the ELBO above", ev.gap,
     f"carries the ELBO estimate's sampling noise ({ev.elbo_samples} samples)"),
    ("ELBO gap, exact: KL(q(z|x) ‖ p(z|x))", post.kl_q_to_posterior,
     "the same quantity with the ELBO by quadrature over q (no sampling): how far the encoder's "
     "guess is from the true posterior"),
]
show_table(["quantity", "nats", "what it is"],
           [(name.replace("  ", "\u2003"), f"{value:.2f}", note) for name, value, note in rows],
           align=["left", "right", "left"])
st.caption(f"Grid: {len(post.cell_side):,} cells: the 100×100 level-0 grid over [−5, 5]² (cells "
           f"0.1 wide), {post.refined_cells:,} of them refined down to "
           f"{post.cell_side.min():.4f} where the posterior needs it; "
           "log p(x) = log Σ p(x, z) · cell area.")
