"""HTML output: the Jinja templates under report/templates and the plain cells and images they print.

Pages are self-contained (inline CSS, images as base64 data URIs). Every value reaches the page through a
template, which escapes it exactly once; Python code here and in the page builders writes no markup.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

ENVIRONMENT = Environment(
    loader=PackageLoader("seqsuite", "report/templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt field fails the render instead of leaving a blank
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Line:
    """One line of a cell: text, then optionally a run id in <code>, linked to href when there is one."""

    text: str
    code: str = ""
    href: str = ""


@dataclass(frozen=True)
class Cell:
    """A table cell: its lines (one below the other), CSS class and spans."""

    lines: tuple[Line, ...]
    css: str = ""
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Row:
    """A table row and its CSS class."""

    cells: tuple[Cell, ...]
    css: str = ""


@dataclass(frozen=True)
class Table:
    """A table: header rows (printed as <th>) and body rows (<td>)."""

    head: tuple[Row, ...]
    body: tuple[Row, ...]


@dataclass(frozen=True)
class Image:
    """A PNG figure as base64 text, for a data URI, with its alt text."""

    data: str
    alt: str


def cell(text: Any, css: str = "", colspan: int = 1, rowspan: int = 1) -> Cell:
    """Return a cell of one line of text."""
    return Cell((Line(str(text)),), css, colspan, rowspan)


def text_table(header: list[str], rows: list[list[str]], text_columns: int) -> Table:
    """Return a table of plain cells; the first text_columns columns are text (left-aligned), the rest numbers."""
    def cells(values: list[str], text_class: str) -> tuple[Cell, ...]:
        return tuple(cell(value, text_class if i < text_columns else "") for i, value in enumerate(values))

    return Table((Row(cells(header, "left")),), tuple(Row(cells(row, "model")) for row in rows))


def image(png: bytes, alt: str) -> Image:
    """Return PNG bytes as an Image to embed as a base64 data URI."""
    return Image(base64.b64encode(png).decode("ascii"), alt)


def render(template: str, page: Any) -> str:
    """Return a template of report/templates rendered with page, autoescaped."""
    return ENVIRONMENT.get_template(template).render(page=page)


def write_page(page: str, html_path: Path) -> None:
    """Write an HTML page, creating its folder."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(page, encoding="utf-8")
