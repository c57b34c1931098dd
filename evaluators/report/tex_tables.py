"""LaTeX tables that fit a one-column article (booktabs; longtable past a page).

A table wider than the text is first split at its per-model column groups (the key columns are
repeated in every part); a part still too wide wraps its widest text columns in ``p{}`` columns,
and only then shrinks (``\\resizebox`` for a float, ``\\scriptsize`` for a longtable).
Widths are estimated from Computer Modern glyph widths at ``\\footnotesize``.
"""

from __future__ import annotations

import math
import re
import textwrap

from .document import Table

__all__ = ["render_table", "tex_escape", "LONG_TABLE_ROWS"]

_ESC = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}  # fmt: skip
_TEXT_PT = 335.0  # \textwidth of a one-column article at 10pt (345pt), less a margin
_PT_PER_CHAR = 4.3  # \footnotesize, mixed digits and letters (for p{} widths)
_PAD_PT = 12.0  # 2 \tabcolsep per column
_TIGHT_PAD_PT = 7.0  # the same, tightened for a table that does not fit otherwise
# cmr10 advance widths in pt (T1), scaled to \footnotesize (8pt, cmr8 is a little wider)
_GLYPH = {**dict.fromkeys("0123456789", 5.0), **dict.fromkeys("ilj.,:;[]()!'|", 2.8),
          **dict.fromkeys("frt-/ ", 3.6), **dict.fromkeys("mw%", 8.0), "=": 7.8, "_": 5.0,
          **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 7.2), "M": 9.2, "W": 10.3}  # fmt: skip
_SCALE = 0.86
_MIN_WRAP = 12  # a wrapped text column keeps at least this many characters
LONG_TABLE_ROWS = 34  # a table longer than this is a longtable (breaks across pages)
_NUMERIC = re.compile(r"^[\d.\-–\[\], %]*$")


def tex_escape(s: object) -> str:
    """Escape LaTeX specials; allow line breaks after separators in long tokens."""
    out = "".join(_ESC.get(ch, ch) for ch in str(s)).replace("-", "-{}").replace("–", "--")
    return out.replace(",", r",\allowbreak{}").replace("/", r"/\allowbreak{}")


def _cell(c: object, wraps: bool = False) -> str:
    out = tex_escape(c)
    if wraps:  # a p{} column: long names may also break after '_'
        out = out.replace(r"\_", r"\_\allowbreak{}")
    return "{}" + out if out.startswith("[") else out  # "\\ [" would read as a row skip


def _pt_of(s: str) -> float:
    """Estimated width of ``s`` set in \\footnotesize."""
    return _SCALE * sum(_GLYPH.get(ch, 5.0) for ch in s)


def _body_width(t: Table, j: int) -> int:
    """The widest cell of column j, in 'characters' of _PT_PER_CHAR points."""
    return max([round(_pt_of(str(r[j])) / _PT_PER_CHAR + 0.5) for r in t.rows] or [0])


def _is_text(t: Table, j: int) -> bool:
    return j < t.key_columns or not all(_NUMERIC.match(str(r[j])) for r in t.rows)


def _min_width(t: Table, j: int) -> int:
    """The longest unbreakable token of column j (text breaks at spaces, ',', '/', '_')."""
    toks = [w for r in t.rows for w in re.split(r"(?<=[ ,/_-])", str(r[j]))]
    return max([round(_pt_of(w) / _PT_PER_CHAR + 0.5) for w in toks] or [0])


def _header_lines(h: str, width: int) -> list[str]:
    return textwrap.wrap(h, max(width, 8), break_long_words=False) or [""]


def _width(t: Table, j: int, cap: int | None = None) -> int:
    body = _body_width(t, j) if cap is None else min(_body_width(t, j), cap)
    head = _header_lines(t.header[j], max(body, 8))
    return max(body, max(round(_pt_of(x) / _PT_PER_CHAR + 0.5) for x in head))


def _pt(chars: list[int], pad: float = _PAD_PT) -> float:
    return sum(c * _PT_PER_CHAR + pad for c in chars)


def _parts(t: Table) -> list[list[int]]:
    """Column index lists: the whole table, or its key columns plus as many groups as fit."""
    cols = list(range(len(t.header)))
    widths = [_width(t, j) for j in cols]
    if _pt(widths) <= _TEXT_PT or t.group_size <= 0:
        return [cols]
    keys, rest = cols[: t.key_columns], cols[t.key_columns :]
    groups = [rest[i : i + t.group_size] for i in range(0, len(rest), t.group_size)]
    parts: list[list[int]] = []
    cur: list[int] = []
    for g in groups:
        if cur and _pt([widths[j] for j in keys + cur + g]) > _TEXT_PT:
            parts.append(keys + cur)
            cur = []
        cur += g
    parts.append(keys + cur)
    return parts


def _fit(t: Table, cols: list[int], pad: float = _PAD_PT) -> tuple[dict[int, int], bool]:
    """Caps (characters) for text columns that wrap, and whether the part must still shrink."""
    caps: dict[int, int] = {}
    while True:
        widths = {j: _width(t, j, caps.get(j)) for j in cols}
        excess = (_pt(list(widths.values()), pad) - _TEXT_PT) / _PT_PER_CHAR
        if excess <= 0:
            return caps, False
        floor = {j: max(_MIN_WRAP, _min_width(t, j)) for j in cols}
        text = [j for j in cols if _is_text(t, j) and widths[j] > floor[j]]
        if not text:
            return caps, True
        j = max(text, key=lambda k: widths[k] - floor[k])
        caps[j] = max(floor[j], widths[j] - int(excess) - 1)


def _lines(t: Table, caps: dict[int, int]) -> int:
    """Estimated text lines of the table's body (wrapped cells take several)."""
    total = 0
    for r in t.rows:
        total += max([math.ceil(_pt_of(str(r[j])) / _PT_PER_CHAR / c) for j, c in caps.items()]
                     or [1])  # fmt: skip
    return total


def _head(t: Table, j: int, width: int) -> str:
    lines = _header_lines(t.header[j], width)
    if len(lines) == 1:
        return _cell(lines[0])
    align = "l" if j < t.key_columns else "r"
    inner = r" \\ ".join(_cell(x) for x in lines)
    return rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}{inner}\end{{tabular}}"


def _spec(t: Table, cols: list[int], caps: dict[int, int]) -> str:
    out = []
    for j in cols:
        if j in caps:
            out.append(rf">{{\raggedright\arraybackslash}}p{{{caps[j] * _PT_PER_CHAR:.0f}pt}}")
        else:
            out.append("l" if j < max(t.key_columns, 1) else "r")
    return "".join(out)


def _without_first(t: Table) -> tuple[Table, list[str]]:
    """The table without column 0, and column 0's value per row (for heading rows)."""
    rest = Table(t.header[1:], [r[1:] for r in t.rows], t.caption, t.label,
                 max(t.key_columns - 1, 1), t.group_size, t.formats)  # fmt: skip
    return rest, [str(r[0]) for r in t.rows]


def _body(t: Table, cols: list[int], caps: dict[int, int], heads: list[str] | None) -> list[str]:
    out, last = [], None
    for i, r in enumerate(t.rows):
        if heads is not None and heads[i] != last:
            last = heads[i]
            out.append(rf"\multicolumn{{{len(cols)}}}{{@{{}}l}}{{\textbf{{{_cell(last)}}}}} \\")
        out.append(" & ".join(_cell(r[j], j in caps) for j in cols) + r" \\")
    return out


def render_table(t: Table) -> list[str]:
    """LaTeX lines for one table (one float or longtable per part)."""
    heads = None
    if t.first_as_heading and len(t.header) > 2:
        t, heads = _without_first(t)
    parts = _parts(t)
    out: list[str] = []
    for k, cols in enumerate(parts):
        caps, shrink = _fit(t, cols)
        tight = ""
        if shrink:  # narrower column padding before smaller type
            caps, shrink = _fit(t, cols, _TIGHT_PAD_PT)
            tight = rf"\setlength{{\tabcolsep}}{{{_TIGHT_PAD_PT / 2:g}pt}}"
        spec = _spec(t, cols, caps)
        head = " & ".join(_head(t, j, _width(t, j, caps.get(j))) for j in cols) + r" \\"
        body = _body(t, cols, caps, heads)
        cap = tex_escape(t.caption) + (f" (part {k + 1} of {len(parts)})" if len(parts) > 1
                                       else "")  # fmt: skip
        label = rf"\label{{{t.label}}}" if t.label and k == 0 else ""
        if _lines(t, caps) + len(set(heads or [])) > LONG_TABLE_ROWS:
            size = r"\scriptsize" if shrink else r"\footnotesize"
            out += [rf"\begingroup{size}{tight}", rf"\begin{{longtable}}{{{spec}}}",
                    rf"\caption{{{cap}}}{label}\\", r"\toprule", head, r"\midrule",
                    r"\endfirsthead", r"\toprule", head, r"\midrule", r"\endhead",
                    r"\bottomrule", r"\endlastfoot", *body, r"\end{longtable}", r"\endgroup",
                    ""]  # fmt: skip
            continue
        tab = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", head, r"\midrule", *body,
               r"\bottomrule", r"\end{tabular}"]  # fmt: skip
        if shrink:
            tab = [r"\resizebox{\linewidth}{!}{%", *tab, "}"]
        out += [r"\begin{table}[htbp]", r"\centering", r"\footnotesize" + tight,
                rf"\caption{{{cap}}}{label}", *tab, r"\end{table}", ""]  # fmt: skip
    return out
