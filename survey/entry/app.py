"""The data-entry web app (Starlette): `render_entry_app(q, db)`.

Security: every POST carries a per-browser CSRF token (double submit: an HttpOnly,
SameSite=Strict cookie and a hidden field that must match) and, when the browser sends an
``Origin``, it must be this server. With a ``token`` every request needs it (once as
``?token=…``, then a cookie). Responses carry a strict Content-Security-Policy (no inline
script or style), so a label cannot run code even if escaping were missed.
"""

from __future__ import annotations

import hmac
import os
import secrets
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

from ..errors import format_problem
from ._text import language_of, word
from .form import EntryForm
from .pages import esc, form_page, page, question_text, readable, shown_value, top_bar
from .store import DuplicateForm, EntryError, EntryStore

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
           "Cache-Control": "no-store"}
CSRF_COOKIE, TOKEN_COOKIE = "entry_csrf", "entry_token"


def _static(name: str) -> str:
    return resources.files("survey.entry").joinpath("static", name).read_text(encoding="utf-8")


class _Entry:
    """What every request needs: the template, its form, the store and the settings."""

    def __init__(self, q: Any, db: Any, *, language: str | None, token: str | None):
        import hashlib

        from ..ingest.read import _load

        self.q = _load(q)
        self.form = EntryForm(self.q)
        sha = hashlib.sha256(repr(self.q.to_dict()).encode("utf-8")).hexdigest()
        self.store = db if isinstance(db, EntryStore) else EntryStore(
            db, template_id=str(self.q.id), template_sha256=sha)
        self.languages = {language_of(t) for t in self.q.languages.available} or {
            language_of(self.q.default_language)}
        self.language = language_of(language or self.q.default_language)
        if self.language not in self.languages:
            raise EntryError(format_problem(
                where=f"language {language!r}",
                expected=f"one of the template's languages ({', '.join(sorted(self.languages))})",
                hint="the form shows the template's own wording; add that language to the "
                     "template first"))
        self.token = token

    def lang(self, request) -> str:
        """The screen language: ``?lang=`` or the cookie, when the template has it."""
        for tag in (request.query_params.get("lang"), request.cookies.get("entry_lang")):
            if tag and language_of(tag) in self.languages:
                return language_of(tag)
        return self.language


def render_entry_app(questionnaire: Any, db: str | os.PathLike | EntryStore, *,
                     language: str | None = None, token: str | None = None):
    """The data-entry web app of ``questionnaire`` storing into the SQLite file ``db``.

    Parameters
    ----------
    questionnaire : a `Questionnaire`, a template path or name.
    db : the entry database (created when absent; WAL mode).
    language : the screen language (default: the template's); ``?lang=`` switches it.
    token : when given, every request must present it (``?token=…`` once, then a cookie).

    Returns
    -------
    starlette.applications.Starlette
        Serve it with uvicorn (`survey entry` does), or drive it with
        ``starlette.testclient.TestClient`` in tests.
    """
    from starlette.applications import Starlette
    from starlette.routing import Route

    e = _Entry(questionnaire, db, language=language, token=token)

    def route(fn):
        async def endpoint(request):
            return await fn(e, request)
        return endpoint

    routes = [
        Route("/", route(_home), methods=["GET"]),
        Route("/start", route(_start), methods=["POST"]),
        Route("/form", route(_form_get), methods=["GET"]),
        Route("/form", route(_form_post), methods=["POST"]),
        Route("/check", route(_check), methods=["POST"]),
        Route("/compare", route(_compare), methods=["GET"]),
        Route("/adjudicate", route(_adjudicate), methods=["POST"]),
        Route("/static/{name}", route(_asset), methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.entry = e
    return app


# --- guards -------------------------------------------------------------------------------
def _respond(body: str, *, status: int = 200, request=None, lang: str | None = None):
    from starlette.responses import HTMLResponse

    resp = HTMLResponse(body, status_code=status, headers=HEADERS)
    if request is not None:
        _set_cookies(resp, request, lang)
    return resp


def _set_cookies(resp, request, lang: str | None) -> None:
    if not request.cookies.get(CSRF_COOKIE):
        resp.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
    if lang and request.query_params.get("lang"):
        resp.set_cookie("entry_lang", lang, samesite="strict")


def _redirect(url: str):
    from starlette.responses import RedirectResponse

    return RedirectResponse(url, status_code=303, headers=HEADERS)


def _authorised(e: _Entry, request):
    """None when the request may go on, else the response refusing it."""
    request.state.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    if e.token is None:
        return None
    given = request.query_params.get("token")
    if given is not None and hmac.compare_digest(given.encode(), e.token.encode()):
        resp = _redirect(request.url.path)
        resp.set_cookie(TOKEN_COOKIE, e.token, httponly=True, samesite="strict")
        return resp
    cookie = request.cookies.get(TOKEN_COOKIE, "")
    if hmac.compare_digest(cookie.encode(), e.token.encode()):
        return None
    lang = e.lang(request)
    return _respond(page(word("app", lang), f"<p class='error'>{esc(word('token', lang))}</p>",
                         language=lang), status=401)


async def _posted(e: _Entry, request):
    """The posted fields as {name: [values]} and a refusal response when CSRF fails."""
    refused = _authorised(e, request)
    if refused is not None:
        return None, refused
    form = await request.form()
    posted: dict[str, list[str]] = {}
    for k, v in form.multi_items():
        posted.setdefault(k, []).append(v if isinstance(v, str) else "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = (posted.get("_csrf") or [""])[0]
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    ok = bool(cookie) and hmac.compare_digest(cookie.encode(), field.encode()) and (
        origin is None or origin == own)
    if not ok:
        lang = e.lang(request)
        return None, _respond(page(word("app", lang),
                                   f"<p class='error'>{esc(word('forbidden', lang))}</p>",
                                   language=lang), status=403)
    return posted, None


def _context(e: _Entry, request):
    """(refusal or None, language, clerk, pass) of a GET request."""
    refused = _authorised(e, request)
    clerk, pass_ = _clerk(request)
    return refused, e.lang(request), clerk, pass_


def _clerk(request) -> tuple[str | None, int]:
    name = unquote(request.cookies.get("entry_clerk", "")).strip() or None
    pass_ = 2 if request.cookies.get("entry_pass") == "2" else 1
    return name, pass_


# --- pages --------------------------------------------------------------------------------
async def _asset(e: _Entry, request):
    from starlette.responses import Response

    name = request.path_params["name"]
    types = {"entry.js": "text/javascript", "entry.css": "text/css"}
    if name not in types:
        return Response("not found", status_code=404, headers=HEADERS)
    return Response(_static(name), media_type=types[name],
                    headers={**HEADERS, "Cache-Control": "max-age=3600"})


async def _home(e: _Entry, request):
    from starlette.concurrency import run_in_threadpool

    from .data import entry_progress

    refused, lang, clerk, pass_ = _context(e, request)
    if refused is not None:
        return refused
    prog = await run_in_threadpool(entry_progress, e.store, e.q, language=lang)
    head = "".join(f"<th>{esc(word(k, lang))}</th>" for k in
                   ("unit", "returned", "keyed", "double_keyed", "open"))
    rows = "".join(
        f"<tr><td>{esc(r.label)}</td><td>{esc(_int(r.returned))}</td><td>{r.keyed}</td>"
        f"<td>{r.double_keyed}</td><td>{r.disagreements_open}</td></tr>"
        for r in prog.table.itertuples())
    checked = {1: " checked" if pass_ == 1 else "", 2: " checked" if pass_ == 2 else ""}
    body = (top_bar(e.form, lang, clerk=clerk, pass_=pass_, path="/")
            + f"<h1>{esc(e.q.text(e.q.title, lang))}</h1>"
            + '<form method="post" action="/start" class="start">'
            + f'<input type="hidden" name="_csrf" value="{esc(request.state.csrf)}">'
            + f'<label>{esc(word("clerk", lang))} <input type="text" name="clerk" id="clerk" '
            + f'value="{esc(clerk or "")}" required></label> '
            + f'<label><input type="radio" name="pass" value="1"{checked[1]}> '
            + f'{esc(word("pass1", lang))}</label> '
            + f'<label><input type="radio" name="pass" value="2"{checked[2]}> '
            + f'{esc(word("pass2", lang))}</label> '
            + f'<button type="submit" id="start">{esc(word("start", lang))}</button></form>'
            + f'<h2>{esc(word("progress", lang))}</h2><table class="progress">'
            + f"<tr>{head}</tr>{rows}</table>")
    return _respond(page(word("app", lang), body, language=lang), request=request, lang=lang)


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return ""


async def _start(e: _Entry, request):
    posted, refused = await _posted(e, request)
    if refused is not None:
        return refused
    clerk = (posted.get("clerk") or [""])[0].strip()
    if not clerk:
        return _redirect("/")
    resp = _redirect("/form")
    resp.set_cookie("entry_clerk", quote(clerk[:80]), samesite="strict")
    resp.set_cookie("entry_pass", "2" if (posted.get("pass") or ["1"])[0] == "2" else "1",
                    samesite="strict")
    return resp


async def _form_get(e: _Entry, request):
    refused, lang, clerk, pass_ = _context(e, request)
    if refused is not None:
        return refused
    if clerk is None:
        return _redirect("/")
    values: dict[str, list[str]] = {}
    version = edit_id = None
    message = ""
    rid = request.query_params.get("id")
    if rid:
        stored = e.store.get(rid, pass_)
        if stored is not None:
            version, edit_id = stored["version"], rid
            values = {k: (v.split(" ") if e.q.question(k).type == "select_multiple"
                          else [shown_value(e.form, k, v)])
                      for k, v in stored["data"].items() if k in e.q}
    saved = request.query_params.get("saved")
    if saved:
        message = word("saved", lang, id=saved)
    html = form_page(e.form, lang, values=values, problems=[], hidden=frozenset(),
                     csrf=request.state.csrf, clerk=clerk, pass_=pass_, message=message,
                     version=version, edit_id=edit_id)
    return _respond(html, request=request, lang=lang)


async def _form_post(e: _Entry, request):
    from starlette.concurrency import run_in_threadpool

    posted, refused = await _posted(e, request)
    if refused is not None:
        return refused
    lang = e.lang(request)
    clerk, pass_ = _clerk(request)
    if clerk is None:
        return _redirect("/")
    checked = await run_in_threadpool(e.form.check, posted, lang)
    edit_id = (posted.get("_edit_id") or [None])[0]
    version = int(_int((posted.get("_version") or [None])[0]) or 0) or None
    problems = list(checked.problems)
    confirm = bool(checked.warnings) and not posted.get("_confirm")
    renamed = edit_id is not None and checked.respondent_id != edit_id
    if renamed:
        problems.insert(0, {"question": e.form.id_name or "", "rule": "id", "severity": "error",
                            "message": word("id_changed", lang, id=edit_id), "value": ""})
    if not checked.errors and not confirm and not renamed:
        try:
            await run_in_threadpool(e.store.save, checked.respondent_id, pass_, checked.values,
                                    clerk=clerk, version=version)
            return _redirect(f"/form?saved={quote(checked.respondent_id or '')}")
        except DuplicateForm:
            other = e.store.get(checked.respondent_id, pass_) or {}
            problems.insert(0, {"question": e.form.id_name or "", "rule": "duplicate_id",
                                "severity": "error", "value": checked.respondent_id,
                                "message": word("duplicate", lang, id=checked.respondent_id,
                                                clerk=other.get("clerk", "?"))})
        except EntryError:
            problems.insert(0, {"question": e.form.id_name or "", "rule": "stale",
                                "severity": "error", "value": "",
                                "message": word("stale", lang, id=checked.respondent_id)})
    errors = [p for p in problems if p["severity"] == "error" or p in checked.errors]
    message = word("refused" if errors else "confirm_needed", lang)
    html = form_page(e.form, lang, values=posted, problems=problems, hidden=checked.hidden,
                     csrf=request.state.csrf, clerk=clerk, pass_=pass_, message=message,
                     message_class="error", confirm=not errors and confirm,
                     version=version, edit_id=edit_id)
    return _respond(html, status=422, request=request, lang=lang)


async def _check(e: _Entry, request):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    posted, refused = await _posted(e, request)
    if refused is not None:
        return refused
    lang = e.lang(request)
    checked = await run_in_threadpool(e.form.check, posted, lang)
    return JSONResponse({"problems": list(checked.problems), "hidden": sorted(checked.hidden)},
                        headers=HEADERS)


async def _compare(e: _Entry, request):
    from starlette.concurrency import run_in_threadpool

    from .data import entry_comparison

    refused, lang, clerk, pass_ = _context(e, request)
    if refused is not None:
        return refused
    if pass_ == 2:
        return _blind(e, lang, clerk)
    cmp = await run_in_threadpool(entry_comparison, e.store, e.q)
    decided = e.store.adjudications()
    body = [top_bar(e.form, lang, clerk=clerk, pass_=pass_, path="/compare"),
            f"<h1>{esc(word('compare', lang))}</h1>",
            f'<p class="info">{esc(_summary(cmp, lang))}</p>']
    if not len(cmp.disagreements):
        body.append(f'<p class="info">{esc(word("no_disagreements", lang))}</p>')
    else:
        head = "".join(f"<th>{esc(word(k, lang))}</th>" for k in
                       ("form_id", "question", "first", "second", "decision"))
        rows = [_disagreement_row(e, request, lang, r, decided)
                for r in cmp.disagreements.itertuples(index=False)]
        body.append(f'<table class="compare"><tr>{head}</tr>{"".join(rows)}</table>')
    for label, frame in (("first", cmp.only_first), ("second", cmp.only_second)):
        if len(frame):
            ids = ", ".join(str(i) for i in frame["respondent_id"])
            body.append(f'<p class="warning">{esc(word("only_one_pass", lang))} '
                        f'({esc(word(label, lang))}): {esc(ids)}</p>')
    return _respond(page(word("compare", lang), "".join(body), language=lang), request=request,
                    lang=lang)


def _blind(e: _Entry, lang: str, clerk: str | None):
    """The second pass is blind: no first-pass value is shown to its clerks."""
    body = (top_bar(e.form, lang, clerk=clerk, pass_=2, path="/")
            + f'<p class="warning">{esc(word("blind", lang))}</p>')
    return _respond(page(word("compare", lang), body, language=lang), status=403)


def _summary(cmp, lang: str) -> str:
    rate = cmp.agreement
    return word("summary", lang, n=len(cmp.disagreements), first=len(cmp.only_first),
                second=len(cmp.only_second), rate="–" if rate != rate else f"{rate:.2%}")


def _disagreement_row(e: _Entry, request, lang: str, r, decided) -> str:
    rid, name = str(r.respondent_id), str(r.question)
    first, second = _none(r.first), _none(r.second)
    d = decided.get((rid, name))
    if d is not None:
        decision = (f'<span class="decided">{esc(readable(e.form, name, d["value"], lang))}'
                    f' — {esc(word("decided", lang, clerk=d["clerk"], at=d["at"]))}</span>')
    else:
        key = f"{rid}\x1f{name}"
        decision = (
            f'<form method="post" action="/adjudicate" class="decide">'
            f'<input type="hidden" name="_csrf" value="{esc(request.state.csrf)}">'
            f'<input type="hidden" name="respondent_id" value="{esc(rid)}">'
            f'<input type="hidden" name="question" value="{esc(name)}">'
            f'<label><input type="radio" name="choice" value="first" checked> '
            f'{esc(word("first", lang))}</label> '
            f'<label><input type="radio" name="choice" value="second"> '
            f'{esc(word("second", lang))}</label> '
            f'<label><input type="radio" name="choice" value="other"> '
            f'{esc(word("other_value", lang))}</label> '
            f'<input type="text" name="value" size="6" aria-label="{esc(key)}"> '
            f'<button type="submit">{esc(word("decide", lang))}</button></form>')
    return (f'<tr data-id="{esc(rid)}" data-q="{esc(name)}"><td>{esc(rid)}</td>'
            f"<td>{esc(question_text(e.form, name, lang))}</td>"
            f"<td>{esc(readable(e.form, name, first, lang))}</td>"
            f"<td>{esc(readable(e.form, name, second, lang))}</td><td>{decision}</td></tr>")


def _none(value: Any) -> str | None:
    import pandas as pd

    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


async def _adjudicate(e: _Entry, request):
    from starlette.concurrency import run_in_threadpool

    posted, refused = await _posted(e, request)
    if refused is not None:
        return refused
    lang = e.lang(request)
    clerk, pass_ = _clerk(request)
    if pass_ == 2:
        return _blind(e, lang, clerk)
    rid = (posted.get("respondent_id") or [""])[0]
    name = (posted.get("question") or [""])[0]
    choice = (posted.get("choice") or ["first"])[0]
    first, second = e.store.get(rid, 1), e.store.get(rid, 2)
    if clerk is None or first is None or second is None or name not in e.form.names:
        return _redirect("/compare")
    if choice == "other":
        typed = (posted.get("value") or [""])[0]
    else:
        typed = (first if choice == "first" else second)["data"].get(name)
    record = {k: (v.split(" ") if e.q.question(k).type == "select_multiple" else [v])
              for k, v in first["data"].items() if k in e.q}
    record[name] = (typed or "").split(" ") if e.q.question(name).type == "select_multiple" \
        else [typed or ""]
    checked = await run_in_threadpool(e.form.check, record, lang)
    bad = [p for p in checked.errors if name in p["question"].split(",")]
    if bad:
        body = (top_bar(e.form, lang, clerk=clerk, pass_=pass_, path="/compare")
                + '<ul class="summary">' + "".join(f'<li class="error">{esc(p["message"])}</li>'
                                                   for p in bad)
                + f'</ul><p><a href="/compare">{esc(word("compare", lang))}</a></p>')
        return _respond(page(word("compare", lang), body, language=lang), status=422)
    await run_in_threadpool(e.store.adjudicate, rid, name, checked.values.get(name), clerk=clerk)
    return _redirect("/compare")


def serve(questionnaire: Any, db: str | os.PathLike, *, host: str = "127.0.0.1",
          port: int = 8765, language: str | None = None, token: str | None = None) -> None:
    """Run the entry app with uvicorn; a non-loopback ``host`` needs a ``token``."""
    require_token(host, token)
    app = render_entry_app(questionnaire, db, language=language, token=token)
    e = app.state.entry
    e.form.check({}, e.language)  # load the engine now, not on the first clerk's first field
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")


def require_token(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without an access token."""
    import ipaddress

    name = host.strip("[]")
    try:
        local = ipaddress.ip_address(name).is_loopback
    except ValueError:
        local = name == "localhost"
    if not local and not token:
        raise EntryError(
            f"--host {host}: expected 127.0.0.1 (this machine only) or an access token, found "
            "neither. Hint: add --token SECRET or set SURVEY_ENTRY_TOKEN=SECRET (clerks open "
            "http://HOST:PORT/?token=SECRET), or keep the default host")


__all__ = ["render_entry_app", "serve", "require_token"]
