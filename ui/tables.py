"""Small tables as Markdown (GitHub tables), for the posterior and compare pages.

Why not st.table / st.dataframe: both go through Arrow, which imports pandas and pyarrow into
the server (70 MB of resident memory, bench/results.json rss_mb) for a dozen cells of text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import streamlit as st

# Everything Markdown (and Streamlit's $...$ maths) could read as syntax is backslash-escaped,
# so a cell shows exactly its text.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$&:])")


def markdown_cell(value: object) -> str:
    """One cell's text, escaped; None is an empty cell, line breaks become spaces."""
    text = "" if value is None else str(value)
    return _SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]],
                   align: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table; align per column: "left" (default) or "right" (numbers)."""
    align = list(align or ["left"] * len(columns))
    rule = ["---:" if a == "right" else "---" for a in align]
    lines = ["| " + " | ".join(markdown_cell(c) for c in columns) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def show_table(columns: Sequence[str], rows: Sequence[Sequence[object]],
               align: Sequence[str] | None = None) -> None:
    st.markdown(markdown_table(columns, rows, align))
