"""Keying the flagship in Debian's Chromium (Playwright): 20 forms in zh-Hant by keyboard, a
skipped question, a constraint shown and corrected, a multiple choice over its maximum
refused; 5 keyed again blind with 2 planted differences; adjudication; the data read back."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import survey as sv
from survey.entry import EntryStore

from .helpers import start_server

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's Chromium (/usr/bin/chromium) is not installed")
Q = sv.load_questionnaire("grassroots_training")
ORDER = ["respondent_id", "unit", "rank_level", "age_band", "education", "sex",
         "grassroots_years", "top_leader", "top_leader_years", "posts_held", "necessity",
         "gains", "gains_other", "att_1", "att_2", "att_3", "att_4", "att_5", "att_6"]
GAINS = ["mass_work", "closeness", "style", "other"]
AFTER_SKIP = {"top_leader_years", "posts_held", "gains_other", "att_1"}


def paper(i: int) -> dict:
    """Form i as written on paper: codes as the clerk types them, ticked boxes by name."""
    leader = i % 3 != 0  # every third respondent was never a top leader: question 8 skipped
    f = {"respondent_id": f"Q{i:03d}", "unit": str(1 + i % 4), "rank_level": str(1 + i % 5),
         "age_band": str(2 + i % 4), "education": str(1 + i % 3), "sex": str(1 + i % 2),
         "grassroots_years": str(3 + i % 12), "top_leader": "1" if leader else "2",
         "posts_held": str(1 + i % 5), "necessity": str(1 + i % 3),
         "gains": [GAINS[i % 3]] + (["other"] if i % 5 == 0 else []),
         **{f"att_{k}": str(1 + (i + k) % 5) for k in range(1, 7)}}
    if leader:
        f["top_leader_years"] = str(1 + i % 3)
    if "other" in f["gains"]:
        f["gains_other"] = f"見習{i}"
    return f


def canonical(f: dict) -> dict:
    """What the database must hold for a paper form: choice names, boxes in template order."""
    units = ["city", "county", "township", "public_inst"]
    out = {k: v for k, v in f.items() if k != "gains"}
    out["unit"] = units[int(f["unit"]) - 1]
    out["gains"] = " ".join(g for g in GAINS if g in f["gains"])
    return out


def key_form(page, f: dict, *, bad_years=False, over_max=False) -> None:
    """Key one form by keyboard: each answer then Enter ("\\n"), in runs between the points
    where the page waits for the server (a skip) or the test looks at the page."""
    from playwright.sync_api import expect

    typed: list[str] = []

    def flush() -> None:
        if typed:
            page.keyboard.type("".join(typed))
            typed.clear()

    expect(page.locator("#f-respondent_id")).to_be_focused()
    for name in ORDER:
        if name not in f and name not in ("gains_other", "top_leader_years"):
            continue
        if name == "top_leader_years" and f["top_leader"] == "2":
            continue  # the page skipped it: Enter on question 7 went to question 9
        if name == "gains_other" and "gains_other" not in f:
            continue
        if name in AFTER_SKIP:  # the page moves once the server has judged the skip
            flush()
            expect(page.locator(f"#f-{name}")).to_be_focused()
        if name == "gains":
            flush()
            box = page.locator('input[name="gains"]')
            for k, g in enumerate(GAINS):
                if g in f["gains"] or (over_max and g in ("closeness", "style", "mass_work")):
                    box.nth(k).check()
            box.nth(0).focus()
            page.keyboard.press("Enter")
            continue
        if bad_years and name == "grassroots_years":
            flush()
            page.keyboard.type("50\n")
            msg = page.locator('ul.problems[data-for="grassroots_years"] li')
            expect(msg).to_contain_text("請填寫0–40之間的整數")
            page.locator("#f-grassroots_years").fill(f[name])
            page.locator("#f-grassroots_years").focus()
            page.keyboard.press("Enter")
            expect(msg).to_have_count(0)
            continue
        typed.append(f[name] + "\n")
        if name == "top_leader" and f[name] == "2":
            flush()
            expect(page.locator('[data-q="top_leader_years"]')).to_be_hidden()
            expect(page.locator("#f-posts_held")).to_be_focused()
    flush()
    expect(page.locator("#save")).to_be_focused()


def test_key_double_key_adjudicate_and_read_back(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    db = tmp_path / "entries.sqlite"
    proc, url = start_server("grassroots_training", db, "--lang", "zh-Hant")
    shots = Path(os.environ.get("ENTRY_SCREENSHOTS", tmp_path))
    forms = [paper(i) for i in range(20)]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_context(viewport={"width": 1100, "height": 1500}).new_page()
            page.goto(url + "/")
            page.fill("#clerk", "王小明")
            page.click("#start")
            for i, f in enumerate(forms):
                over = i == 4  # a 3rd box ticked on a question allowing 2: refused on save
                key_form(page, f, bad_years=i == 2, over_max=over)
                if i == 2:
                    page.screenshot(path=str(shots / "entry-form-zh-Hant.png"), full_page=True)
                page.keyboard.press("Enter")  # on Save
                if over:
                    expect(page.locator("ul.summary")).to_contain_text("最多允許 2 項")
                    assert EntryStore(db).get(f["respondent_id"], 1) is None
                    for k, g in enumerate(GAINS):
                        page.locator('input[name="gains"]').nth(k).set_checked(g in f["gains"])
                    page.click("#save")
                expect(page.locator("p.info")).to_contain_text(f"已儲存問卷 {f['respondent_id']}")
            page.goto(url + "/form?lang=en")
            expect(page.locator('[data-q="top_leader_years"]')).to_be_hidden()
            page.screenshot(path=str(shots / "entry-form-en.png"), full_page=True)
            page.goto(url + "/form?lang=zh-Hant")

            # second pass, blind, another clerk: 5 forms, 2 keying differences planted
            page.goto(url + "/")
            page.fill("#clerk", "李四")
            page.check('input[name="pass"][value="2"]')
            page.click("#start")
            second = [dict(f) for f in forms[:5]]
            second[1]["sex"] = "2" if second[1]["sex"] == "1" else "1"
            second[3]["grassroots_years"] = "13"
            for f in second:
                # blind: nothing of pass 1 shown (every answer field empty, no box ticked; the
                # page's random CSRF token may well begin with a Q)
                assert page.eval_on_selector_all(
                    "input.fld", "els => els.filter(e => e.type === 'checkbox' ? e.checked"
                    " : e.value !== '').length") == 0
                assert not re.search(r'value="Q\d{3}"', page.content())
                key_form(page, f)
                page.keyboard.press("Enter")
                expect(page.locator("p.info")).to_contain_text(f"已儲存問卷 {f['respondent_id']}")

            page.goto(url + "/compare")
            expect(page.locator("p.warning")).to_contain_text("第二遍為盲錄")  # not for pass 2
            page.goto(url + "/")  # the supervisor compares and decides
            page.fill("#clerk", "組長")
            page.check('input[name="pass"][value="1"]')
            page.click("#start")
            page.goto(url + "/compare")
            rows = page.locator("table.compare tr[data-id]")
            expect(rows).to_have_count(2)
            assert rows.nth(0).get_attribute("data-id") == "Q001"
            expect(rows.nth(0)).to_contain_text("5 您的性別")
            expect(rows.nth(1)).to_contain_text("6 您在基層（鄉鎮、街道、村、社區）工作的年限")
            expect(rows.nth(1)).to_contain_text(forms[3]["grassroots_years"])
            expect(page.locator("p.info").first).to_contain_text("差異 2 處；只錄入第一遍 15 份")
            page.screenshot(path=str(shots / "entry-compare.png"), full_page=True)
            # adjudicate: the paper says the first pass was right for Q001, and for Q003 the
            # clerk types the value read off the paper
            rows.nth(0).locator('button[type="submit"]').click()
            row = page.locator('tr[data-id="Q003"]')
            row.locator('input[value="other"]').check()
            row.locator('input[name="value"]').fill(forms[3]["grassroots_years"])
            row.locator('button[type="submit"]').click()
            expect(page.locator("span.decided")).to_have_count(2)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    decided = EntryStore(db).adjudications()
    assert {k: v["clerk"] for k, v in decided.items()} == {
        ("Q001", "sex"): "組長", ("Q003", "grassroots_years"): "組長"}
    raw = sv.read_raw(db, Q).frame.set_index("respondent_id")
    assert list(raw.index) == [f["respondent_id"] for f in forms]
    for f in forms:
        want = canonical(f)
        got = {k: v for k, v in raw.loc[f["respondent_id"]].items()
               if k in Q and pd.notna(v)}
        assert got == {k: v for k, v in want.items() if k != "respondent_id"}, f
    s = sv.read_responses(db, Q)
    assert len(s.data) == 20 and len(s.rejected) == 0
    assert not s.source.get("entry_notes", [""])[1:]  # no open disagreement left
    if "ENTRY_SCREENSHOTS" in os.environ:
        shutil.copy(db, shots / "entries.sqlite")
