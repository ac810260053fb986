"""ui/tables.py: Markdown tables whose cells show exactly their text."""

from __future__ import annotations

import re

from ui.tables import markdown_cell, markdown_table


def parse_markdown_row(line: str) -> list[str]:
    """One table row -> its cells' text (the inverse of markdown_cell's escaping)."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [re.sub(r"\\(.)", r"\1", cell.strip()) for cell in cells]


def test_cells_round_trip_through_the_escaping() -> None:
    hostile = ["p(x|z)", "**bold** _it_ `code`", "$x^2$ <b>html</b>", "[link](http://x)", "a\nb", "- 1.",
               "back\\slash \\*", "&lt;b&gt; &amp;", ":red[x] :material/home:"]
    table = markdown_table(["text", "n"], [(text, i) for i, text in enumerate(hostile)], align=["left", "right"])
    lines = table.splitlines()
    assert lines[1] == "| --- | ---: |"
    assert [parse_markdown_row(line) for line in lines[2:]] == [
        [text.replace("\n", " "), str(i)] for i, text in enumerate(hostile)]
    for line in lines[2:]:  # no Markdown, HTML or maths syntax left unescaped in the cells
        assert not re.search(r"[*_`$<>\[\]&:\\]", re.sub(r"\\.", "", line)), line


def test_none_is_an_empty_cell() -> None:
    assert markdown_cell(None) == "" and markdown_cell(1.5) == "1\\.5"
