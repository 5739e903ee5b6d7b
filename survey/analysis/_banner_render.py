"""Banner rendering: the display table (labels, rounded cells, letters, suppression
applied), the HTML of JupyterLab and the reports, and the Excel tab book.

Cut from :mod:`survey.analysis.banner` along its seam: :class:`~survey.analysis.banner.Banner`
holds the numbers, this module only shows them. Every function takes the banner first.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.safety import put_cell
from ..errors import AnalysisError
from ._banner_notes import _text

if TYPE_CHECKING:  # pragma: no cover
    from ._banner_table import _Block
    from .banner import Banner


def cell_text(bn: Banner, b: _Block, h: np.ndarray, r: int, c: int) -> tuple[str, str]:
    if h[r, c] == 1:
        return f"<{bn.suppress_below}", ""
    if h[r, c] == 2:
        return "x", ""
    st = b.stat[r]
    v = b.value[r, c]
    if not np.isfinite(v):
        return "–", ""
    txt = f"{v:.1f}" if st in ("pct", "net") else f"{v:.2f}"
    return txt, str(b.letters[r, c])


def base_rows(bn: Banner, b: _Block) -> list[tuple[str, list[str]]]:
    t = _text(bn.language)
    rows = [(t["base"], [f"{x:,.0f}" for x in b.base_n])]
    if bn.weighted:
        rows.append((t["wbase"], [f"{x:,.1f}" for x in b.base_w]))
        rows.append((t["ebase"], [f"{x:,.1f}" for x in b.base_eff]))
    return rows


def display_frame(bn: Banner) -> pd.DataFrame:
    """Labels and rounded cells, letters beside the numbers, suppression applied."""
    records, index = [], []
    heads = [_col_head(c) for c in bn.columns]
    for b, h in zip(bn.blocks, bn._hidden):
        for lab, vals in base_rows(bn, b):
            index.append((b.label, lab))
            records.append(vals)
        for r in range(len(b.stat)):
            row = []
            for c in range(len(bn.columns)):
                txt, let = cell_text(bn, b, h, r, c)
                row.append(f"{txt} {let}".strip())
            index.append((b.label, b.category[r]))
            records.append(row)
    idx = pd.MultiIndex.from_tuples(index, names=["", ""]) if index else None
    return pd.DataFrame(records, columns=heads, index=idx)


def to_html(bn: Banner) -> str:
    """The banner as compact HTML (see :meth:`Banner.to_html`)."""
    esc = html.escape
    cols = bn.columns
    small = bn.small_base
    css = (
        "<style>.sv-banner{font-family:'Noto Sans CJK SC','Noto Sans CJK TC',system-ui,"
        "sans-serif;font-size:13px}.sv-banner .tw{max-height:80vh;overflow:auto}"
        ".sv-banner table{border-collapse:collapse}.sv-banner th,.sv-banner td{padding:2px 6px;"
        "border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}"
        ".sv-banner thead th{position:sticky;background:#fff;z-index:1}"
        ".sv-banner thead tr:nth-child(1) th{top:0}.sv-banner thead tr:nth-child(2) th"
        "{top:1.6em}.sv-banner thead tr:nth-child(3) th{top:3.2em}"
        ".sv-banner th.stub{text-align:left;position:sticky;left:0;background:#fff;"
        "white-space:normal;min-width:10em}.sv-banner tr.var th{text-align:left;"
        "background:#f4f4f4;font-weight:600}.sv-banner .base td,.sv-banner .base th"
        "{color:#666;font-size:12px}.sv-banner .small{color:#aaa}.sv-banner .sig"
        "{color:#b5179e;font-weight:600;font-size:11px;margin-left:2px}"
        ".sv-banner .let{color:#666;font-weight:400;font-size:11px}"
        ".sv-notes{color:#555;font-size:12px;margin:4px 0 0 0;padding-left:18px}</style>"
    )
    # header: by variable row, category row, letter row
    groups: list[tuple[str, int]] = []
    for c in cols:
        if groups and groups[-1][0] == c["by_label"] and c["by"] != "Total":
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((c["by_label"], 1))
    h1 = "<th class='stub'></th>" + "".join(
        f"<th colspan='{n}' style='text-align:center'>{esc(lab)}</th>" for lab, n in groups)
    h2 = "<th class='stub'></th>" + "".join(
        f"<th{' class=small' if s else ''}>{esc(c['category'])}</th>"
        for c, s in zip(cols, small))
    h3 = "<th class='stub'></th>" + "".join(
        f"<th><span class='let'>{esc(c['letter'])}</span></th>" for c in cols)
    body = []
    width = len(cols) + 1
    for b, h in zip(bn.blocks, bn._hidden):
        body.append(f"<tr class='var'><th class='stub' colspan='{width}'>{esc(b.label)}</th></tr>")
        small_b = b.base_n < bn.min_base
        small_b[0] = False
        for lab, vals in base_rows(bn, b):
            tds = "".join(f"<td{' class=small' if s else ''}>{esc(v)}</td>"
                          for v, s in zip(vals, small_b))
            body.append(f"<tr class='base'><th class='stub'>{esc(lab)}</th>{tds}</tr>")
        for r in range(len(b.stat)):
            tds = []
            for c in range(len(cols)):
                txt, let = cell_text(bn, b, h, r, c)
                sig = f"<span class='sig'>{esc(let)}</span>" if let else ""
                cls = " class=small" if small_b[c] else ""
                tds.append(f"<td{cls}>{esc(txt)}{sig}</td>")
            body.append(f"<tr><th class='stub'>{esc(b.category[r])}</th>{''.join(tds)}</tr>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in bn.footnotes)
    return (
        f"{css}<div class='sv-banner'><div><b>{esc(bn.title)}</b></div><div class='tw'>"
        f"<table><thead><tr>{h1}</tr><tr>{h2}</tr><tr>{h3}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div><ul class='sv-notes'>{notes}</ul></div>"
    )


def _col_head(c: dict) -> str:
    let = f" ({c['letter']})" if c["letter"] else ""
    if c["by"] == "Total":
        return c["category"]
    return f"{c['by_label']}: {c['category']}{let}"


def _safe_text(cell, text: str) -> None:
    """Put text in an openpyxl cell so it never becomes a formula (quote prefix)."""
    put_cell(cell, text)


def write_tab_book(path, banners: Sequence[Banner], *, sheet_names: Sequence[str] | None = None):
    """Write one or more banners to one workbook: a "Contents" sheet plus one sheet each.

    The contents sheet links to the first row of every row variable of every banner.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    contents = wb.active
    contents.title = "Contents"
    contents["A1"] = "Contents"
    contents["A1"].font = Font(bold=True, size=13)
    crow = 3
    names = list(sheet_names or [])
    while len(names) < len(banners):
        names.append(f"Banner{len(names) + 1}")
    grey = Font(color="999999")
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2F2F2")
    for bn, sheet in zip(banners, names):
        ws = wb.create_sheet(sheet[:31])
        _safe_text(ws.cell(1, 1), bn.title)
        ws.cell(1, 1).font = Font(bold=True, size=13)
        cols = bn.columns
        small = bn.small_base
        # header rows 3-5: by label, category, letter; two Excel columns per banner column
        for j, c in enumerate(cols):
            x = 3 + 2 * j
            _safe_text(ws.cell(3, x), c["by_label"])
            _safe_text(ws.cell(4, x), c["category"])
            ws.cell(5, x + 1, c["letter"])
            for rr in (3, 4, 5):
                ws.cell(rr, x).font = bold
                ws.cell(rr, x).alignment = Alignment(horizontal="center", wrap_text=True)
            if small[j]:
                ws.cell(4, x).font = Font(bold=True, color="999999")
        row = 6
        for b, h in zip(bn.blocks, bn._hidden):
            _safe_text(ws.cell(row, 1), b.label)
            ws.cell(row, 1).font = bold
            for x in range(1, 3 + 2 * len(cols)):
                ws.cell(row, x).fill = fill
            _safe_text(contents.cell(crow, 1), b.label)
            contents.cell(crow, 1).hyperlink = f"#'{ws.title}'!A{row}"
            contents.cell(crow, 1).font = Font(color="0563C1", underline="single")
            contents.cell(crow, 2, ws.title)
            crow += 1
            row += 1
            small_b = b.base_n < bn.min_base
            small_b[0] = False
            base_rows = [(_text(bn.language)["base"], b.base_n, "#,##0")]
            if bn.weighted:
                base_rows += [(_text(bn.language)["wbase"], b.base_w, "#,##0.0"),
                              (_text(bn.language)["ebase"], b.base_eff, "#,##0.0")]
            for lab, vals, fmt in base_rows:
                _safe_text(ws.cell(row, 2), lab)
                for j, v in enumerate(vals):
                    cell = ws.cell(row, 3 + 2 * j, float(v))
                    cell.number_format = fmt
                    cell.font = grey
                row += 1
            for r in range(len(b.stat)):
                _safe_text(ws.cell(row, 2), b.category[r])
                fmt = "0.0" if b.stat[r] in ("pct", "net") else "0.00"
                for j in range(len(cols)):
                    x = 3 + 2 * j
                    if h[r, j]:
                        ws.cell(row, x, f"<{bn.suppress_below}" if h[r, j] == 1 else "x")
                        ws.cell(row, x).alignment = Alignment(horizontal="right")
                        continue
                    v = b.value[r, j]
                    if np.isfinite(v):
                        cell = ws.cell(row, x, float(v))
                        cell.number_format = fmt
                        if small_b[j]:
                            cell.font = grey
                    let = b.letters[r, j]
                    if let:
                        ws.cell(row, x + 1, str(let)).font = Font(color="B5179E", bold=True)
                row += 1
        row += 1
        for note in bn.footnotes:
            _safe_text(ws.cell(row, 1), note)
            ws.cell(row, 1).font = Font(italic=True, color="555555")
            row += 1
        ws.freeze_panes = "C6"
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 24
        for j in range(len(cols)):
            ws.column_dimensions[get_column_letter(3 + 2 * j)].width = 10
            ws.column_dimensions[get_column_letter(4 + 2 * j)].width = 5
    contents.column_dimensions["A"].width = 50
    wb.properties.creator = "survey"
    _save_reproducibly(wb, path)


def _save_reproducibly(wb, path) -> None:
    """Save an openpyxl workbook so the same content gives the same bytes.

    openpyxl stamps the save time into docProps/core.xml and every zip entry; both are
    replaced by a fixed date (2000-01-01).
    """
    import io
    import re
    import zipfile

    buf = io.BytesIO()
    wb.save(buf)
    fixed = b"2000-01-01T00:00:00Z"
    try:
        with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "docProps/core.xml":
                    data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                  rb"\g<1>" + fixed + rb"\g<2>", data)
                zi = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(zi, data)
    except OSError as exc:
        raise AnalysisError(f"cannot write the banner workbook to {path}: {exc}") from exc
