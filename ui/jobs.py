"""The server's one training-job manager (vae/jobs.py), shared by every session of the Train page,
and the token that says which session started the job."""

from __future__ import annotations

import secrets

import streamlit as st

from vae.jobs import JobManager

from .models import eta_text

_OWNER_KEY = "_job_owner_token"  # in session state only: never rendered, never in the URL


@st.cache_resource
def job_manager() -> JobManager:
    """The process's JobManager: created on first use, then the same one for all sessions."""
    return JobManager()


def session_token() -> str:
    """This browser session's owner token for jobs (random, 128 bits): a job started here can be
    cancelled only from here. A new session (another tab, a reload after expiry) gets a new one."""
    if _OWNER_KEY not in st.session_state:
        st.session_state[_OWNER_KEY] = secrets.token_urlsafe(16)
    return st.session_state[_OWNER_KEY]


def progress_text(status) -> str:  # noqa: ANN001 - vae.jobs.JobStatus
    """The job's bar label: its phase, what it is doing, and the phase's estimated time left."""
    if status.state != "running":
        return status.state
    steps = {"training": "1/3 training", "metrics": "2/3 test metrics", "scores": "3/3 typicality scores"}
    parts = [steps.get(status.phase, status.phase), status.detail, eta_text(status.eta_s)]
    return " · ".join(p for p in parts if p)
