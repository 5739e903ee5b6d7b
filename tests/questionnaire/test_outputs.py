"""Codebook (frame, markdown, DDI), the paper form, the notebook outline and the CLI."""

import xml.etree.ElementTree as ET

import pytest

import survey as sv
from survey.cli import main
from survey.questionnaire import codebook, load_questionnaire, render_questionnaire

NS = {"d": "ddi:codebook:2_5"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire("grassroots_training")


def test_codebook_frame(q):
    frame = codebook(q, language="en").to_frame()
    assert list(frame.index[:3]) == ["respondent_id", "unit", "rank_level"]
    assert frame.loc["necessity", "values"] == "1 = Necessary; 2 = Not necessary; 3 = Hard to say"
    assert frame.loc["gains", "values"].startswith("1 (mass_work) = Ability to do mass work")
    assert frame.loc["gains", "columns"] == "gains_mass_work gains_closeness gains_style gains_other"
    assert frame.loc["top_leader_years", "skip_logic"] == "Asked if top_leader is “Yes”"
    assert frame.loc["rank_level", "label_zh-Hans"] == "您的职级"
    assert frame.loc["rank_level", "measure"] == "ordinal"
    assert frame.loc["grassroots_years", "measure"] == "scale"
    assert frame.loc["att_2", "reverse"] and frame.loc["att_2", "grid"] == "attitude"
    assert frame.loc["unit", "missing"].startswith("-99 = No answer; -88 = Skipped")


def test_codebook_renders(q):
    cb = sv.codebook(q)
    assert repr(cb) == "<Codebook: grassroots_training, 19 variables>"
    assert "| necessity | 您認為年輕幹部到基層鍛煉有沒有必要？ |" in cb.to_markdown()
    assert "<table>" in cb.to_html() and "有必要" in cb.to_html()


def test_ddi_minimal_elements(q):
    root = ET.fromstring(codebook(q).to_ddi().encode("utf-8"))
    assert root.tag == "{ddi:codebook:2_5}codeBook" and root.get("version") == "2.5"
    titl = root.find("d:stdyDscr/d:citation/d:titlStmt/d:titl", NS)
    assert titl.get(XML_LANG) == "zh-Hant" and "培養鏈" in titl.text
    rate = root.find("d:stdyDscr/d:method/d:anlyInfo/d:respRate", NS).text
    assert rate.startswith("366 of 400 questionnaires returned (91.5%)")
    assert root.find("d:fileDscr/d:fileTxt/d:dimensns/d:varQnty", NS).text == str(
        len(q.data_columns()))
    grp = root.find("d:dataDscr/d:varGrp[@type='multipleResp']", NS)
    assert grp.get("var") == "gains_mass_work gains_closeness gains_style gains_other"
    var = root.find("d:dataDscr/d:var[@name='necessity']", NS)
    assert {lab.get(XML_LANG) for lab in var.findall("d:labl", NS)} == {"zh-Hant", "zh-Hans", "en"}
    cats = var.findall("d:catgry", NS)
    assert [c.find("d:catValu", NS).text for c in cats] == ["1", "2", "3", "-99", "-88", "-77"]
    assert [c.get("missing") for c in cats][-3:] == ["Y", "Y", "Y"]
    assert var.find("d:varFormat", NS).get("type") == "numeric"
    assert root.find("d:dataDscr/d:var[@name='top_leader_years']/d:universe", NS).text == \
        "Asked if top_leader is “Yes”"
    # child order of var follows the DDI 2.5 sequence
    order = [c.tag.split("}")[1] for c in var]
    assert order.index("labl") < order.index("qstn") < order.index("catgry") < \
        order.index("varFormat")


def test_paper_form_zh_hant(q):
    page = render_questionnaire(q, language="zh-Hant")
    assert page.startswith("<!DOCTYPE html>") and "<html lang='zh-Hant'>" in page
    assert "Noto Sans CJK TC" in page and "@page { size: A4" in page
    n_top, n_years, n_posts = (page.index(f"id='q-{x}'") for x in
                               ("top_leader", "top_leader_years", "posts_held"))
    assert n_top < n_years < n_posts
    assert "若選「否」，請跳至第 9 題" in page          # top_leader is question 7, posts_held 9
    assert "第 7 題選「是」者回答" in page
    assert "最多選 2 項" in page
    assert "<table class='grid'>" in page and page.count("<span class='box'></span>") > 50
    assert "http" not in page.replace("http://www.w3.org", "")  # self-contained


def test_paper_form_other_languages(q):
    en = render_questionnaire(q, language="en")
    assert "<html lang='en'>" in en and "If “No”, go to question 9" in en
    assert "choose at most 2" in en
    hans = render_questionnaire(q, language="zh-Hans")
    assert "Noto Sans CJK SC" in hans and "若选“否”，请跳至第 9 题" in hans


def test_outline_and_repr(q):
    out = q._repr_html_()
    assert "grassroots_training" in out and "366 of 400 returned" in out
    assert "if ${top_leader} = &#x27;1&#x27;" in out
    assert repr(q) == ("<Questionnaire grassroots_training v2008030101: 19 questions, "
                       "languages zh-Hant, zh-Hans, en>")


def test_cli(tmp_path, capsys):
    assert main(["xlsform", "grassroots_training", str(tmp_path / "f.xlsx")]) == 0
    assert sv.read_xlsform(tmp_path / "f.xlsx") == load_questionnaire("grassroots_training")
    assert main(["codebook", "grassroots_training", "--format", "ddi", "-o",
                 str(tmp_path / "c.xml")]) == 0
    assert (tmp_path / "c.xml").read_text(encoding="utf-8").startswith("<?xml")
    assert main(["form", "grassroots_training", "--lang", "en", "-o",
                 str(tmp_path / "f.html")]) == 0
    assert "If “No”, go to question 9" in (tmp_path / "f.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: X\nitems:\n  - {name: a, type: integr}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["codebook", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 4, column 15, item 'a', key 'type': expected a question type" in err
