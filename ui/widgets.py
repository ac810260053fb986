"""Small widgets several pages share."""

from __future__ import annotations

import streamlit as st

from .models import ModelHandle


def label_picker(handle: ModelHandle, key: str, default: int = 0,
                 label: str = "Digit class (CVAE)", url_param: str | None = None) -> int | None:
    """For a conditional model, a class selector (the latent then holds style only); else None.

    url_param: also read the first value from, and write the choice to, that query parameter,
    so a shared link opens the same class (anything but a valid class in the URL is ignored).
    """
    if not handle.conditional:
        return None
    classes = list(range(handle.ckpt.config.num_classes))
    if url_param and key not in st.session_state:
        wanted = st.query_params.get(url_param, "")
        if wanted in {str(c) for c in classes}:  # not isdigit(): "²" is a digit int() refuses
            default = int(wanted)
    choice = st.selectbox(label, classes, index=default, key=key,
                          help="This model is conditional: the decoder also gets the digit label, "
                               "so z holds the style (slant, width, thickness), not the class.")
    if url_param:
        st.query_params[url_param] = str(choice)
    return choice
