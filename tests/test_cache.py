"""ui/cache.py: per-model caches are keyed by the handle's key and the arguments (defaults bound),
never by the model, and two cached functions never share entries."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.cache import per_model


@dataclass(frozen=True)
class _Handle:
    key: str
    model: object  # unhashable on purpose: the cache must not try to hash it

    __hash__ = None  # type: ignore[assignment]


CALLS: list[tuple[str, str, int, int | None]] = []


@per_model(st.cache_data, show_spinner=False, max_entries=8)
def _first(handle: _Handle, n: int, label: int | None = None) -> list[int]:
    CALLS.append(("first", handle.key, n, label))
    return [n, len(handle.key)]


@per_model(st.cache_resource, show_spinner=False, max_entries=8)
def _second(handle: _Handle, n: int, label: int | None = None) -> list[int]:
    CALLS.append(("second", handle.key, n, label))
    return [-n]


def test_keyed_by_handle_key_and_arguments() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    CALLS.clear()
    a, a_again, b = _Handle("a@1", [1]), _Handle("a@1", [2]), _Handle("b@1", [1])
    assert _first(a, 3) == [3, 3]
    assert _first(a_again, 3, None) == [3, 3]  # same key, defaults bound: one entry
    assert _first(a, n=3, label=None) == [3, 3]
    assert CALLS == [("first", "a@1", 3, None)]
    _first(b, 3)  # another model (or the same file retrained: another mtime)
    _first(a, 3, 7)
    assert CALLS[1:] == [("first", "b@1", 3, None), ("first", "a@1", 3, 7)]
    # Same source for every wrapper, but each function has its own cache.
    assert _second(a, 3) == [-3] and CALLS[-1] == ("second", "a@1", 3, None)
    assert _second(a, 3) is _second(a, 3)  # cache_resource: the shared object itself
    assert _first(a, 3) is not _first(a, 3)  # cache_data: a copy each call
