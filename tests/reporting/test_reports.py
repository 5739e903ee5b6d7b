"""The real report notebooks: the standard report of every shipped template and in every language
(HTML; see STANDARD for which pairs are built and what covers the others), the flagship on the
bundled data in PDF (fonts, text, page count) and byte-identical rebuilds.

Each distinct report is built once per session (``shared_build``); the assertions about one
report share that build. The flagship is printed to PDF twice (for determinism); the two
standard reports test_browser.py looks at page by page once (``PRINTED`` in conftest.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import survey as sv
from survey.reporting import library_path, render_report

pytestmark = pytest.mark.slow

LANGS = ("zh-Hant", "zh-Hans", "en")
HEADINGS = {"zh-Hant": ("方法說明", "附錄"), "zh-Hans": ("方法说明", "附录"),
            "en": ("Methods", "Appendix")}
HAS_PDF_TOOLS = shutil.which("chromium") is not None and shutil.which("pdftotext") is not None
FLAGSHIP_DATA = library_path("data") / "grassroots_training_responses.csv"


#: the standard reports built (each once per session, ``standard_report`` in conftest.py):
#: every shipped template in zh-Hant (its own texts and question kinds, in the report's
#: default language) except grassroots_training, which is built in zh-Hans instead (the
#: report test_browser.py prints and loads; its zh-Hant texts are the flagship's), and the
#: English report on a template of our own, "cafe" (tests/reporting/data/cafe.yaml, the one
#: test_browser.py loads and prints; its small cells also exercise the Fisher rule's English
#: wording). Every language is built: the report code's words in each, on the same code and
#: sections. The other template x language pairs would assemble the same report from the
#: same code (the grassroots_training report in English is also built, with other
#: parameters, by the walkthrough 04_reporting in JupyterLab, and 05_anes96_real_data builds
#: one in English on real data); what differs in them is checked without a build: each
#: template's texts exist in every language and its Chinese holds no English word
#: (test_template_texts_exist_in_every_language_without_english_in_chinese), the catalogue's
#: report words (test_report_words_in_chinese_hold_no_english_word), and every message has
#: the same placeholders in every language (test_i18n.py).
STANDARD = [(t, "zh-Hans" if t == "grassroots_training" else "zh-Hant")
            for t in sv.list_templates()] + [("cafe", "en")]
CHINESE = [(t, lang) for t, lang in STANDARD if lang != "en"]


@pytest.mark.parametrize("template, language", STANDARD)
def test_standard_report_builds_for_every_template(template, language, standard_report):
    r = standard_report(template, language)
    html = r.html.read_text(encoding="utf-8")
    q = sv.load_questionnaire(standard_report.source(template))
    title = q.text(q.title, language)
    assert f'<html lang="{language}">' in html
    assert f"<title>{title}</title>" in html
    for h in HEADINGS[language]:
        assert f">{h}<" in html
    assert "<script" not in html and "Traceback" not in html
    assert "sv-finding" in html  # at least one finding sentence
    assert str(r.html.parent) not in html
    # every chart drawn (an SVG per chart), none replaced by a "could not compute" note
    assert html.count("data:image/svg+xml") >= 3
    assert "chart:" not in html and "無法計算" not in html and "无法计算" not in html
    assert "Could not compute" not in html


def test_every_template_and_language_is_built():
    """The matrix above covers every shipped template and every language."""
    assert {t for t, _ in STANDARD} == set(sv.list_templates()) | {"cafe"}
    assert {lang for _, lang in STANDARD} == set(LANGS)


@pytest.fixture(scope="module")
def flagship(shared_build):
    """The flagship on the bundled data (what `make report` builds), twice in different
    directories, HTML and PDF."""
    def build(root):
        kw = dict(notebook="grassroots_training", language="zh-Hant", progress=False)
        a = render_report("grassroots_training", FLAGSHIP_DATA, output_dir=root / "a", **kw)
        b = render_report("grassroots_training", FLAGSHIP_DATA,
                          output_dir=root / "elsewhere" / "deeper", **kw)
        return a, b

    return shared_build("flagship", build)


def test_flagship_rebuild_is_byte_identical(flagship):
    a, b = flagship
    assert a.html.read_bytes() == b.html.read_bytes()
    assert a.pdf.read_bytes() == b.pdf.read_bytes()


def _seed_raked_necessity():
    """Share of 'necessary' after raking rank_level to the seed's population totals,
    computed here through the public API (sv.read_responses, sv.rake, sv.frequencies)."""
    q = sv.load_questionnaire("grassroots_training")
    s = sv.read_responses(FLAGSHIP_DATA, q)
    vi = s.var_info("rank_level")
    label = dict(zip(vi.codes, vi.categories))
    # the seed report's population by rank: 113, 407, 390 at ranks 1-3; its 237 middle-level
    # cadres at rank 4 and 300 reserve cadres under "other" (the report's stated mapping)
    targets = {label["1"]: 113, label["2"]: 407, label["3"]: 390, label["4"]: 237,
               label["5"]: 300}
    fr = sv.frequencies(sv.rake(s, targets={"rank_level": targets}), "necessity").to_frame()
    yes = s.var_info("necessity", language="zh-Hant").categories[0]
    return fr.set_index("category").loc[yes], s, q


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="needs chromium and poppler-utils")
def test_flagship_pdf_fonts_text_and_pages(flagship):
    pdf = flagship[0].pdf
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(re.search(r"\syes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", r) for r in rows)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    row, s, q = _seed_raked_necessity()
    assert q.text(q.title, "zh-Hant") in text
    # known percentages, computed from the data: the weighted share in the findings sentence
    # with its CI, and the valid forms as a share of the returned ones on the cover
    pct = 100 * float(row["pct"]) if float(row["pct"]) <= 1 else float(row["pct"])
    ci = f"95%CI{100 * float(row['ci_low']):.1f}%–{100 * float(row['ci_high']):.1f}%"
    assert f"{pct:.1f}%（{ci}）的受訪者認為年輕幹部到基層鍛煉有必要" in flat
    valid_share = 100 * len(s.data) / q.fieldwork.returned
    assert f"佔回收的{valid_share:.1f}%" in flat
    # returned and valid differ: the cover says by how many and that tables use the valid ones
    assert f"回收問卷中有{q.fieldwork.returned - len(s.data)}份未計為有效問卷" in flat
    assert f"各表的基數均取自{len(s.data)}份有效回收問卷" in flat
    # the unweighted sample count of a rank group (weighting table)
    assert str(int((s.data["rank_level"] == s.var_info("rank_level").categories[0]).sum())) in text
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    assert 6 <= pages <= 40
    assert re.search(rf"1\s*/\s*{pages}", text)


def test_flagship_states_weighting_correction_and_draws_its_charts(flagship):
    html = flagship[0].html.read_text(encoding="utf-8")
    assert "中層幹部" in html and "後備幹部" in html and "1,447" in html
    assert "Holm" in html
    assert "受訪者認為年輕幹部到基層鍛煉有必要" in html
    assert "chart:" not in html and "無法計算" not in html
    # response rates, bars, multiple response, Likert and cross-tab charts
    assert html.count("data:image/svg+xml") >= 10
    assert ", nan)" not in html  # F tests quote both degrees of freedom


#: Latin words a Chinese report may contain: proper names of methods and their authors, as
#: Chinese statistical writing keeps them (Pearson, Fisher, Wilson, Holm, Benjamini–Hochberg,
#: Rao–Scott, Cronbach, Cramér, Kish), "logit" (the interval's name, no common Chinese term)
#: and "raking" (given in brackets after its Chinese name, as the method is known by it)
LATIN_OK = {"pearson", "fisher", "wilson", "holm", "benjamini", "hochberg", "scott",
            "cronbach", "cramér", "kish", "logit", "raking"}


def _english_words(html: str, template: str, language: str) -> list[str]:
    """Latin words of 4+ letters in the text of a report (tags, styles and the appendix with
    the codebook and manifest removed), other than variable and choice names, identifiers
    (with ``_`` or digits) and the allowed names."""
    body = html.split("</head>", 1)[-1]
    appendix = re.search(r"<h2[^>]*>\s*" + HEADINGS[language][1], body)
    assert appendix, "no appendix heading"
    body = body[:appendix.start()]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<img\b[^>]*>", " ", body)
    import html as _html

    text = _html.unescape(re.sub(r"<[^>]+>", " ", body))
    q = sv.load_questionnaire(template)
    names = set()
    for qq in q.questions():
        names.add(qq.name.lower())
    tokens = re.findall(r"[A-Za-zÀ-ÿ][\wÀ-ÿ'’.-]*", text)
    bad = []
    for tok in tokens:
        tok = tok.rstrip(".'’-")
        if "_" in tok or any(ch.isdigit() for ch in tok) or "." in tok:
            continue  # identifiers, file names, versions
        for word in re.split(r"[-'’]", tok):
            if len(word) >= 4 and word.lower() not in LATIN_OK and word.lower() not in names:
                bad.append(word)
    return bad


@pytest.mark.parametrize("template, language", CHINESE)
def test_chinese_standard_report_has_no_english_sentences(template, language, standard_report):
    """Footnotes, methods and data quality are written in the report language (the analysis
    results' own notes are English): no English word outside the short allow-list."""
    r = standard_report(template, language)
    bad = _english_words(r.html.read_text(encoding="utf-8"), template, language)
    assert not bad, sorted(set(bad))


def _latin_words(text: str) -> list[str]:
    """Latin words of 4+ letters in ``text`` other than the allowed names (``{name}``
    placeholders removed)."""
    text = re.sub(r"\{[^{}]*\}", " ", str(text))
    return [w for w in re.findall(r"[A-Za-zÀ-ÿ]{4,}", text) if w.lower() not in LATIN_OK]


def _texts(node, path: str = ""):
    """(path, {language: text}) of every multilingual text in a dumped questionnaire."""
    if isinstance(node, dict):
        if node and set(node) <= set(LANGS):
            yield path, node
            return
        for key, value in node.items():
            if key != "languages":  # the languages' own names ("English")
                yield from _texts(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _texts(value, f"{path}[{i}]")


@pytest.mark.parametrize("template", sv.list_templates())
def test_template_texts_exist_in_every_language_without_english_in_chinese(template):
    """What a standard report of ``template`` shows of the template itself (title, questions,
    answers, groups, fieldwork units) in each language: every text is there in all three
    languages, and its Chinese holds no English word."""
    q = sv.load_questionnaire(template)
    texts = list(_texts(q.model_dump()))
    assert len(texts) > 50
    missing = [(p, t) for p, t in texts
               if set(t) != set(LANGS) or not all(str(v).strip() for v in t.values())]
    assert missing == []
    english = [(p, lang, _latin_words(t[lang])) for p, t in texts for lang in LANGS[:2]
               if _latin_words(t[lang])]
    assert english == []


def test_report_words_in_chinese_hold_no_english_word():
    """The catalogue namespaces the reports take their words from (headings, methods, notes,
    finding sentences, rule names, chart labels) hold no English word in either Chinese."""
    from survey import i18n

    def strings(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                yield from strings(value)
        elif isinstance(node, str):
            yield node

    for lang in LANGS[:2]:
        for namespace in ("report", "finding", "flagship", "rule", "chart"):
            words = i18n.words(namespace, lang)
            assert len(words) > 3, namespace
            bad = {w for s in strings(words) for w in _latin_words(s)}
            assert not bad, (lang, namespace, sorted(bad))


@pytest.mark.parametrize("template, language", [("cadre_work_style", "zh-Hant"),
                                                 ("cafe", "en")])
def test_standard_report_states_and_applies_the_fisher_rule(template, language,
                                                            standard_report):
    """The methods state the small-expected-count rule and how many tables it switched to
    Fisher's exact test; the tests table quotes Fisher for exactly that many tables."""
    import html as _html

    r = standard_report(template, language)
    text = _html.unescape(r.html.read_text(encoding="utf-8"))
    rule, count, cell = {
        "zh-Hant": ("期望次數小於 5，改用 Fisher 精確檢定", r"本報告共 (\d+) 個表使用 Fisher 精確檢定",
                    "Fisher 精確檢定"),
        "en": ("Fisher's exact test when any cell of the table has an expected count below 5",
               r"(\d+) tables of this report use Fisher's test", "Fisher's exact test"),
    }[language]
    assert rule in text
    n = int(re.search(count, text).group(1))
    assert n > 0  # 5-point items by 5 groups of 240 (120) synthetic respondents: small cells
    assert len(re.findall(r"<td>\s*" + re.escape(cell), text)) == n
    assert "B = 2000" in text or "B=2000" in text  # the 5x5 tables use Monte Carlo


def test_flagship_has_no_english_sentences(flagship):
    """The weighted flagship too: footnotes, raking summary and data quality in Chinese."""
    bad = _english_words(flagship[0].html.read_text(encoding="utf-8"), "grassroots_training",
                         "zh-Hant")
    assert not bad, sorted(set(bad))


MR_HEADERS = {"zh-Hant": ("佔受訪者%", "佔回答%"), "zh-Hans": ("占受访者%", "占回答%"),
              "en": ("% of respondents", "% of responses")}


@pytest.mark.parametrize("template, language", STANDARD)
def test_multiple_response_tables_show_both_bases(template, language, standard_report):
    """Every multiple-response table shows % of respondents (the seed's 63.1 % kind of figure)
    beside % of responses, with the respondents' share computed as multi_response does."""
    from survey.reporting.findings import fmt_pct

    r = standard_report(template, language)
    html = r.html.read_text(encoding="utf-8")
    for header in MR_HEADERS[language]:
        assert f">{header}<" in html
    q = sv.load_questionnaire(standard_report.source(template))
    s = sv.read_responses(standard_report.data(template), q)
    multi = [x.name for x in q.questions() if x.type == "select_multiple"]
    assert multi
    for name in multi:
        mr = sv.multi_response(s, name, language=language).to_frame()
        top = mr.sort_values("n", ascending=False).iloc[0]
        assert f">{fmt_pct(float(top['pct']))}<" in html, name
