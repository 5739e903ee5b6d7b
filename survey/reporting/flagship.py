"""The flagship report: the analyses of the seed report on training young cadres at the
grassroots (necessity by rank and by age, gains, lower-level posts held, attitudes by rank),
raked to the seed's population totals by rank group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import SurveyError
from ..i18n import table
from . import findings as fd
from .sections import (
    Report,
    heading,
    show_finding,
    show_markdown,
    show_problem,
    show_table,
)
from .texts import t

#: the seed's population (1,447 cadres) by rank group, and where each group goes among the
#: template's rank_level choices (codes): the seed's two groups without a rank of their own
#: are placed at the nearest rank: middle-level cadres (中層幹部) at deputy section level (4),
#: reserve cadres (後備幹部) in "other" (5).
SEED_RANK_TOTALS: tuple[tuple[str, int, str], ...] = (
    ("正縣處級", 113, "1"),
    ("副縣處級", 407, "2"),
    ("正科級", 390, "3"),
    ("中層幹部", 237, "4"),
    ("後備幹部", 300, "5"),
)

_TXT = table("flagship")


def _x(key: str, lang: str, **kw) -> str:
    text = _TXT[key][lang]
    return text.format(**kw) if kw else text


class FlagshipReport(Report):
    """Report of the training-chain survey (template ``grassroots_training``)."""

    def __init__(self, *, weighting: Any = "seed", **kw: Any) -> None:
        self._seed_weighting = weighting == "seed"
        super().__init__(weighting="none" if self._seed_weighting else weighting, **kw)
        if self._seed_weighting:
            self.apply_weighting(self.seed_targets())

    # -- weighting -------------------------------------------------------------------------
    def seed_targets(self) -> dict[str, dict[str, float]]:
        """Rake targets for ``rank_level`` keyed by the category labels used in the data."""
        vi = self.raw_survey.var_info("rank_level")
        by_code = dict(zip(vi.codes, vi.categories))
        targets: dict[str, float] = {}
        for _, total, code in SEED_RANK_TOTALS:
            label = by_code[code]
            targets[label] = targets.get(label, 0) + total
        return {"rank_level": targets}

    def weighting_section(self) -> None:
        lang = self.language
        if not self._seed_weighting:
            return
        heading(_x("weighting", lang), 3, lead=True)
        total = sum(n for _, n, _ in SEED_RANK_TOTALS)
        show_markdown(_x("weighting_text", lang, total=f"{total:,}"), lead=True)
        vi = self.survey.var_info("rank_level", language=lang)
        by_code = dict(zip(vi.codes, vi.categories))
        counts = self.raw_survey.data["rank_level"].value_counts()
        raw_vi = self.raw_survey.var_info("rank_level")
        raw_by_code = dict(zip(raw_vi.codes, raw_vi.categories))
        seed_names = {
            "正縣處級": {"zh-Hans": "正县处级", "en": "County/division head"},
            "副縣處級": {"zh-Hans": "副县处级", "en": "Deputy county/division head"},
            "正科級": {"zh-Hans": "正科级", "en": "Section head"},
            "中層幹部": {"zh-Hans": "中层干部", "en": "Middle-level cadres"},
            "後備幹部": {"zh-Hans": "后备干部", "en": "Reserve cadres"},
        }
        rows = []
        for name, total_n, code in SEED_RANK_TOTALS:
            shown = seed_names[name].get(lang, name)
            rows.append({
                _x("seed_group", lang): shown,
                _x("population", lang): f"{total_n:,}",
                _x("template_cat", lang): by_code.get(code, code),
                _x("sample_n", lang): f"{int(counts.get(raw_by_code.get(code), 0)):,}",
            })
        show_table(pd.DataFrame(rows).set_index(_x("seed_group", lang)), keep=True)
        rep = getattr(self.survey, "weighting", None)
        if rep is not None and hasattr(rep, "_repr_html_"):
            # in the report language from the report's facts (its `notes` are English)
            it = getattr(rep, "iterations", None)
            if it is not None:
                conv = t("converged" if getattr(rep, "converged", True) else "not_converged",
                         lang)
                deff, neff = getattr(rep, "deff_kish", None), getattr(rep, "n_effective", None)
                show_markdown("- " + t(
                    "note_raking", lang, it=it, conv=conv,
                    deff="–" if deff is None else f"{float(deff):.2f}",
                    neff="–" if neff is None else f"{float(neff):,.1f}"))

    # -- analyses ----------------------------------------------------------------------------
    def respondents(self) -> None:
        heading(_x("respondents", self.language))
        for var in self.banner:
            try:
                if self._seed_weighting and var in self.seed_targets():
                    self._respondents_own(var)  # raked: weighted shares = the targets
                else:
                    self.single(var, findings=False)
            except SurveyError as exc:
                show_problem(str(exc), self.language)

    def _respondents_own(self, var: str) -> None:
        """A raked variable as the respondents are (unweighted), and why not weighted."""
        raked = self.survey
        self.survey = self.raw_survey
        try:
            self.single(var, findings=False)
        finally:
            self.survey = raked
        show_markdown(_x("raked_composition", self.language))

    def necessity(self) -> None:
        lang = self.language
        heading(_x("necessity", lang), lead=True)
        fr = self.sv.frequencies(self.survey, "necessity", language=lang)
        vi = self.survey.var_info("necessity", language=lang)
        yes = vi.categories[0]
        heading(self.label("necessity"), 4, lead=True)
        show_table(self._freq_table(fr.to_frame()), notes=self.freq_notes(fr),
                   keep=True)
        show_finding(fd.describe_proportion(fr, yes, lang,
                                            statement=_x("necessity_stmt", lang)))
        if self._seed_weighting:
            self._unweighted_headline("necessity", yes, fr)
        for by in ("rank_level", "age_band"):
            self.crosstab_block("necessity", by, category=yes)

    def _unweighted_headline(self, var: str, category: Any, raked: Any) -> None:
        """The unweighted share beside the raked one, and why they differ."""
        lang = self.language
        raw = self.sv.frequencies(self.raw_survey, var, language=lang).to_frame()
        col, factor = fd._pct_column(raw)
        rcol, rfactor = fd._pct_column(raked.to_frame())
        raw_row = fd._row_for(raw, category)
        raked_row = fd._row_for(raked.to_frame(), category)
        total = sum(n for _, n, _ in SEED_RANK_TOTALS)
        show_finding(_x("unweighted_headline", lang, cat=category,
                        raw=fd.fmt_pct(float(raw_row[col]) * factor),
                        raked=fd.fmt_pct(float(raked_row[rcol]) * rfactor),
                        n=f"{int(pd.to_numeric(raw['n']).sum()):,}", total=f"{total:,}"))

    def crosstab_block(self, var: str, by: str, *, category: Any = None) -> None:
        lang = self.language
        key = (var, by)
        ct = self._crosstabs.get(key) or self.sv.crosstab(self.survey, var, by=by,
                                                                 language=lang)
        heading(f"{self.short_label(var)} × {self.short_label(by)}", 4, lead=True)
        self._shown.add(key)
        pct = ct.percent("column")
        factor = 100.0 if pct.max().max() <= 1.0 else 1.0
        from .sections import suppress_counts

        row = None
        if self.tests is not None and len(self.tests):
            hit = self.tests[(self.tests["var"] == var) & (self.tests["by"] == by)]
            if len(hit):
                row = hit.iloc[0]
        show_table(suppress_counts(pct * factor, ct.unweighted, self.k, tally=self.disclosure),
                   notes=self.crosstab_notes(ct, row), keep=True)
        p_adj = None if row is None else float(row["p_adjusted"])
        show_finding(fd.describe_crosstab(  # under its table, before the chart
            ct, lang, by_label=self.short_label(by), category=category, alpha=self.alpha,
            p_value=p_adj, correction=None if p_adj is None or self.correction == "none"
            else self.correction))
        self.crosstab_figure(var, by)

    def gains(self) -> None:
        heading(_x("gains", self.language))
        self.multiple("gains")

    def posts(self) -> None:
        heading(_x("posts", self.language))
        self.single("posts_held", findings=False)
        self.crosstab_block("posts_held", "rank_level")

    def attitudes(self) -> None:
        heading(_x("attitudes", self.language))
        self.battery("attitude", crosstabs=False)
        for item in [i for i in ("att_1", "att_2", "att_3", "att_4", "att_5", "att_6")
                     if i in self.survey.data.columns]:
            self.crosstab_block(item, "rank_level")


def seed_targets_table(mapping: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The seed's rank totals with the template rank code each is mapped to.

    >>> seed_targets_table()["population"].sum()
    np.int64(1447)
    """
    return pd.DataFrame(
        [{"seed_group": g, "population": n, "rank_level_code": c} for g, n, c in SEED_RANK_TOTALS]
    )


__all__ = ["FlagshipReport", "SEED_RANK_TOTALS", "seed_targets_table", "t"]
