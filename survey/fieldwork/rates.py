"""Response rates per distribution unit: issued, returned, valid (after screening)."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import _CSS, Result, frame_to_html
from ..errors import SurveyError

_COLUMNS = ["unit", "label", "issued", "returned", "valid", "response_rate", "usable_rate",
            "rows", "flag"]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ResponseRates(Result):
    """Issued, returned and valid questionnaires per distribution unit, plus a total row.

    ``to_frame()`` has one row per unit and a last row with ``unit == "total"``; columns
    ``unit, label, issued, returned, valid, response_rate, usable_rate, rows, flag``:
    ``response_rate = returned / issued`` and ``usable_rate = valid / issued`` (proportions,
    0–1); ``rows`` is the number of data rows of the unit in the file (accepted + rejected)
    when data were given; ``flag`` says when the data and the fieldwork record disagree.
    """

    table: pd.DataFrame
    language: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Response rates"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def total(self) -> pd.Series:
        """The total row."""
        return self.table.iloc[-1]

    @property
    def response_rate(self) -> float:
        return float(self.total["response_rate"])

    @property
    def usable_rate(self) -> float:
        return float(self.total["usable_rate"])

    @property
    def flags(self) -> pd.DataFrame:
        """Units whose data disagree with the fieldwork record."""
        return self.table[self.table["flag"].fillna("") != ""]

    def _summary(self) -> str:
        t = self.total
        valid = "" if pd.isna(t["valid"]) else f", {int(t['valid'])} valid"
        return (f"{int(t['issued'])} issued, {int(t['returned'])} returned "
                f"({100 * t['response_rate']:.1f}%){valid}")

    def _display_frame(self) -> pd.DataFrame:
        out = self.table.copy()
        for c in ("response_rate", "usable_rate"):
            out[c] = (100 * out[c]).round(1)
        out = out.rename(columns={"response_rate": "response %", "usable_rate": "usable %"})
        if out["rows"].isna().all():
            out = out.drop(columns="rows")
        if (out["flag"].fillna("") == "").all():
            out = out.drop(columns="flag")
        return out.set_index("unit")

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.footnotes)
        notes_html = f"<ul class='sv-notes'>{notes}</ul>" if notes else ""
        return (f"{_CSS}<div class='sv-result'><div><b>{html.escape(self.title)}</b>: "
                f"{html.escape(self._summary())}</div>{frame_to_html(self._display_frame())}"
                f"{notes_html}</div>")


def _text(t: Any, language: str | None) -> str:
    if isinstance(t, dict) and t:
        return t.get(language) or next(iter(t.values()))
    return "" if t is None else str(t)


def _unit_codes(values: pd.Series, q, unit_var: str, units: list, language) -> pd.Series:
    """Map a data column (labels, names or raw text) to unit ids."""
    ids = [str(u.id) for u in units]
    lookup: dict[str, str] = {i: i for i in ids}
    for u in units:
        for lab in (u.label or {}).values():
            lookup.setdefault(str(lab), str(u.id))
    info = q.var_info(unit_var) if hasattr(q, "var_info") else None
    if info is not None and info.codes:
        for code, cat in zip(info.codes, info.categories):
            lookup.setdefault(str(cat), str(code))
        try:
            for lang in getattr(getattr(q, "languages", None), "available", {}) or {}:
                li = q.var_info(unit_var, language=lang)
                for code, cat in zip(li.codes, li.categories):
                    lookup.setdefault(str(cat), str(code))
        except Exception:  # noqa: BLE001 - labels in other languages are a convenience
            pass
    s = values.astype(object).where(values.notna(), None)
    s = s.map(lambda v: None if v is None else str(v))
    return s.map(lookup)


def response_rates(q, data=None, *, language: str | None = None) -> ResponseRates:
    """Issued, returned and valid questionnaires per distribution unit and in total.

    Parameters
    ----------
    q : the `Questionnaire` (its ``fieldwork`` block: units with issued and returned).
    data : optional `Survey`, validation result, or DataFrame of accepted rows. Valid
        counts are then the accepted rows per unit (``fieldwork.unit_variable``); without data,
        the template's ``valid`` counts (or NaN).
    language : language of the unit labels (default: the questionnaire's).

    Returns
    -------
    ResponseRates
        ``to_frame()`` one row per unit and a ``total`` row; with data, ``flag`` marks units
        whose rows in the file exceed the returned forms, or whose valid count differs from
        the template's.

    Examples
    --------
    >>> import survey as sv
    >>> r = sv.response_rates(sv.load_questionnaire("grassroots_training"))
    >>> int(r.total["issued"]), int(r.total["returned"]), round(100 * r.response_rate, 1)
    (400, 366, 91.5)
    """
    fw = getattr(q, "fieldwork", None)
    if fw is None:
        raise SurveyError(
            "the questionnaire has no fieldwork block. Hint: add fieldwork: {units: [{id, "
            "issued, returned}, ...]} (or issued/returned totals) to the template.")
    lang = language or getattr(getattr(q, "languages", None), "default", None)
    units = list(getattr(fw, "units", ()) or ())
    notes: list[str] = []
    if units:
        base = pd.DataFrame({
            "unit": [str(u.id) for u in units],
            "label": [_text(u.label, lang) or str(u.id) for u in units],
            "issued": [int(u.issued) for u in units],
            "returned": [int(u.returned) for u in units],
            "valid": [np.nan if u.valid is None else float(u.valid) for u in units],
        })
    else:
        if fw.issued is None or fw.returned is None:
            raise SurveyError("fieldwork needs units or issued/returned totals to compute rates")
        base = pd.DataFrame(columns=["unit", "label", "issued", "returned", "valid"])
    base["rows"] = np.nan
    base["flag"] = ""
    tmpl_valid = base["valid"].copy()

    unit_var = getattr(fw, "unit_variable", None)
    frames = _data_frames(data)
    total_valid = np.nan if fw.valid is None else float(fw.valid)
    if frames is not None:
        accepted, rejected = frames
        total_valid = float(len(accepted))
        if units and unit_var and unit_var in accepted.columns:
            acc_units = _unit_codes(accepted[unit_var], q, unit_var, units, lang)
            valid = acc_units.value_counts()
            base["valid"] = base["unit"].map(valid).fillna(0).astype(float)
            rows = valid.copy()
            if rejected is not None and unit_var in rejected.columns and len(rejected):
                rej_units = _unit_codes(rejected[unit_var], q, unit_var, units, lang)
                rows = rows.add(rej_units.value_counts(), fill_value=0)
            base["rows"] = base["unit"].map(rows).fillna(0).astype(float)
            unknown = int(acc_units.isna().sum())
            if unknown:
                notes.append(f"{unknown} accepted rows have no known unit in '{unit_var}'")
            over = base["rows"] > base["returned"]
            base.loc[over, "flag"] = (
                "rows in the file (" + base.loc[over, "rows"].astype(int).astype(str)
                + ") exceed returned forms (" + base.loc[over, "returned"].astype(str) + ")")
            differ = tmpl_valid.notna() & (tmpl_valid != base["valid"]) & ~over
            base.loc[differ, "flag"] = (
                "template says " + tmpl_valid[differ].astype(int).astype(str)
                + " valid, data have " + base.loc[differ, "valid"].astype(int).astype(str))
        elif units:
            notes.append("valid per unit unknown: the data have no unit column"
                         + (f" '{unit_var}'" if unit_var else "")
                         + "; only the total is computed")
            base["valid"] = np.nan

    issued = int(base["issued"].sum()) if units else int(fw.issued)
    returned = int(base["returned"].sum()) if units else int(fw.returned)
    if units and fw.issued is not None and fw.issued != issued:
        notes.append(f"fieldwork.issued ({fw.issued}) differs from the sum over units ({issued})")
    if units and fw.returned is not None and fw.returned != returned:
        notes.append(f"fieldwork.returned ({fw.returned}) differs from the sum over units "
                     f"({returned})")
    if units and base["valid"].notna().all() and frames is None:
        total_valid = float(base["valid"].sum())
    total = pd.DataFrame({
        "unit": ["total"], "label": ["total"], "issued": [issued], "returned": [returned],
        "valid": [total_valid],
        "rows": [base["rows"].sum() if base["rows"].notna().any() else np.nan],
        "flag": [""],
    })
    if frames is not None and units and base["rows"].notna().any():
        total_rows = frames[0].shape[0] + (0 if frames[1] is None else frames[1].shape[0])
        total.loc[0, "rows"] = float(total_rows)
        if total_rows > returned:
            total.loc[0, "flag"] = f"rows in the file ({total_rows}) exceed returned ({returned})"
    table = pd.concat([base, total], ignore_index=True) if len(base) else total
    table["issued"] = table["issued"].astype("int64")
    table["returned"] = table["returned"].astype("int64")
    table["valid"] = table["valid"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["response_rate"] = table["returned"] / table["issued"].where(table["issued"] > 0)
        table["usable_rate"] = table["valid"] / table["issued"].where(table["issued"] > 0)
    table = table[_COLUMNS]
    notes.insert(0, "response rate = returned / issued; usable rate = valid / issued "
                    "(valid = accepted after screening).")
    return ResponseRates(table=table, language=lang, notes=tuple(notes))


def _data_frames(data):
    """(accepted, rejected or None) from a Survey, ValidationResult or DataFrame."""
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        return data, None
    acc = getattr(data, "data", None)
    if isinstance(acc, pd.DataFrame):
        rej = getattr(data, "rejected", None)
        return acc, rej if isinstance(rej, pd.DataFrame) else None
    raise SurveyError(f"data must be a Survey, a validation result or a DataFrame, "
                      f"got {type(data).__name__}")
