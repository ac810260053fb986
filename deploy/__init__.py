"""Serving: HAProxy in front of Streamlit replicas (`make serve`)."""
