"""What the reader of a standard report reads under a Likert battery: the finding sentence
names the scale's own top answers (a satisfaction grid is not called "agreement"), in every
language, and the numbers it quotes are the table's top-2 shares."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from survey.reporting import sections

TOP2 = {"en": ("Satisfied", "Very satisfied"), "zh-Hant": ("滿意", "非常滿意"),
        "zh-Hans": ("满意", "非常满意")}


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    import survey as sv

    q = sv.load_questionnaire("cadre_work_style")
    path = tmp_path_factory.mktemp("wording") / "cadre.csv"
    sv.synthesize(q, n=150, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture
def shown(monkeypatch):
    out: list[str] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display",
                        lambda obj: out.append(getattr(obj, "data", None) or ""))
    monkeypatch.setattr(sections, "_LEAD", [])
    return out


@pytest.mark.parametrize("lang", ["en", "zh-Hant", "zh-Hans"])
def test_satisfaction_grid_finding_speaks_of_satisfaction(responses, shown, lang):
    import html

    import survey as sv

    rep = sections.Report(questionnaire="cadre_work_style", responses=str(responses),
                          language=lang)
    rep.battery("five_styles", crosstabs=False)
    findings = [html.unescape(re.sub("<[^>]+>", "", h)) for h in shown
                if isinstance(h, str) and "sv-finding" in h]
    top = [f for f in findings if TOP2[lang][1] in f]
    assert len(top) == 1, findings
    sentence = top[0]
    for word in TOP2[lang]:
        assert word in sentence
    for word in ("agree", "Agree", "認同", "认同", "同意"):
        assert word not in sentence
    # the quoted highest share is the largest top-2 share of the items (computed here from the
    # raw answers, independently of likert())
    s = sv.read_responses(responses, sv.load_questionnaire("cadre_work_style"))
    items = ["ws_1", "ws_2", "ws_3", "ws_4", "ws_5"]
    shares = []
    for it in items:
        col = s.data[it]
        valid = col.dropna()
        shares.append(100 * valid.cat.codes.isin([3, 4]).mean())
    best = max(shares)
    assert f"{best:.1f}%" in sentence
    assert sentence.index(f"{best:.1f}%") < sentence.index(f"{min(shares):.1f}%")


def test_a_battery_without_a_shared_labelled_scale_gets_no_top_box_sentence():
    rep = object.__new__(sections.Report)  # only _top_box's inputs matter here

    class Lk:
        items = pd.DataFrame({"var": ["a", "b"], "top2": [40.0, 20.0]})
        distribution = pd.DataFrame(columns=[1, 2, 3, 4, 5])

        def to_frame(self):
            return self.items

    assert rep._top_box(Lk()) is None


@pytest.mark.parametrize("lang, expected", [
    ("zh-Hant", "資料檔共 367 行，接受 365 行，剔除 2 行（{a}、{b}）。"),
    ("en", "The data file has 367 rows: 365 accepted, 2 rejected ({a}; {b})."),
])
def test_cover_says_why_rows_of_the_file_were_not_accepted(shown, lang, expected):
    """367 rows read, 366 returned, 365 valid: the cover names the two rejected rows' reasons
    (a blank form, a keyed-twice duplicate) so the counts reconcile."""
    from pathlib import Path

    import survey as sv
    from survey.reporting.texts import rule_name

    data = Path(__file__).resolve().parents[2] / "data" / "grassroots_training_responses.csv"
    rep = sections.Report(questionnaire="grassroots_training", responses=str(data),
                          language=lang)
    rep.fieldwork_section()
    rejected = sv.read_responses(data, sv.load_questionnaire("grassroots_training")).rejected
    rules = list(dict.fromkeys(rejected["rule"]))
    assert sorted(rules) == ["blank_form", "duplicate_id"]
    item = "{rule} 1 行" if lang != "en" else "{rule}: 1"
    a, b = (item.format(rule=rule_name(r, lang)) for r in rules)
    assert expected.format(a=a, b=b) in "\n".join(str(h) for h in shown)


def test_each_finding_sits_under_its_table_before_the_chart(responses, monkeypatch):
    """Table, sentence, chart: a chart that does not fit moves to the next page whole; a
    sentence printed after it went with it, or was left alone on a page of its own."""
    import IPython.display
    from matplotlib.figure import Figure

    kinds: list[str] = []

    def record(obj):
        data = getattr(obj, "data", None)
        kinds.append("chart" if isinstance(obj, Figure) else
                     "finding" if isinstance(data, str) and "sv-finding" in data else
                     "table" if isinstance(data, str) and "sv-table" in data else "other")

    monkeypatch.setattr(IPython.display, "display", record)
    monkeypatch.setattr(sections, "_LEAD", [])
    rep = sections.Report(questionnaire="cadre_work_style", responses=str(responses),
                          language="en")
    rep.single("complaint")
    assert kinds[:3] == ["table", "finding", "chart"], kinds
    kinds.clear()
    rep.battery("five_styles", crosstabs=False)
    assert kinds[:3] == ["table", "finding", "chart"], kinds
