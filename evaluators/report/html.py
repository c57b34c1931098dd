"""Render a :class:`~.document.Document` as one self-contained HTML page (figures as PNG data
URIs, an SVG inline where a figure has one; wide tables in horizontally scrolling wrappers)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from PIL import Image

from .document import Bullets, Definitions, Document, Figure, Paragraph, Table, Text

__all__ = ["render_html", "CSS"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em;line-height:1.45}
.table-wrap{overflow-x:auto;max-width:100%;margin:0.6em 0 1.4em}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-size:12px;color:#555;padding-bottom:3px}
figure,.sheet{margin:0.5em 0 1.5em}figure svg,figure img,.sheet img{max-width:100%;height:auto;display:block}
figcaption{font-size:12px;color:#555}code{background:#f5f5f5;padding:0 3px}
p.headline{font-size:15px;background:#f6f8fa;border-left:4px solid #1f77b4;padding:0.6em 1em}
p.note{font-size:12px;color:#555}dl{font-size:13px}dt{font-weight:600}dd{margin:0 0 0.4em 1.5em}
"""

_TAG = {"code": "code", "em": "em", "strong": "strong"}


def _text(t: Text) -> str:
    out = []
    for s in t:
        body = html.escape(s.text)
        tag = _TAG.get(s.style)
        out.append(f"<{tag}>{body}</{tag}>" if tag else body)
    return "".join(out)


def _table(t: Table) -> str:
    cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in t.rows
    )
    return (f"<div class='table-wrap'><table>{cap}<thead><tr>{th}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")  # fmt: skip


def _inline_svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _figure(f: Figure) -> str:
    if f.embed == "svg" and "svg" in f.files:
        body = _inline_svg(f.files["svg"])
    else:
        data = base64.b64encode(f.files["png"].read_bytes()).decode("ascii")
        with Image.open(f.files["png"]) as im:  # shown at the size the SVG figures have
            width = round(im.size[0] * 96 / im.info.get("dpi", (96, 96))[0])
        body = (f"<img alt='{html.escape(f.alt)}' width='{width}' "
                f"src='data:image/png;base64,{data}'>")  # fmt: skip
    if f.kind == "sheet":  # a plate of thumbnails, not a chart: kept out of the figure list
        return (f"<div class='sheet'>{body}<p class='note'>{html.escape(f.caption)}</p></div>")
    return (f"<figure class='{html.escape(f.kind)}'>{body}<figcaption>{html.escape(f.caption)}"
            "</figcaption></figure>")  # fmt: skip


def _block(b) -> str:
    if isinstance(b, Paragraph):
        return f"<p class='{b.role}'>{_text(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{_text(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Definitions):
        items = "".join(f"<dt>{html.escape(t)}</dt><dd>{_text(d)}</dd>" for t, d in b.items)
        return f"<dl>{items}</dl>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Figure):
        return _figure(b)
    raise TypeError(f"html: unknown block {type(b).__name__}")


def render_html(doc: Document) -> str:
    """The whole report as one HTML page that fetches nothing."""
    parts = [f"<h1>{html.escape(doc.title)}</h1>"]
    parts += [_block(b) for b in doc.lead if "html" in b.formats]
    for s in doc.sections:
        blocks = [b for b in s.blocks if "html" in b.formats]
        if blocks:
            parts.append(f"<h2 id='{html.escape(s.anchor)}'>{_text(s.title)}</h2>")
        parts += [_block(b) for b in blocks]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(parts) + "</body></html>\n"
    )  # fmt: skip
