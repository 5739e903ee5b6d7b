"""Regenerate the walkthrough notebooks 01–05 (without outputs) from this script.

    .venv/bin/python notebooks/_build_walkthroughs.py
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent


def nb(name, cells):
    book = nbf.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    out = []
    for i, (kind, src) in enumerate(cells):
        c = nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
        c["id"] = f"{name[:2]}-{i:02d}"
        out.append(c)
    book.cells = out
    nbf.write(book, HERE / f"{name}.ipynb")


SETUP = """import tempfile
from pathlib import Path

import survey as sv
from survey.reporting import library_path

DATA = library_path("data")
WORK = Path(tempfile.mkdtemp(prefix="survey-walkthrough-"))   # scratch files go here"""

nb("01_design_questionnaire", [
    ("md", "# 01 · Design a questionnaire\n\nStart from a template of the library, look at it, "
           "change it, print the paper form and export an XLSForm for ODK/Kobo."),
    ("code", SETUP),
    ("code", "sv.list_templates()"),
    ("code", 'q = sv.load_questionnaire("grassroots_training")\nq'),
    ("md", "Every question knows its labels in each language, its kind and its codes:"),
    ("code", 'q.var_info("necessity", language="en")'),
    ("code", '[(x.name, x.type, x.role) for x in q.questions()]'),
    ("md", "## Change it\n\nThe template is plain YAML: copy it, edit it, load the copy. "
           "Here we add a language-neutral note to the title and drop the fieldwork period."),
    ("code", 'import yaml\n\nsrc = yaml.safe_load(Path(q.source_path).read_text(encoding="utf-8"))\n'
             'src["title"]["en"] = src["title"]["en"] + " (pilot)"\n'
             'mine = WORK / "grassroots_training.yaml"\n'
             'mine.write_text(yaml.safe_dump(src, allow_unicode=True), encoding="utf-8")\n'
             'for inc in Path(q.source_path).parent.glob("blocks"):\n'
             '    import shutil\n'
             '    shutil.copytree(inc, WORK / "blocks", dirs_exist_ok=True)\n'
             'q2 = sv.load_questionnaire(mine)\nq2.text(q2.title, "en")'),
    ("md", "## Paper form and codebook"),
    ("code", 'form = sv.render_questionnaire(q, language="zh-Hant")\n'
             '(WORK / "form.html").write_text(form, encoding="utf-8")\nlen(form)'),
    ("code", "sv.codebook(q)"),
    ("md", "## XLSForm round trip"),
    ("code", 'q.to_xlsform(WORK / "form.xlsx")\nback = sv.read_xlsform(WORK / "form.xlsx")\n'
             '[x.name for x in back.questions()] == [x.name for x in q.questions()]'),
    ("md", "## A household roster and a cascading select\n\n"
           "A **repeat** asks the same questions once per household member; its answers are a "
           "table of their own, linked to the household. A **choice filter** shows only the "
           "districts of the chosen region (`region=${region}`: `region` is a column of the "
           "district choices). Both survive the XLSForm round trip, so the form can be "
           "deployed on ODK or KoboToolbox, and forms made there read back the same way."),
    ("code", 'hh_yaml = """\n'
             'id: household\n'
             'title: {en: Household survey}\n'
             'choice_lists:\n'
             '  region: [{name: north, label: {en: North}}, {name: south, label: {en: South}}]\n'
             '  district:\n'
             '    - {name: d1, label: {en: Hill}, filters: {region: north}}\n'
             '    - {name: d2, label: {en: Lake}, filters: {region: north}}\n'
             '    - {name: d3, label: {en: Coast}, filters: {region: south}}\n'
             '  sex: [{name: "1", label: {en: Male}}, {name: "2", label: {en: Female}}]\n'
             'items:\n'
             '  - {name: region, type: select_one, list: region, label: {en: Region}}\n'
             '  - {name: district, type: select_one, list: district, label: {en: District},\n'
             '     choice_filter: "region=${region}"}\n'
             '  - {name: size, type: integer, label: {en: People in the household}}\n'
             '  - repeat: members\n'
             '    label: {en: Household member}\n'
             '    repeat_count: ${size}\n'
             '    items:\n'
             '      - {name: sex, type: select_one, list: sex, label: {en: Sex}}\n'
             '      - {name: age, type: integer, label: {en: Age}, range: [0, 110]}\n'
             '"""\n'
             '(WORK / "household.yaml").write_text(hh_yaml, encoding="utf-8")\n'
             'hh = sv.load_questionnaire(WORK / "household.yaml")\n'
             '[(g.name, g.repeat) for g in hh.groups()], hh.question("district").choice_filter'),
    ("code", 'hh.to_xlsform(WORK / "household.xlsx")\n'
             'back = sv.read_xlsform(WORK / "household.xlsx")\n'
             'back == hh, [(g.name, g.repeat) for g in back.groups()]'),
    ("md", "On paper the roster is a table with a row per member, and the district question "
           "says that its options depend on the region:"),
    ("code", 'from IPython.display import HTML\n'
             'import re\n\n'
             'page = sv.render_questionnaire(hh, language="en")\n'
             'HTML("".join(re.findall(r"<div class=\'q\' id=\'q-(?:district|members)\'>.*?'
             '</(?:ul|table)>", page, re.S)))'),
    ("md", "### Repeat data\n\nKoboToolbox exports a form with a repeat as an XLSX with one "
           "sheet per repeat (ODK Central: a zip of CSVs). `read_responses` reads both into "
           "linked tables: `s.repeats[\"members\"]`, validated with the same rules, each row "
           "pointing at its household in `_parent_row`."),
    ("code", 'import pandas as pd\n\n'
             'main = pd.DataFrame({"region": ["north", "south", "south"], '
             '"district": ["d1", "d3", "d2"],\n'
             '                     "size": [2, 1, 1], "_id": [11, 12, 13], "_index": [1, 2, 3]})\n'
             'members = pd.DataFrame({"members/sex": ["1", "2", "2", "1"], '
             '"members/age": [44, 41, 130, 70],\n'
             '                        "_index": [1, 2, 3, 4], '
             '"_parent_table_name": "household",\n'
             '                        "_parent_index": [1, 1, 2, 3]})\n'
             'with pd.ExcelWriter(WORK / "household_data.xlsx") as xw:\n'
             '    main.to_excel(xw, sheet_name="household", index=False)\n'
             '    members.to_excel(xw, sheet_name="members", index=False)\n'
             's = sv.read_responses(WORK / "household_data.xlsx", hh)\n'
             's.repeats["members"].data[["sex", "age", "_parent_row"]]'),
    ("md", "The district *Lake* is not in the south (a `choice_filter` problem), and an age "
           "of 130 breaks the range; both are in the validation reports:"),
    ("code", 'pd.concat([s.validation.to_frame(), s.repeats["members"].validation.to_frame()])'
             '[["row", "question", "rule", "message"]]'),
    ("md", "Household size from the roster, one value per household, ready for analysis:"),
    ("code", 's.data.assign(members=s.repeat_summary("members"),\n'
             '              mean_age=s.repeat_summary("members", "age", how="mean"))'
             '[["region", "size", "members", "mean_age"]]'),
])

nb("02_fieldwork_and_ingestion", [
    ("md", "# 02 · Fieldwork and ingestion\n\nResponse rates per unit, reading and validating the "
           "returned forms, the report of problems, and double-entry comparison."),
    ("code", SETUP),
    ("code", 'q = sv.load_questionnaire("grassroots_training")\nsv.response_rates(q)'),
    ("code", "sv.sample_size(margin=0.05, confidence=0.95, population=1447, response_rate=0.915)"),
    ("md", "## Read and validate\n\nEvery problem is collected in one report; no row "
           "disappears without a reason."),
    ("code", 's = sv.read_responses(DATA / "grassroots_training_responses.csv", q)\ns'),
    ("code", "s.validation"),
    ("code", 's.validation.summary(by="rule")'),
    ("code", "s.rejected.head()"),
    ("code", "sv.response_rates(q, s)"),
    ("md", "## Double entry\n\nTwo people key the same forms; `compare_entries` lists every "
           "cell where they disagree."),
    ("code", 'raw = __import__("pandas").read_csv(DATA / "grassroots_training_responses.csv", dtype=str)\n'
             'a = raw.drop_duplicates("respondent_id").head(50)\nb = a.copy()\n'
             'b.loc[b.index[3], "necessity"] = "2"\n'
             'a.to_csv(WORK / "a.csv", index=False)\nb.to_csv(WORK / "b.csv", index=False)\n'
             'sv.compare_entries(WORK / "a.csv", WORK / "b.csv", q)'),
    ("md", "## Keying the paper forms in the browser\n\n"
           "One command starts the data-entry app of the template (on this machine only; "
           "`--host` needs `--token`):\n\n"
           "```\nsurvey entry grassroots_training --db entries.sqlite --lang zh-Hant\n```\n\n"
           "Open http://127.0.0.1:8765/, give your name and the pass (first, or second = blind "
           "re-keying). The form follows the paper form's numbering; type the code, Enter moves "
           "on, questions that do not apply are skipped, and the server judges every field and "
           "the whole form on save with the same rules as `validate`. Below, the same app is "
           "driven from Python with the requests a browser sends, so this notebook runs "
           "anywhere."),
    ("code", 'import re\nimport warnings\n\nwith warnings.catch_warnings():\n'
             '    warnings.simplefilter("ignore")\n'
             '    from starlette.testclient import TestClient\n\n'
             'db = WORK / "entries.sqlite"\n'
             'browser = TestClient(sv.render_entry_app(q, db, language="zh-Hant"))\n\n\n'
             'def start(clerk, pass_):\n'
             '    token = re.search(r\'name="_csrf" value="([^"]+)"\', browser.get("/").text)[1]\n'
             '    browser.post("/start", data={"_csrf": token, "clerk": clerk, "pass": pass_})\n'
             '    return token\n\n\n'
             'def paper(rid, **change):\n'
             '    form = {"respondent_id": rid, "unit": "1", "rank_level": "3", "age_band": "2",\n'
             '            "education": "2", "sex": "1", "grassroots_years": "5", "top_leader": "2",\n'
             '            "posts_held": "3", "necessity": "1", "gains": ["mass_work", "style"],\n'
             '            "att_1": "4", "att_2": "2", "att_3": "3", "att_4": "2", "att_5": "4",\n'
             '            "att_6": "5"}\n'
             '    return {**form, **change}\n\n\n'
             'token = start("王小明", "1")\n'
             'for rid in ("G001", "G002", "G003"):\n'
             '    r = browser.post("/form", data={"_csrf": token, **paper(rid)}, follow_redirects=False)\n'
             '    print(rid, r.status_code, r.headers.get("location"))'),
    ("md", "A form the server refuses is not stored; the page lists the problems in the "
           "template's own words (here what the live check of a field returns):"),
    ("code", 'bad = paper("G004", grassroots_years="50", gains=["mass_work", "style", "closeness"])\n'
             'browser.post("/check", data={"_csrf": token, **bad}).json()["problems"]'),
    ("md", "A second clerk keys the same forms blind; the comparison screen (`/compare`) lists "
           "every disagreement with both values and the question, and `entry_comparison` gives "
           "the same rows as `compare_entries`:"),
    ("code", 'token = start("李四", "2")\n'
             'for rid, change in (("G001", {}), ("G002", {"sex": "2"}), ("G003", {})):\n'
             '    browser.post("/form", data={"_csrf": token, **paper(rid, **change)})\n'
             'sv.entry_comparison(db, q)'),
    ("code", 'token = start("組長", "1")  # the supervisor checks the paper and decides\n'
             'browser.post("/adjudicate", data={"_csrf": token, "respondent_id": "G002",\n'
             '                                  "question": "sex", "choice": "first"})\n'
             'sv.entry_progress(db, q)'),
    ("md", "The database is a response file like any other: `read_responses` reads the "
           "adjudicated (else first-pass) forms through the same validation, and "
           "`survey entry-export grassroots_training --db entries.sqlite -o keyed.sav` writes "
           "SPSS, Stata or CSV."),
    ("code", 'keyed = sv.read_responses(db, q)\nkeyed.data[["respondent_id", "unit", "sex", "gains_mass_work", "gains_style"]]'),
])

nb("03_analysis", [
    ("md", "# 03 · Analysis\n\nFrequencies with confidence intervals, multiple response, "
           "cross-tabs with tests and effect sizes, Likert batteries and reliability, weighting."),
    ("code", SETUP),
    ("code", 'q = sv.load_questionnaire("grassroots_training")\n'
             's = sv.read_responses(DATA / "grassroots_training_responses.csv", q)'),
    ("code", 'sv.frequencies(s, "necessity")'),
    ("code", 'sv.multi_response(s, "gains")'),
    ("code", 'ct = sv.crosstab(s, "necessity", by="rank_level")\nct'),
    ("code", "ct.tests"),
    ("code", "ct.effect_sizes"),
    ("md", "Say it in a sentence (the wording follows the test):"),
    ("code", 'from survey.reporting import findings\n\n'
             'print(findings.describe_crosstab(ct, "en", by_label="rank", category=ct.percent("column").index[0]))\n'
             'print(findings.describe_crosstab(ct, "zh-Hant", by_label="職級"))'),
    ("code", 'items = [f"att_{i}" for i in range(1, 7)]\nsv.likert(s, items=items)'),
    ("code", 'sv.reliability(s, items=items, reverse=["att_2", "att_3", "att_4"])'),
    ("md", "## Charts\n\nThe house theme (Noto Sans CJK for Chinese labels, deterministic SVG); "
           "every chart takes the data first and returns a matplotlib figure."),
    ("code", 'from survey import charts\n\ncharts.set_theme(language="zh-Hant")\n'
             'charts.bar_chart(s, "necessity")'),
    ("code", 'charts.crosstab_chart(s, "necessity", by="rank_level", kind="stacked")'),
    ("code", 'charts.likert_chart(s, items)'),
    ("md", "## Weighting\n\nRake to the seed's population by rank (see the flagship report for "
           "how the seed's five groups map onto the questionnaire's ranks)."),
    ("code", 'from survey.reporting.flagship import SEED_RANK_TOTALS\n\n'
             'targets = {"rank_level": {code: n for _, n, code in SEED_RANK_TOTALS}}\n'
             'w = sv.rake(s, targets=targets)\nw.weights[:5], w.weights.sum()'),
    ("code", 'sv.crosstab(w, "necessity", by="rank_level").tests'),
    ("code", 'sv.adjust_pvalues([0.01, 0.04, 0.03], method="holm")'),
])

nb("04_reporting", [
    ("md", "# 04 · Reporting\n\nRender the flagship report (executed notebook → HTML and PDF), "
           "then change its parameters. The same runs from the shell: "
           "`survey report grassroots_training data/grassroots_training_responses.csv "
           "--notebook grassroots_training --out reports --to html,pdf --lang zh-Hant`."),
    ("code", SETUP),
    ("code", 'r = sv.render_report("grassroots_training", DATA / "grassroots_training_responses.csv",\n'
             '                     notebook="grassroots_training", output_dir=WORK / "reports",\n'
             '                     formats=("html",), language="zh-Hant", progress=False)\n'
             'r, r.timings'),
    ("md", "The manifest records what the report was built from (also printed in its appendix):"),
    ("code", 'import json\n\nm = json.loads(r.manifest.read_text(encoding="utf-8"))\n'
             '{k: m[k] for k in ("questionnaire", "responses", "seed", "packages")}'),
    ("md", "## Change the parameters\n\nThe standard report works for any template: English, "
           "Benjamini–Hochberg instead of Holm, a stricter alpha."),
    ("code", 'r2 = sv.render_report("grassroots_training", DATA / "grassroots_training_responses.csv",\n'
             '                      output_dir=WORK / "reports_en", formats=("html",), language="en",\n'
             '                      parameters={"correction": "BH", "alpha": 0.01}, progress=False)\n'
             'r2.html.stat().st_size > 10_000'),
])

nb("05_anes96_real_data", [
    ("md", "# 05 · Real data: the 1996 American National Election Study\n\n"
           "944 real respondents from the ANES 1996 extract that ships with statsmodels, "
           "described by a small template (`anes96.yaml` beside this notebook)."),
    ("code", SETUP),
    ("code", 'import statsmodels.api as sm\n\n'
             'raw = sm.datasets.anes96.load_pandas().data\n'
             'cols = ["age", "educ", "PID", "TVnews", "selfLR", "vote"]\n'
             'df = raw[cols].astype(int)\n'
             'for c in ["educ", "PID", "selfLR", "vote"]:\n'
             '    df[c] = df[c].astype(str)\n'
             'df.to_csv(WORK / "anes96.csv", index=False)\ndf.head()'),
    ("code", 'q = sv.load_questionnaire(library_path("notebooks", "anes96.yaml"))\n'
             's = sv.read_responses(WORK / "anes96.csv", q)\ns.validation'),
    ("code", 'sv.frequencies(s, "PID")'),
    ("code", 'ct = sv.crosstab(s, "vote", by="PID")\nct.percent("column").round(1)'),
    ("code", 'from survey.reporting import findings\n\n'
             'print(findings.describe_crosstab(ct, "en", by_label="party identification", category="Dole"))'),
    ("code", 'sv.crosstab(s, "vote", by="educ").tests'),
    ("md", "The standard report runs on this template as on any other:"),
    ("code", 'r = sv.render_report(library_path("notebooks", "anes96.yaml"), WORK / "anes96.csv",\n'
             '                     output_dir=WORK / "reports", formats=("html",), language="en",\n'
             '                     progress=False)\nr'),
])
