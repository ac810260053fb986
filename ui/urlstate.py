"""State a visitor shares lives in the URL (?model=, ?z1=, ?i=, ?label=, ...): the one place
that reads it back, validated. A value that is not a finite number, not an allowed choice, or
out of range is clamped or ignored, and the page says so in a short note (a toast): never a
broken page or component. The parsing itself is pure (`parse_number`, `parse_choice`); the
Streamlit side only reads st.query_params and shows the note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
MAX_SHOWN = 24  # characters of a bad value quoted back in a note


def _quote(text: str) -> str:
    text = "".join(c for c in text if c.isprintable())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def parse_number(text: str | None, lo: float, hi: float, default: float,
                 integer: bool = False) -> tuple[float, str | None]:
    """(value, note): text as a finite number in [lo, hi] (an integer if asked), clamped into
    the range; the default for anything else. note: None, or why the value was changed."""
    if text is None:
        return default, None
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        return default, f"“{_quote(str(text))}” is not a number"
    if not math.isfinite(value):
        return default, f"“{_quote(text)}” is not a finite number"
    if integer and value != int(value):
        return default, f"“{_quote(text)}” is not a whole number"
    clamped = min(max(value, lo), hi)
    note = None if clamped == value else f"{_quote(text)} is outside {lo:g} … {hi:g}"
    return (int(clamped) if integer else clamped), note


def parse_choice(text: str | None, choices: Sequence[str], default: str) -> tuple[str, str | None]:
    """(choice, note): text if it is exactly one of the choices, else the default."""
    if text is None or text in choices:
        return (default if text is None else text), None
    return default, f"“{_quote(text)}” is not one of {', '.join(choices[:6])}{'…' if len(choices) > 6 else ''}"


def _note(name: str, note: str | None, used: object) -> None:
    if note:
        st.toast(f"Link parameter ?{name}=: {note}; using {used}.", icon=":material/link_off:")


def url_number(name: str, lo: float, hi: float, default: float, integer: bool = False) -> float:
    """?name= as a number in [lo, hi] (see parse_number), with a note if it was changed."""
    value, note = parse_number(st.query_params.get(name), lo, hi, default, integer)
    _note(name, note, value)
    return value


def url_choice(name: str, choices: Sequence[str], default: str) -> str:
    """?name= as one of `choices` (see parse_choice), with a note if it was not one."""
    value, note = parse_choice(st.query_params.get(name), list(choices), default)
    _note(name, note, value)
    return value


_WRITTEN = "_url_written"  # session_state: {name: the value this session last put in the URL}


def put(name: str, value: str) -> None:
    """Write ?name=value (the page's current state) and remember it, so that `linked` can tell
    a value the visitor brought (a link, a reload) from one this session wrote itself."""
    if st.query_params.get(name) != value:  # each write is a message to the browser
        st.query_params[name] = value
    st.session_state.setdefault(_WRITTEN, {})[name] = value


def linked(name: str) -> bool:
    """Is ?name= in the URL with a value this session did not write? Then a link (or a typed
    URL) brought it, and the page should take it over whatever the session had."""
    value = st.query_params.get(name)
    return value is not None and st.session_state.get(_WRITTEN, {}).get(name) != value
