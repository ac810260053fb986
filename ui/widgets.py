"""Small widgets several pages share."""

from __future__ import annotations

import streamlit as st

from .models import ModelHandle
from .urlstate import linked, put, url_choice


def require_unconditional(handle: ModelHandle, why: str) -> None:
    """Stop a page that needs p(x) itself (not p(x | digit)) when a conditional model is picked."""
    if handle.conditional:
        st.info(f"{why} Pick an unconditional model with the model button under the title.")
        st.stop()


def label_picker(handle: ModelHandle, key: str, default: int = 0,
                 label: str = "Digit class (CVAE)", url_param: str | None = None) -> int | None:
    """For a conditional model, a class selector (the latent then holds style only); else None.

    url_param: also read the class from, and write the choice to, that query parameter, so a
    shared link, or a link from another page, opens the same class (anything but a valid class
    in the URL is ignored, with a note).
    """
    if not handle.conditional:
        return None
    classes = list(range(handle.ckpt.config.num_classes))
    if url_param and (key not in st.session_state or linked(url_param)):  # a link's class wins
        # Exact class strings only (not isdigit(): "²" is a digit int() refuses).
        current = st.session_state.get(key, default)
        st.session_state[key] = int(url_choice(url_param, [str(c) for c in classes], str(current)))
    elif key not in st.session_state:
        st.session_state[key] = default
    choice = st.selectbox(label, classes, key=key,
                          help="This model is conditional: the decoder also gets the digit label, "
                               "so z holds the style (slant, width, thickness), not the class.")
    if url_param:
        put(url_param, str(choice))
    return choice
