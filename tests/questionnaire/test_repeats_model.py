"""Repeats and choice filters in what people see: paper form and codebook (issue 11)."""

import re

from survey.questionnaire import Questionnaire, codebook, render_questionnaire


def household(count="${n}"):
    return Questionnaire.from_dict({
        "id": "hh", "title": {"en": "Households"},
        "choice_lists": {
            "sex": [{"name": "1", "label": {"en": "Male"}}, {"name": "2", "label": {"en": "Female"}}],
            "state": [{"name": "wa", "label": {"en": "Washington"}},
                      {"name": "tx", "label": {"en": "Texas"}}],
            "county": [{"name": "king", "label": {"en": "King"}, "filters": {"state": "wa"}},
                       {"name": "king", "label": {"en": "King"}, "filters": {"state": "tx"}},
                       {"name": "cameron", "label": {"en": "Cameron"}, "filters": {"state": "tx"}}]},
        "items": [
            {"name": "n", "type": "integer", "label": {"en": "People"}},
            {"name": "state", "type": "select_one", "list": "state", "label": {"en": "State"}},
            {"name": "county", "type": "select_one", "list": "county", "label": {"en": "County"},
             "choice_filter": "state=${state}"},
            {"repeat": "members", "label": {"en": "Member"}, "repeat_count": count, "items": [
                {"name": "mname", "type": "text", "label": {"en": "Name"}},
                {"name": "sex", "type": "select_one", "list": "sex", "label": {"en": "Sex"}}]},
            {"name": "remarks", "type": "text", "label": {"en": "Remarks"}}]})


def roster(html: str) -> str:
    return re.search(r"<div class='q' id='q-members'>.*?</table></div>", html, re.S).group(0)


def test_paper_form_prints_a_repeat_as_a_roster_table_with_blank_rows():
    html = render_questionnaire(household(), language="en")
    table = roster(html)
    assert "<span class='num'>4.</span>Member" in table and "one row per Member" in table
    assert re.findall(r"<th>([^<]+)", table) == ["No.", "Name", "Sex"]
    assert "1=Male 2=Female" in table
    assert table.count("<tr><td class='box-cell'>") == 6  # repeat_count ${n}: a few rows
    # the roster's questions are columns, not numbered questions; numbering goes on
    assert "id='q-mname'" not in html and "<span class='num'>5.</span>Remarks" in html
    assert roster(render_questionnaire(household("3"), language="en")).count(
        "<tr><td class='box-cell'>") == 3


def test_paper_form_says_a_cascading_select_depends_on_the_parent():
    html = render_questionnaire(household(), language="en")
    county = re.search(r"<div class='q' id='q-county'>.*?</ul>", html, re.S).group(0)
    assert "options for the chosen “State” (Question 2)" in county
    assert county.count("King") == 1 and "King <span class='how'>[wa, tx]</span>" in county
    zh = Questionnaire.from_dict({**household().to_dict(), "languages": {
        "default": "zh-Hans", "available": {"zh-Hans": {"name": "简体中文"}, "en": {"name": "English"}}}})
    assert "按所选" in render_questionnaire(zh, language="zh-Hans")


def test_codebook_names_the_repeat_and_the_choice_filter():
    frame = codebook(household()).to_frame()
    assert frame.loc["sex", "repeat"] == "members" and frame.loc["n", "repeat"] == ""
    assert frame.loc["county", "choice_filter"] == "state=${state}"
    assert frame.loc["county", "values"] == "king = King; cameron = Cameron"
