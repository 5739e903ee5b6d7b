"""Regenerate the report notebooks (report_*.ipynb) from this script.

    .venv/bin/python notebooks/_build_report_notebooks.py

The notebooks stay thin: every cell calls one section of ``survey.reporting.sections.Report``,
so a failing section fails one named cell (``# section: <name>`` on its first line).
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent

PARAMS = '''# Parameters (papermill injects the real values after this cell)
questionnaire = "grassroots_training"   # template file or bundled template id
responses = ""                          # response file
language = "zh-Hant"                    # zh-Hant | zh-Hans | en
title = ""                              # default: the questionnaire's title
organization = ""
banner = None                           # default: the template's demographic variables
weighting = "none"                      # "none" or a rake-targets YAML file
alpha = 0.05
correction = "holm"                     # multiple-comparison correction across the report
suppress_below = 5                      # counts below this are shown as "<5"
seed = 20240101
manifest = {}                           # filled in by render_report'''

SETUP = '''# section: setup
from survey.reporting.sections import Report

rep = Report(questionnaire=questionnaire, responses=responses, language=language, title=title,
             organization=organization, banner=banner, weighting=weighting, alpha=alpha,
             correction=correction, suppress_below=suppress_below, seed=seed, manifest=manifest)'''


def code(src, tags=()):
    c = nbf.v4.new_code_cell(src)
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def notebook(cells, title):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["survey"] = {"report_template": title}
    nb.cells = cells
    for i, c in enumerate(nb.cells):
        c["id"] = f"{title}-{i:02d}"
    return nb


standard = notebook([
    code(PARAMS, ["parameters"]),
    code(SETUP),
    code("# section: cover\nrep.cover()"),
    code("# section: tests (all cross-tabs, adjusted together)\n_ = rep.plan_tests()"),
    code("# section: methods\nrep.methods()"),
    code("# section: data quality\nrep.data_quality()"),
    code("# section: results by questionnaire group\nrep.groups()"),
    code("# section: cross-tabulations\nrep.crosstab_section()"),
    code("# section: appendix\nrep.appendix()"),
], "standard")
nbf.write(standard, HERE / "report_standard.ipynb")

flagship = notebook([
    code(PARAMS.replace('weighting = "none"                      # "none" or a rake-targets YAML file',
                        'weighting = "seed"                      # "seed" (the report\'s rank totals), "none" or a targets YAML'),
         ["parameters"]),
    code('''# section: setup
from survey.reporting.flagship import FlagshipReport

rep = FlagshipReport(questionnaire=questionnaire, responses=responses, language=language,
                     title=title, organization=organization, banner=banner, weighting=weighting,
                     alpha=alpha, correction=correction, suppress_below=suppress_below, seed=seed,
                     manifest=manifest)'''),
    code("# section: cover\nrep.cover()"),
    code("# section: tests (all cross-tabs, adjusted together)\n_ = rep.plan_tests()"),
    code("# section: methods\nrep.methods()\nrep.weighting_section()"),
    code("# section: data quality\nrep.data_quality()"),
    code("# section: respondents\nrep.respondents()"),
    code("# section: necessity by rank and age\nrep.necessity()"),
    code("# section: gains from grassroots experience\nrep.gains()"),
    code("# section: lower-level posts held\nrep.posts()"),
    code("# section: attitudes by rank\nrep.attitudes()"),
    code("# section: all cross-tabulations\nrep.crosstab_section()"),
    code("# section: appendix\nrep.appendix()"),
], "grassroots_training")
nbf.write(flagship, HERE / "report_grassroots_training.ipynb")
