"""The `Survey` container: responses, their questionnaire, weights and design.

A `Survey` is frozen: transforms (raking, filtering, recoding) return a new one. Analysis
functions accept a `Survey` or a plain DataFrame (see :func:`as_survey`).

Data conventions (every stage relies on them):

* A single-choice question is a pandas ``Categorical`` whose categories are the choice labels in
  the questionnaire's default language, in template order (``ordered=True`` for ordered lists).
  ``VarInfo.codes`` gives the choice names (stored codes) in the same order.
* A multiple-choice question ``q`` is stored as one nullable boolean column per option,
  named ``q_<choice name>`` (``<NA>`` when the question was not answered); ``VarInfo.columns``
  lists them in choice order.
* A missing answer is ``NaN``/``<NA>``; *why* it is missing (skipped, no answer, invalid mark)
  is kept in ``Survey.missing``: same index, one column per question, holding the missing code
  (its kind and label are in ``Survey.missing_scheme``), ``<NA>`` where answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from .design import Design


@dataclasses.dataclass(frozen=True)
class VarInfo:
    """What the analysis needs to know about one question, in one language."""

    name: str
    label: str
    kind: str  # "single" | "multi" | "numeric" | "text" | "date" | "other"
    categories: tuple[str, ...] = ()  # labels, in order (single and multi)
    codes: tuple[str, ...] = ()  # choice names (stored codes), same order as categories
    ordered: bool = False
    columns: tuple[str, ...] = ()  # data columns: (name,) or one per option for multi
    measure: str = "nominal"  # nominal | ordinal | scale


@dataclasses.dataclass(frozen=True)
class DesignSpec:
    """How the sample was drawn (R's ``svydesign`` arguments, by column name)."""

    strata: str | None = None
    psu: tuple[str, ...] = ()  # one column per stage; () = each row its own PSU
    fpc: tuple[str, ...] = ()  # one column per stage: population counts or fractions
    nest: bool = False
    lonely_psu: str = "fail"  # R's options(survey.lonely.psu): fail|remove|adjust|average|certainty
    replicates: Any = None  # ReplicateSpec (core.replicates) for replicate-weight designs

    @property
    def is_complex(self) -> bool:
        return bool(self.strata or self.psu or self.fpc or self.replicates is not None)


@dataclasses.dataclass(frozen=True, eq=False)
class Survey:
    """Responses plus everything needed to analyse them correctly.

    Attributes
    ----------
    data : DataFrame of accepted rows (typed; see the module docstring).
    questionnaire : the `Questionnaire` the data was read against, or ``None``.
    weight : name of the weight column in ``data``, or ``None`` (unweighted).
    design : `DesignSpec` (strata, PSUs, fpc), or an empty one (simple random sample).
    validation : `ValidationReport` of the ingestion, or ``None``.
    rejected : rows not accepted, with a ``reason`` column.
    missing : missing-reason codes per cell (see module docstring), or ``None``.
    weighting : `WeightingReport` of the last weighting step, or ``None``.
    calibration : calibration steps applied to the weights (used for variance), oldest first.
    source : provenance (path, sha256, encoding, platform, rows read ...).
    language : language for labels (BCP-47 tag), default: the questionnaire's default.
    repeats : repeat-group data as linked tables: ``{repeat name: Survey}``; each row of a
        repeat's ``data`` names its parent row (the index label in the parent's ``data``) in
        ``_parent_row``. See `repeat_summary`.
    """

    data: pd.DataFrame
    questionnaire: Any = None
    weight: str | None = None
    design: DesignSpec = dataclasses.field(default_factory=DesignSpec)
    validation: Any = None
    rejected: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    missing: pd.DataFrame | None = None
    weighting: Any = None
    calibration: tuple[Any, ...] = ()
    source: dict = dataclasses.field(default_factory=dict)
    language: str | None = None
    repeats: dict = dataclasses.field(default_factory=dict)

    # ---------------------------------------------------------------------------------
    @classmethod
    def from_dask(cls, ddf, *, weight: str | None = None, strata: str | None = None,
                  psu: str | Sequence[str] | None = None, fpc=None, nest: bool = False,
                  lonely_psu: str = "fail", questionnaire=None, language: str | None = None,
                  replicate_weights: str | Sequence[str] | None = None,
                  replicate_type: str | None = None, rho: float | None = None,
                  scale: float | None = None, rscales: Sequence[float] | float | None = None,
                  mse: bool | None = None, combined_weights: bool = True):
        """A Survey whose rows stay in a Dask DataFrame (``dask.dataframe``): frequencies,
        multi_response, mean, total, proportions, crosstab (Rao-Scott), banner and rake run
        on per-partition statistics and give the in-memory results (see docs/scale.md); the
        design options, replicate weights included, are those of `from_frame`. Dask is
        imported only here."""
        from .distributed import from_dask

        return from_dask(ddf, weight=weight, strata=strata, psu=psu, fpc=fpc, nest=nest,
                         lonely_psu=lonely_psu, questionnaire=questionnaire, language=language,
                         replicate_weights=replicate_weights, replicate_type=replicate_type,
                         rho=rho, scale=scale, rscales=rscales, mse=mse,
                         combined_weights=combined_weights)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        weight: str | None = None,
        strata: str | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        questionnaire: Any = None,
        language: str | None = None,
        probs: str | None = None,
        replicate_weights: str | Sequence[str] | None = None,
        replicate_type: str | None = None,
        rho: float | None = None,
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        mse: bool | None = None,
        combined_weights: bool = True,
    ) -> Survey:
        """Wrap a DataFrame, optionally with weights and a complex design (no template needed).

        >>> import pandas as pd
        >>> s = Survey.from_frame(pd.DataFrame({"x": [1, 2, 3], "pw": [2.0, 2.0, 4.0]}), weight="pw")
        >>> s.weights.tolist()
        [2.0, 2.0, 4.0]

        Replicate-weight designs (R ``svrepdesign``): ``replicate_weights`` is a list of
        columns or a regular expression, ``replicate_type`` one of JK1, JKn, BRR, Fay,
        bootstrap, SDR, ACS, other, with ``rho`` (Fay), ``scale``, ``rscales``, ``mse`` and
        ``combined_weights`` as R; ``weight`` is the full-sample weight (see
        ``survey.core.replicates``).
        """
        df = _own_frame(df)
        if replicate_weights is not None:
            return cls._replicate_frame(
                df, weight=weight, strata=strata, psu=psu, fpc=fpc, probs=probs,
                replicate_weights=replicate_weights, replicate_type=replicate_type, rho=rho,
                scale=scale, rscales=rscales, mse=mse, combined_weights=combined_weights,
                questionnaire=questionnaire, language=language)
        if replicate_type is not None:
            raise AnalysisError("replicate_type= needs replicate_weights= (the replicate weight "
                                "columns, or a regular expression matching them)")
        psu_t = _as_tuple(psu)
        fpc_t = _as_tuple(fpc)
        for col in [weight, strata, *psu_t, *fpc_t]:
            if col is not None and col not in df.columns:
                hint = did_you_mean(col, df.columns)
                raise AnalysisError(
                    f"design column '{col}' is not in the data"
                    + (f"; {hint}" if hint else f"; columns are {list(df.columns)[:12]}")
                )
        if lonely_psu not in {"fail", "remove", "adjust", "average", "certainty"}:
            raise AnalysisError(
                f"lonely_psu must be one of fail, remove, adjust, average, certainty; got {lonely_psu!r}"
            )
        if weight is not None:
            w = pd.to_numeric(df[weight], errors="coerce")
            if w.isna().any() or (w < 0).any():
                bad = int((w.isna() | (w < 0)).to_numpy().argmax())
                raise AnalysisError(
                    f"weight column '{weight}' must hold non-negative numbers; row {bad} holds "
                    f"{df[weight].iloc[bad]!r}. Hint: fill or drop rows without a weight first."
                )
        if weight is None and (probs is not None or fpc_t):
            # R svydesign: weights = 1/probs, or (no weights, no probs) prod_k N_k / n_k from fpc
            from .design import fpc_weights

            if probs is not None:
                if probs not in df.columns:
                    raise AnalysisError(f"probs column '{probs}' is not in the data")
                pr = pd.to_numeric(df[probs], errors="coerce").to_numpy(dtype=float)
                if np.isnan(pr).any() or (pr <= 0).any() or (pr > 1).any():
                    raise AnalysisError(
                        f"probs column '{probs}' must hold selection probabilities in (0, 1]"
                    )
                wts = 1.0 / pr
            else:
                wts = fpc_weights(df, strata=strata, psu=psu_t, fpc=fpc_t, nest=nest)
            weight = "_design_weight"
            df = df.assign(**{weight: wts})
        spec = DesignSpec(strata=strata, psu=psu_t, fpc=fpc_t, nest=nest, lonely_psu=lonely_psu)
        return cls(data=df, weight=weight, design=spec, questionnaire=questionnaire, language=language)

    @classmethod
    def _replicate_frame(cls, df, *, weight, strata, psu, fpc, probs, replicate_weights,
                         replicate_type, questionnaire, language, **options) -> Survey:
        from .replicates import replicate_spec

        if strata is not None or psu is not None or fpc is not None or probs is not None:
            raise AnalysisError(
                "a replicate-weight design takes the weight and the replicate weights only; "
                "strata/psu/fpc/probs describe a Taylor design. Hint: drop them (the replicate "
                "weights already carry the design), or use sv.as_replicate() on a Taylor design")
        if weight is None:
            raise AnalysisError("a replicate-weight design needs weight= (the full-sample weight "
                                "column) beside replicate_weights=")
        base = cls.from_frame(df, weight=weight)
        spec = replicate_spec(df, replicate_weights, type=replicate_type, **options)
        return base.replace(design=DesignSpec(replicates=spec), questionnaire=questionnaire,
                            language=language)

    def replace(self, **changes: Any) -> Survey:
        """A copy with some fields changed (the original is untouched)."""
        return dataclasses.replace(self, **changes)

    # --- weights and design -----------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """The weight of each row as float64 (ones when unweighted)."""
        if self.weight is None:
            return np.ones(len(self.data))
        return self.data[self.weight].to_numpy(dtype=float)

    @property
    def is_weighted(self) -> bool:
        return self.weight is not None

    @property
    def has_design(self) -> bool:
        """True when design-based inference applies (weights, strata, clusters or fpc)."""
        return self.weight is not None or self.design.is_complex or bool(self.calibration)

    def design_info(self) -> Design:
        """The numeric design (codes, weights, fpc per stage) for variance estimation."""
        from .design import Design

        return Design.from_survey(self)

    # --- metadata -----------------------------------------------------------------------
    def var_info(self, var: str, *, language: str | None = None) -> VarInfo:
        """Describe ``var`` (labels in ``language``), from the questionnaire or the data."""
        lang = language or self.language
        q = self.questionnaire
        if q is not None and hasattr(q, "var_info"):
            info = q.var_info(var, language=lang)
            if info is not None:
                return info
        return infer_var_info(self.data, var)

    def label(self, var: str, *, language: str | None = None) -> str:
        return self.var_info(var, language=language).label

    @property
    def missing_scheme(self):
        """The `MissingScheme`: missing codes and their kinds per question (from the
        questionnaire; the defaults -99 no answer, -88 skipped, -77 invalid otherwise)."""
        from .missing import MissingScheme

        return MissingScheme.from_questionnaire(self.questionnaire)

    def repeat_summary(self, repeat: str, var: str | None = None, *, how: str = "count",
                       where=None) -> pd.Series:
        """One value per row of ``data`` from its rows in a repeat (e.g. household size).

        ``how``: ``count`` (rows; no ``var``), ``count_answered``, ``sum``, ``mean``, ``min``,
        ``max`` of ``var``; ``any``/``all`` of a boolean ``where`` mask over the repeat's
        rows (e.g. ``where=s.repeats["members"].data.age < 5``). A parent without repeat
        rows gets 0 for counts and sums, and NaN (not 0) for ``mean``/``min``/``max``; one whose
        rows all lack ``var`` gets NaN.
        """
        from ..errors import AnalysisError, did_you_mean

        if repeat not in self.repeats:
            hint = did_you_mean(repeat, self.repeats) or \
                f"repeats: {', '.join(self.repeats) or 'none (no repeat data was read)'}"
            raise AnalysisError(f"no repeat table named {repeat!r}; {hint}")
        child = self.repeats[repeat].data
        hows = ("count", "count_answered", "sum", "mean", "min", "max", "any", "all")
        if how not in hows:
            raise AnalysisError(f"how={how!r}: expected one of {', '.join(hows)}")
        key = child["_parent_row"]
        if how == "count":
            out = key.value_counts()
        elif how in ("any", "all"):
            mask = pd.Series(where, index=child.index).fillna(False).astype(bool)
            out = mask.groupby(key).agg(how)
        else:
            if var is None or var not in child.columns:
                hint = did_you_mean(str(var), child.columns) or "name a column of the repeat"
                raise AnalysisError(f"how={how!r} needs var=, a column of repeat {repeat!r}; "
                                    f"found {var!r}; {hint}")
            col = child[var]
            if how == "count_answered":
                out = col.notna().groupby(key).sum()
            else:
                values = pd.to_numeric(col, errors="coerce")
                if values.notna().sum() < col.notna().sum():
                    raise AnalysisError(f"{how} of {var!r} in repeat {repeat!r}: expected "
                                        "numbers, found text; use how='count_answered'")
                # a parent whose rows all lack the value: NaN (unknown), not 0
                out = values.groupby(key).agg(how, **({"min_count": 1} if how == "sum"
                                                      else {}))
        fill = 0 if how in ("count", "count_answered", "sum") else (
            False if how == "any" else True if how == "all" else np.nan)
        name = f"{repeat}_{how}" + (f"_{var}" if var and how not in ("count",) else "")
        return out.reindex(self.data.index, fill_value=fill).rename(name)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        q = getattr(self.questionnaire, "id", None)
        parts = [f"{len(self.data)} rows"]
        if q:
            parts.append(f"questionnaire {q!r}")
        if self.weight:
            parts.append(f"weight {self.weight!r}")
        if self.design.is_complex:
            parts.append("complex design")
        if len(self.rejected):
            parts.append(f"{len(self.rejected)} rejected")
        return f"<Survey: {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self))
        body = self.data.head(10).to_html(max_cols=12)
        return f"<div><b>{head}</b>{body}</div>"

    # --- writers (implemented in survey.ingest.write) -----------------------------------
    def to_spss(self, path, **options):
        from ..ingest.write import to_spss

        return to_spss(self, path, **options)

    def to_stata(self, path, **options):
        from ..ingest.write import to_stata

        return to_stata(self, path, **options)

    def to_parquet(self, path, **options):
        from ..ingest.write import to_parquet

        return to_parquet(self, path, **options)

    def to_csv(self, path, **options):
        from ..ingest.write import to_csv

        return to_csv(self, path, **options)

    def to_excel(self, path, **options):
        from ..ingest.write import to_excel

        return to_excel(self, path, **options)


def _own_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A frame the caller's later edits of ``df`` cannot reach: with copy-on-write (pandas 3)
    a shallow copy is free and the caller's next write copies on their side; without it the
    data are copied. A Survey whose rows changed under it after its design was cached would
    mix old and new numbers silently."""
    cow = int(pd.__version__.split(".")[0]) >= 3 or bool(
        getattr(pd.options.mode, "copy_on_write", False))
    return df.copy(deep=not cow)


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def as_survey(obj: Survey | pd.DataFrame, *, weight: str | None = None) -> Survey:
    """Accept a `Survey` or a plain DataFrame; ``weight`` overrides the Survey's weight."""
    if isinstance(obj, Survey):
        if weight is not None and weight != obj.weight:
            if weight not in obj.data.columns:
                raise AnalysisError(f"weight column '{weight}' is not in the data")
            return obj.replace(weight=weight)
        return obj
    if isinstance(obj, pd.DataFrame):
        return Survey.from_frame(obj, weight=weight)
    if type(obj).__name__ == "DaskSurvey":
        raise AnalysisError(
            "this analysis does not run on a Dask-backed Survey (yet); on Dask: sv.mean, "
            "sv.total, sv.proportions, sv.crosstab, sv.frequencies, sv.multi_response, sv.banner, "
            "sv.rake (see docs/scale.md). Hint: "
            "collect a sample or a subset into pandas and use Survey.from_frame.")
    raise AnalysisError(f"expected a Survey or a pandas DataFrame, got {type(obj).__name__}")


def infer_var_info(data: pd.DataFrame, var: str) -> VarInfo:
    """VarInfo from the data alone (no questionnaire): categoricals keep their order."""
    if var not in data.columns:
        prefix = [c for c in data.columns if str(c).startswith(f"{var}_")]
        if prefix and all(_is_boolish(data[c]) for c in prefix):
            return VarInfo(
                name=var,
                label=var,
                kind="multi",
                categories=tuple(str(c)[len(var) + 1 :] for c in prefix),
                codes=tuple(str(c)[len(var) + 1 :] for c in prefix),
                columns=tuple(prefix),
            )
        hint = did_you_mean(var, data.columns)
        raise AnalysisError(
            f"variable '{var}' is not in the data" + (f"; {hint}" if hint else "")
        )
    s = data[var]
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = tuple(str(c) for c in s.cat.categories)
        ordered = bool(s.cat.ordered)
        return VarInfo(
            name=var, label=var, kind="single", categories=cats, codes=cats, ordered=ordered,
            columns=(var,), measure="ordinal" if ordered else "nominal",
        )
    if pd.api.types.is_bool_dtype(s):
        return VarInfo(name=var, label=var, kind="single", categories=("False", "True"),
                       codes=("False", "True"), columns=(var,))
    if pd.api.types.is_numeric_dtype(s):
        return VarInfo(name=var, label=var, kind="numeric", columns=(var,), measure="scale")
    if pd.api.types.is_datetime64_any_dtype(s):
        return VarInfo(name=var, label=var, kind="date", columns=(var,), measure="scale")
    values = sorted({str(v) for v in s.dropna().unique()})
    return VarInfo(name=var, label=var, kind="single", categories=tuple(values),
                   codes=tuple(values), columns=(var,))


def _is_boolish(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return True
    vals = pd.unique(s.dropna())
    return len(vals) <= 2 and set(np.asarray(vals, dtype=object).tolist()) <= {0, 1}


def category_codes(survey: Survey, var: str, *, language: str | None = None,
                   narrow: bool = False) -> tuple[np.ndarray, VarInfo]:
    """Integer codes 0..k-1 of a single-choice variable (-1 = missing) and its `VarInfo`.

    Codes index ``VarInfo.categories``. Non-categorical columns are matched to categories
    by their string value. ``narrow=True``: a categorical column's codes in their own small
    integer type, as a read-only view (no 8-byte copy per row; mind overflow in arithmetic).
    """
    info = survey.var_info(var, language=language)
    s = survey.data[info.columns[0]] if info.columns else survey.data[var]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.array.codes  # read-only view (s.cat.codes builds a Series: a copy)
        if len(s.cat.categories) != len(info.categories):
            # data categories differ from the template list: map by position of label/code
            lookup = {c: i for i, c in enumerate(info.categories)}
            lookup.update({c: i for i, c in enumerate(info.codes)})
            remap = np.array([lookup.get(str(c), -1) for c in s.cat.categories] + [-1])
            codes = remap[codes]
        if narrow:
            codes = codes.view()
            codes.flags.writeable = False
            return codes, info
        return codes.astype(np.int64), info
    lookup = {c: i for i, c in enumerate(info.codes)}
    lookup.update({c: i for i, c in enumerate(info.categories)})
    as_str = s.astype("string")
    codes = as_str.map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    return codes, info
