"""The report as data, and its one renderer to markdown and HTML.

A Document is a title, an introduction and Sections; a Section is a title and blocks: paragraphs,
bullet lists, tables and figures (a chart's stem, title and caption). Text may hold `code` spans
in backticks; markdown keeps them, HTML turns them into <code>.
"""
from __future__ import annotations

import dataclasses
import html
import os
import re
from pathlib import Path
from typing import Union


@dataclasses.dataclass
class Paragraph:
    text: str


@dataclasses.dataclass
class Bullets:
    items: list[str]


@dataclasses.dataclass
class Table:
    header: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        i = self.header.index(name)
        return [r[i] for r in self.rows]

    def row(self, first: str) -> list[str]:
        """The row whose first cell is `first`."""
        return next(r for r in self.rows if r[0] == first)


@dataclasses.dataclass
class Figure:
    """A chart written as STEM.png and STEM.svg; `series` are the models drawn in it."""
    stem: str
    title: str
    caption: str
    series: list[str] = dataclasses.field(default_factory=list)


Block = Union[Paragraph, Bullets, Table, Figure]


@dataclasses.dataclass
class Section:
    key: str          # stable handle for code and tests: "findings", "claims", a chart's stem...
    title: str
    blocks: list[Block]

    def first(self, kind: type):
        return next(b for b in self.blocks if isinstance(b, kind))


@dataclasses.dataclass
class Document:
    title: str
    intro: list[str]
    sections: list[Section]
    footer: str = ""

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def keys(self) -> list[str]:
        return [s.key for s in self.sections]


# --- markdown -------------------------------------------------------------------------------

def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|")


def _md_block(b: Block) -> list[str]:
    if isinstance(b, Paragraph):
        return [b.text]
    if isinstance(b, Bullets):
        return [f"- {item}" for item in b.items]
    if isinstance(b, Table):
        lines = ["| " + " | ".join(map(_md_cell, b.header)) + " |", "|" + "---|" * len(b.header)]
        return lines + ["| " + " | ".join(map(_md_cell, r)) + " |" for r in b.rows]
    return [f"![{b.title}]({b.stem}.png)", "", b.caption]


def to_markdown(doc: Document) -> str:
    lines = [f"# {doc.title}", ""]
    for p in doc.intro:
        lines += [p, ""]
    for s in doc.sections:
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            lines += _md_block(b) + [""]
    if doc.footer:
        lines += [doc.footer, ""]
    return "\n".join(lines)


# --- HTML -----------------------------------------------------------------------------------

CSS = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
       "color:#222}img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;"
       "font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;"
       "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
       "p.caption{color:#555;font-size:14px}li{margin:.4em 0}")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline(text: str) -> str:
    """Escaped text with `code` spans as <code> and **bold** as <strong>."""
    text = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(str(text)))
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", text)


def _cell(value) -> str:
    """A table cell: escaped, and a benchmark name (fetch/model/requests:N/...) may break after
    each slash, so that a table of them fits a 1280-pixel window instead of running off it."""
    return html.escape(str(value)).replace("/", "/<wbr>")


def _html_block(b: Block) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{inline(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
        body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>"
                       for r in b.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return (f"<img src='{html.escape(b.stem)}.svg' alt='{html.escape(b.title)}'>"
            f"<p class='caption'>{inline(b.caption)}</p>")


def to_html(doc: Document) -> str:
    title = _CODE.sub(r"\1", doc.title)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{CSS}</style></head><body>", f"<h1>{inline(doc.title)}</h1>"]
    parts += [f"<p>{inline(p)}</p>" for p in doc.intro]
    for s in doc.sections:
        parts.append(f"<h2>{inline(s.title)}</h2>" + "".join(map(_html_block, s.blocks)))
    if doc.footer:
        parts.append(f"<p class='caption'>{inline(doc.footer)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_atomic(path: Path, text: str) -> None:
    """`text` as `path`, whole or not at all: written beside it, then renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def render(doc: Document) -> dict[str, str]:
    """The pages of the report: file name -> text."""
    return {"report.md": to_markdown(doc), "index.html": to_html(doc)}


def publish(pages: dict[str, str], out: Path) -> None:
    for name, text in pages.items():
        write_atomic(out / name, text)


def write(doc: Document, out: Path) -> None:
    """report.md and index.html in `out`, each rendered in full before either is written."""
    publish(render(doc), out)
