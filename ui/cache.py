"""The one way to cache something computed from a model: `@per_model(st.cache_data, ...)`.

    @per_model(st.cache_data, show_spinner="Decoding the manifold…", max_entries=16)
    def manifold(handle: ModelHandle, n: int, ...) -> Manifold: ...

The decorated function is called as before, `manifold(handle, n, ...)`; its cache is keyed by
`handle.key` ("path@mtime": a retrained file is a new model) and the other arguments, never by
hashing the model itself. Arguments are bound to the signature with its defaults first, so
`f(handle, 3)` and `f(handle, 3, None)` share an entry.

st.cache_data returns a copy each call (arrays a page may modify); st.cache_resource returns
the shared object itself (pictures, decoded grids: callers treat them as read-only).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class _Keyed(Protocol):
    key: str


def per_model(cache: Callable[..., Any], **options: Any) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Cache `fn(handle, *args)` with `cache` (st.cache_data or st.cache_resource, given
    `options` such as show_spinner and max_entries) per model: keyed by handle.key and args."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(fn)

        def cached(key: str, _handle: _Keyed, *args: Any) -> R:  # "_handle": not hashed
            return fn(_handle, *args)

        # Streamlit names a function's cache by its module, qualified name and source; every
        # `cached` has the same source, so each takes the name of the function it serves.
        cached.__module__, cached.__qualname__, cached.__name__ = fn.__module__, fn.__qualname__, fn.__name__
        cached_fn = cache(**options)(cached)

        @functools.wraps(fn)
        def wrapper(handle: _Keyed, *args: Any, **kwargs: Any) -> R:
            bound = signature.bind(handle, *args, **kwargs)
            bound.apply_defaults()
            return cached_fn(handle.key, handle, *bound.args[1:])

        wrapper.clear = cached_fn.clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
