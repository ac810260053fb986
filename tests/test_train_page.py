"""The Train page on a shared server (AppTest, two sessions of one process): a job shows to every
visitor, but only the session that started it can cancel it; the page names no picker."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    return " ".join(e.value for kind in ("markdown", "caption", "subheader", "success", "warning", "error")
                    for e in at.get(kind) if isinstance(getattr(e, "value", None), str))


def test_only_the_session_that_started_a_job_can_cancel_it() -> None:
    st.cache_data.clear()
    owner, visitor = _train_page(), _train_page()
    assert "picker" not in _text(owner) and "sidebar" not in _text(owner)
    owner.text_input(key="tr_name").set_value("owned-job")
    owner.slider(key="tr_epochs").set_value(50)
    owner.button(key="tr_start").click().run()
    assert not owner.exception and not owner.error, [e.value for e in owner.error]
    try:
        assert [b.key for b in owner.button if b.key == "tr_cancel"] == ["tr_cancel"]
        visitor.run()
        assert "owned-job: running (another visitor's)" in _text(visitor)
        assert not [b for b in visitor.button if b.key == "tr_cancel"]
        assert "Only the visitor who started this job can cancel it" in _text(visitor)
        assert visitor.button(key="tr_start").disabled  # one job at a time, for everyone
    finally:
        owner.button(key="tr_cancel").click().run()
    deadline = time.time() + 60
    while "cancelled" not in _text(owner) and time.time() < deadline:
        time.sleep(0.5)
        owner.run()
    assert "nothing was written" in _text(owner)


def test_a_trained_model_s_missing_scores_are_computed_once_with_progress(small_model, monkeypatch) -> None:
    """A model without saved scores (as one trained before this existed): the Typicality page
    computes them under a progress bar, saves them, and gives its verdict."""
    import ui.models
    from vae import load_checkpoint, save_checkpoint
    from vae.checkpoint import CHECKPOINT_DIR
    from vae.typicality import REFERENCE_IMAGES, scores_saved

    path = save_checkpoint(CHECKPOINT_DIR / "user" / "no-scores", small_model, {"val_elbo": -200.0})
    bars: list[str] = []
    real_progress = st.progress

    def progress(value: float, text: str | None = None):  # noqa: ANN202 - records, then draws
        bars.append(text or "")
        return real_progress(value, text=text)

    monkeypatch.setattr(ui.models.st, "progress", progress)
    try:
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=300)
        at.query_params["model"] = "user/no-scores"
        at.run()
        at.switch_page("pages/typicality.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("percentile" in m.value for m in at.markdown)
        assert any("Scoring 1,000 validation images" in b for b in bars)
        assert scores_saved(load_checkpoint(path), "val", REFERENCE_IMAGES, True, "log p(x)")
    finally:
        path.unlink()
