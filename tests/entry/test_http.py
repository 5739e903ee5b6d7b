"""HTTP-level contract of the data-entry app (Starlette TestClient)."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from starlette.testclient import TestClient

import survey as sv
from survey.cli import main
from survey.entry import EntryStore, entry_comparison, entry_progress, render_entry_app

from .helpers import login, problems_in, small_template, without_csrf

FLAGSHIP = sv.load_questionnaire("grassroots_training")


def flagship_form(rid: str, **change) -> dict:
    form = {"respondent_id": rid, "unit": "1", "rank_level": "3", "age_band": "2",
            "education": "2", "sex": "1", "grassroots_years": "5", "top_leader": "1",
            "top_leader_years": "2", "posts_held": "3", "necessity": "1",
            "gains": ["mass_work", "style"], "att_1": "4", "att_2": "2", "att_3": "3",
            "att_4": "2", "att_5": "4", "att_6": "5"}
    form.update(change)
    return {k: v for k, v in form.items() if v is not None}


@pytest.fixture()
def flagship(tmp_path):
    db = tmp_path / "entries.sqlite"
    client = TestClient(render_entry_app(FLAGSHIP, db, language="zh-Hant"))
    token = login(client, clerk="王小明")
    return client, token, db


def test_posting_a_form_stores_it_with_who_when_and_pass(flagship):
    client, token, db = flagship
    r = client.post("/form", data={"_csrf": token, **flagship_form("A001")},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/form?saved=A001"
    [form] = EntryStore(db).forms()
    assert (form["respondent_id"], form["pass"], form["clerk"]) == ("A001", 1, "王小明")
    assert form["created_at"].endswith("+00:00")
    # canonical raw form: choice names, a multiple choice as space-separated names
    assert form["data"]["unit"] == "city" and form["data"]["gains"] == "mass_work style"
    created = [h for h in EntryStore(db).history("A001") if h["action"] == "create"]
    assert {h["question"] for h in created} == set(form["data"])
    assert "已儲存問卷 A001" in client.get("/form?saved=A001").text


def test_refused_form_returns_the_problems_and_stores_nothing(flagship):
    client, token, db = flagship
    bad = flagship_form("A002", grassroots_years="50", necessity="9",
                        gains=["mass_work", "style", "closeness"])
    r = client.post("/form", data={"_csrf": token, **bad}, follow_redirects=False)
    assert r.status_code == 422
    found = problems_in(r.text)
    # the template's own constraint message in the chosen language, then the engine's
    assert any(p.startswith("6: 請填寫0–40之間的整數") for p in found), found
    assert any("「9」不是「necessity」的有效代碼" in p for p in found), found
    assert any("「gains」勾選了 3 項，最多允許 2 項" in p for p in found), found
    assert EntryStore(db).forms() == []
    # what the clerk typed is kept on the page
    assert 'name="grassroots_years" value="50"' in r.text


def test_warnings_need_the_clerks_confirmation(flagship):
    client, token, db = flagship
    form = flagship_form("A003", rank_level=None)  # required, left blank on paper
    r = client.post("/form", data={"_csrf": token, **form}, follow_redirects=False)
    assert r.status_code == 422 and "必答題「rank_level」未作答" in r.text
    assert 'name="_confirm"' in r.text and EntryStore(db).forms() == []
    r = client.post("/form", data={"_csrf": token, "_confirm": "1", **form},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "rank_level" not in EntryStore(db).get("A003", 1)["data"]


def test_duplicate_id_refused_within_a_pass_but_not_across_passes(flagship):
    client, token, db = flagship
    data = {"_csrf": token, **flagship_form("A004")}
    assert client.post("/form", data=data, follow_redirects=False).status_code == 303
    r = client.post("/form", data=data, follow_redirects=False)
    assert r.status_code == 422
    assert any("問卷 A004 在本遍已錄入（錄入員：王小明）" in p for p in problems_in(r.text))
    login(client, clerk="李", pass_=2)
    assert client.post("/form", data=data, follow_redirects=False).status_code == 303
    assert [(f["respondent_id"], f["pass"]) for f in EntryStore(db).forms()] == [
        ("A004", 1), ("A004", 2)]


@pytest.mark.parametrize("how", ["missing", "wrong", "foreign_origin"])
def test_csrf_refused(flagship, how):
    client, token, db = flagship
    data = {"_csrf": token, **flagship_form("A005")}
    headers = {}
    if how == "missing":
        del data["_csrf"]
    elif how == "wrong":
        data["_csrf"] = "x" + token
    else:
        headers = {"Origin": "http://evil.example"}
    r = client.post("/form", data=data, headers=headers, follow_redirects=False)
    assert r.status_code == 403 and "已拒絕" in r.text
    assert client.post("/check", data=data, headers=headers).status_code == 403
    assert EntryStore(db).forms() == []


def test_labels_are_escaped_and_scripts_blocked(tmp_path):
    q, _ = small_template(tmp_path, label="<script>alert(1)</script>",
                          yes="<img src=x onerror='alert(2)'>")
    client = TestClient(render_entry_app(q, tmp_path / "e.sqlite"))
    login(client)
    r = client.get("/form")
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "&lt;img src=x onerror=&#x27;alert(2)&#x27;&gt;" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"


def test_plain_html_form_named_after_the_variables(flagship):
    client, _, _ = flagship
    page = client.get("/form").text
    assert '<form method="post" action="/form"' in page
    for name in ("respondent_id", "unit", "grassroots_years", "top_leader_years", "att_6",
                 "gains_other"):
        assert f'name="{name}"' in page
    boxes = re.findall(r'<input type="checkbox" class="fld" name="gains" value="([a-z_]+)"', page)
    assert boxes == ["mass_work", "closeness", "style", "other"]
    # paper numbering and wording in the chosen language
    assert '<span class="num">6.</span> 您在基層（鄉鎮、街道、村、社區）工作的年限' in page
    assert "(最多選 2 項)" in page
    en = client.get("/form?lang=en").text
    assert '<span class="num">6.</span> Years you have worked at the grassroots' in html.unescape(
        en)


def test_relevance_and_live_check_by_the_server(flagship):
    client, token, _ = flagship
    no = client.post("/check", data={"_csrf": token, **flagship_form("A006", top_leader="2",
                                                                    top_leader_years=None)})
    assert "top_leader_years" in no.json()["hidden"]
    yes = client.post("/check", data={"_csrf": token, **flagship_form(
        "A006", grassroots_years="99")}).json()
    assert "top_leader_years" not in yes["hidden"]
    [p] = [p for p in yes["problems"] if p["question"] == "grassroots_years"]
    assert p["rule"] == "constraint" and p["message"].startswith("請填寫0–40之間的整數")


def test_correcting_a_form_keeps_the_history_and_refuses_a_stale_edit(flagship):
    client, token, db = flagship
    client.post("/form", data={"_csrf": token, **flagship_form("A007")})
    page = client.get("/form?id=A007").text
    assert 'name="_version" value="1"' in page and 'name="grassroots_years" value="5"' in page
    edit = {"_csrf": token, "_version": "1", "_edit_id": "A007",
            **flagship_form("A007", grassroots_years="7")}
    assert client.post("/form", data=edit, follow_redirects=False).status_code == 303
    stale = dict(edit, grassroots_years="8")
    r = client.post("/form", data=stale, follow_redirects=False)
    assert r.status_code == 422 and "問卷 A007 已被他人更新" in r.text
    assert EntryStore(db).get("A007", 1)["data"]["grassroots_years"] == "7"
    changes = [(h["question"], h["old"], h["new"], h["action"])
               for h in EntryStore(db).history("A007") if h["action"] == "edit"]
    assert changes == [("grassroots_years", "5", "7", "edit")]


def _key_two_passes(client, token, db):
    for rid in ("B1", "B2", "B3"):
        client.post("/form", data={"_csrf": token, **flagship_form(rid)})
    login(client, clerk="李", pass_=2)
    client.post("/form", data={"_csrf": token, **flagship_form("B1")})
    client.post("/form", data={"_csrf": token, **flagship_form("B2", sex="2")})
    client.post("/form", data={"_csrf": token, **flagship_form(
        "B3", gains=["mass_work"], att_4="3")})
    return EntryStore(db)


def test_the_second_pass_is_blind(flagship):
    client, token, db = flagship
    client.post("/form", data={"_csrf": token, **flagship_form("D1", grassroots_years="13")})
    login(client, clerk="李", pass_=2)
    form = without_csrf(client.get("/form").text)
    assert "D1" not in form and 'value="13"' not in form and 'href="/compare"' not in form
    assert client.get("/form?id=D1").text.count('value="13"') == 0  # pass 1's copy not opened
    r = client.get("/compare")
    assert r.status_code == 403 and "第二遍為盲錄" in r.text and "D1" not in without_csrf(r.text)
    r = client.post("/adjudicate", data={"_csrf": token, "respondent_id": "D1",
                                         "question": "sex", "choice": "first"})
    assert r.status_code == 403 and EntryStore(db).adjudications() == {}


def test_comparison_screen_lists_what_compare_entries_finds(flagship, tmp_path):
    client, token, db = flagship
    store = _key_two_passes(client, token, db)
    login(client, clerk="組長", pass_=1)
    page = client.get("/compare").text
    assert "差異 3 處；只錄入第一遍 0 份，只錄入第二遍 0 份" in page
    shown = set(re.findall(r'<tr data-id="([^"]+)" data-q="([^"]+)">', page))
    assert shown == {("B2", "sex"), ("B3", "gains"), ("B3", "att_4")}
    # independently: each pass written to CSV and compared by the existing command's engine
    for p in (1, 2):
        pd.DataFrame([f["data"] for f in store.forms(p)]).to_csv(tmp_path / f"p{p}.csv",
                                                                 index=False)
    cmp = sv.compare_entries(tmp_path / "p1.csv", tmp_path / "p2.csv", FLAGSHIP)
    assert set(zip(cmp.disagreements["respondent_id"], cmp.disagreements["question"])) == shown
    assert set(zip(entry_comparison(db, FLAGSHIP).disagreements["respondent_id"],
                   entry_comparison(db, FLAGSHIP).disagreements["question"])) == shown
    # both values and the paper form's question text
    row = re.search(r'<tr data-id="B3" data-q="att_4">(.*?)</tr>', page).group(1)
    assert "12.4 您是否同意以下說法？ – 到基層鍛煉往往流於形式" in row
    assert "<td>2 不同意</td><td>3 一般</td>" in row


def test_adjudication_is_stored_with_who_and_read_back(flagship):
    client, token, db = flagship
    _key_two_passes(client, token, db)
    login(client, clerk="組長", pass_=1)
    r = client.post("/adjudicate", data={"_csrf": token, "respondent_id": "B2",
                                         "question": "sex", "choice": "second"},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/adjudicate", data={"_csrf": token, "respondent_id": "B3",
                                         "question": "gains", "choice": "other",
                                         "value": "1 3 2"}, follow_redirects=False)
    assert r.status_code == 422 and "最多允許 2 項" in r.text  # judged like any answer
    d = EntryStore(db).adjudications()
    assert d[("B2", "sex")]["value"] == "2" and d[("B2", "sex")]["clerk"] == "組長"
    assert "由 組長 於" in client.get("/compare").text
    s = sv.read_responses(db, FLAGSHIP)
    assert list(s.data["respondent_id"]) == ["B1", "B2", "B3"]
    assert str(s.data.set_index("respondent_id").loc["B2", "sex"]) == "女"
    notes = " ".join(s.source["entry_notes"])
    assert "2 disagreements between the passes are not adjudicated yet" in notes
    prog = entry_progress(db, FLAGSHIP).to_frame().set_index("unit")
    assert prog.loc["city", ["returned", "keyed", "double_keyed",
                             "disagreements_open"]].tolist() == [92, 3, 3, 2]
    assert prog.loc["total", "keyed"] == 3 and prog.loc["total", "returned"] == 366


def test_entry_export_writes_the_usual_files(flagship, tmp_path, capsys):
    client, token, db = flagship
    for rid in ("C1", "C2"):
        client.post("/form", data={"_csrf": token, **flagship_form(rid)})
    out = tmp_path / "out.csv"
    assert main(["entry-export", "grassroots_training", "--db", str(db), "-o", str(out)]) == 0
    back = pd.read_csv(out)
    assert list(back["respondent_id"]) == ["C1", "C2"] and len(back.columns) > 15
    assert "2 accepted" in capsys.readouterr().out


def test_non_local_bind_refused_without_token(tmp_path, capsys):
    _, path = small_template(tmp_path)
    db = tmp_path / "e.sqlite"
    assert main(["entry", str(path), "--db", str(db), "--host", "0.0.0.0"]) == 1
    err = capsys.readouterr().err
    assert "--host 0.0.0.0: expected 127.0.0.1" in err and "add --token" in err
    from survey.entry.app import require_token

    for host in ("127.0.0.1", "::1", "localhost"):
        require_token(host, None)
    require_token("0.0.0.0", "s3cret")


def test_token_from_the_environment_stays_out_of_the_command_line(tmp_path, capsys,
                                                                  monkeypatch):
    """SURVEY_ENTRY_TOKEN stands for --token (which ``ps`` shows to every user)."""
    import survey.entry.app as app

    _, path = small_template(tmp_path)
    served = {}
    monkeypatch.setattr(app, "serve", lambda *a, **kw: served.update(kw))
    monkeypatch.setenv("SURVEY_ENTRY_TOKEN", "from-env")
    args = ["entry", str(path), "--db", str(tmp_path / "e.sqlite"), "--host", "0.0.0.0"]
    assert main(args) == 0
    assert served["token"] == "from-env" and served["host"] == "0.0.0.0"
    assert "?token=from-env" in capsys.readouterr().out
    assert main([*args, "--token", "flag"]) == 0 and served["token"] == "flag"  # flag wins
    monkeypatch.delenv("SURVEY_ENTRY_TOKEN")
    assert main(args) == 1
    assert "set SURVEY_ENTRY_TOKEN=SECRET" in capsys.readouterr().err


def test_token_protects_every_page(tmp_path):
    q, _ = small_template(tmp_path)
    client = TestClient(render_entry_app(q, tmp_path / "e.sqlite", token="s3cret"))
    assert client.get("/").status_code == 401
    assert client.get("/form?token=wrong").status_code == 401
    r = client.get("/?token=s3cret", follow_redirects=False)
    assert r.status_code == 303 and "entry_token" in r.headers["set-cookie"]
    assert client.get("/").status_code == 200


def test_a_second_template_cannot_reuse_the_database(tmp_path):
    q, _ = small_template(tmp_path)
    db = tmp_path / "e.sqlite"
    render_entry_app(q, db)
    with pytest.raises(sv.SurveyError, match="expected a database of template 'grassroots"):
        render_entry_app(FLAGSHIP, db)
    (tmp_path / "not.sqlite").write_text("hello")
    with pytest.raises(sv.SurveyError, match="expected an SQLite entry database"):
        render_entry_app(q, tmp_path / "not.sqlite")


def test_a_language_the_template_lacks_is_refused(tmp_path, capsys):
    q, path = small_template(tmp_path)  # en and zh-Hant only
    with pytest.raises(sv.SurveyError, match=r"expected one of the template's languages "
                                             r"\(en, zh-Hant\)"):
        render_entry_app(q, tmp_path / "e.sqlite", language="zh-Hans")
    client = TestClient(render_entry_app(q, tmp_path / "e.sqlite", language="zh-TW"))
    login(client)
    assert "小型錄入測試" in client.get("/form").text
    assert "Small entry test" in client.get("/form?lang=en").text
    assert "Small entry test" in client.get("/form?lang=fr").text  # unknown: stays as it was


def test_numbers_are_those_of_the_paper_form():
    from survey.entry.form import EntryForm

    paper = sv.render_questionnaire(FLAGSHIP, language="zh-Hant")
    printed = dict(re.findall(
        r"id='q-(\w+)'><div class='stem'><span class='num'>(\d+)\.</span>", paper))
    form = EntryForm(FLAGSHIP)
    keyed = {b.item.name: str(b.number) for b in form.blocks if b.number is not None}
    assert len(printed) == 12 and keyed == printed


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_entry_export_spss_and_stata(flagship, tmp_path, suffix):
    client, token, db = flagship
    client.post("/form", data={"_csrf": token, **flagship_form("E1", sex="2")})
    out = tmp_path / f"out{suffix}"
    assert main(["entry-export", "grassroots_training", "--db", str(db), "-o", str(out)]) == 0
    back = pd.read_spss(out) if suffix == ".sav" else pd.read_stata(out)
    assert list(back["respondent_id"]) == ["E1"] and str(back["sex"].iloc[0]) == "女"


def test_correcting_cannot_change_the_form_number(flagship):
    client, token, db = flagship
    client.post("/form", data={"_csrf": token, **flagship_form("F1")})
    edit = {"_csrf": token, "_version": "1", "_edit_id": "F1", **flagship_form("F2")}
    r = client.post("/form", data=edit, follow_redirects=False)
    assert r.status_code == 422 and "修改問卷 F1 時不能更改編號" in r.text
    assert [f["respondent_id"] for f in EntryStore(db).forms()] == ["F1"]
