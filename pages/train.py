"""Train: your own 2-D VAE, in the background, with live curves and manifold."""

import streamlit as st

from ui.charts import show_chart
from ui.shell import page_header
from ui.images import show_digit
from ui.jobs import job_manager, progress_text, session_token
from vae.figures import training_curves
from vae.jobs import EVAL_IMAGES, EVAL_IWAE_K, JobError, JobRequest

page_header(
    "Train a model",
    "Training runs in the background on the server (one job at a time for everyone); you can keep"
    " exploring on other pages. Then the job measures the model on test images and scores the"
    " Typicality page's reference images, and saves it as user/NAME; a link here opens it.",
    model=False,
)

manager = job_manager()

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Name", "my-vae", max_chars=40, key="tr_name",
                         help="Letters, digits, '-' and '_'.")
    kind = c1.radio("Model kind", ["VAE", "Conditional VAE (CVAE)"], key="tr_kind",
                    help="A CVAE also sees the digit label, so its 2-D latent holds style only.")
    beta = c2.slider("β (KL weight)", 0.0, 10.0, 1.0, 0.5, key="tr_beta",
                     help="β > 1 pushes q(z|x) towards the prior: smoother, blurrier (β-VAE).")
    epochs = c2.slider("Epochs", 1, 50, 5, key="tr_epochs")
    hidden = c3.select_slider("Hidden units per layer", [64, 128, 256, 512], 256, key="tr_hidden")
    seed = c3.number_input("Seed", 0, 10_000, 0, key="tr_seed")
    st.caption("Latent dimension is fixed at 2. About 5 s per epoch for 256 hidden units on 2 cores.")
    busy = manager.busy()
    st.button("Start training", type="primary", disabled=busy, key="tr_start", on_click=lambda: _start(),
              help="One job at a time on this server: this one is free again when the running job ends."
              if busy else None)
    if busy:
        st.caption("A job is running on this server (below); the next can start when it ends.")


def _start() -> None:
    """Button callback: runs before the next script run (so no rerun can lose the click) and
    reads the widgets' current values from session state."""
    state = st.session_state
    state.tr_error = None
    try:
        manager.start(JobRequest(name=state.tr_name.strip(), epochs=state.tr_epochs,
                                 hidden=state.tr_hidden, beta=state.tr_beta,
                                 conditional=state.tr_kind.startswith("Conditional"),
                                 seed=int(state.tr_seed)), owner=session_token())
    except JobError as exc:
        st.session_state.tr_error = str(exc)


def _cancel() -> None:
    """Cancel callback: the manager checks that this session started the job."""
    try:
        manager.cancel(session_token())
    except JobError as exc:
        st.session_state.tr_error = str(exc)


if st.session_state.get("tr_error"):
    st.error(st.session_state.tr_error)


def progress_panel() -> None:
    status = manager.status
    if status is None:
        st.info("No training job yet.")
        return
    req = status.request
    mine = manager.owns(session_token())
    st.subheader(f"Job {req.name}: {status.state}" + ("" if mine else " (another visitor's)"))
    st.progress(min(1.0, status.progress), text=progress_text(status))
    if status.state == "running" and mine:
        st.button("Cancel", key="tr_cancel", on_click=_cancel, icon=":material/stop:")
    elif status.state == "running":
        st.caption("Only the visitor who started this job can cancel it; its progress shows here live.")
    elif status.state == "done":
        st.success(f"{status.message}.")
        m = status.metrics
        st.markdown(f"Test ELBO **{m['test_elbo']:.2f}** nats · NLL (IWAE, k={EVAL_IWAE_K}) "
                    f"**{m['test_nll_iwae']:.2f}** nats · 5-NN accuracy **{100 * m['test_knn5_accuracy']:.1f} %**"
                    f" (first {EVAL_IMAGES:,} test images)")
        st.page_link("pages/home.py", label=f"Open user/{req.name} (its model card)", icon=":material/arrow_forward:",
                     query_params={"model": f"user/{req.name}"})
    elif status.message:
        st.warning(status.message)
    left, right = st.columns([3, 2])
    with left:
        if status.history:
            show_chart(training_curves(list(status.history)), key="tr_curves")
    with right:
        if status.manifold is not None:
            show_digit(status.manifold, f"Manifold after epoch {status.epoch}", size=336)


def watch(seen: int) -> None:
    """Redraw the whole page (the Start button, the panel's polling) when a job starts or ends,
    this session's or another visitor's. Renders nothing."""
    if manager.generation != seen:
        st.rerun(scope="app")


# The panel polls once a second while a job runs, for every visitor; a light watcher notices
# when one starts or ends (e.g. started from another browser) and redraws the page.
st.fragment(progress_panel, run_every=1.0 if manager.busy() else None)()
st.fragment(watch, run_every=2.0)(manager.generation)
