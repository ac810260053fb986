"""The server's one training-job manager (vae/jobs.py), shared by every session of the Train page."""

from __future__ import annotations

import streamlit as st

from vae.jobs import JobManager


@st.cache_resource
def job_manager() -> JobManager:
    """The process's JobManager: created on first use, then the same one for all sessions."""
    return JobManager()
