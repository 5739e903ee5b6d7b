"""The data-entry database: SQLite in WAL mode, one transaction per form.

Tables
------
``forms``        one row per keyed form and pass: ``respondent_id``, ``pass`` (1 or 2), the
                 answers as JSON (canonical raw form: choice names, a multiple choice as
                 space-separated names, numbers and dates as typed), ``clerk``, ``created_at``,
                 ``updated_at``, ``version``. ``UNIQUE(respondent_id, pass)``: an id is keyed
                 once per pass.
``history``      every change, field by field: who, when, which pass, old and new value, and
                 the action (``create``, ``edit``, ``adjudicate``). Nothing is ever deleted.
``adjudication`` the decided value of a field on which the two passes disagree, who decided
                 and when.
``meta``         the template's id and the SHA-256 of its definition.

Only the standard library is used here, so the ingest reader can read the database without
importing the web stack.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import SurveyError, format_problem

SQLITE_MAGIC = b"SQLite format 3\x00"
PASSES = (1, 2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forms (
    id INTEGER PRIMARY KEY,
    respondent_id TEXT NOT NULL,
    pass INTEGER NOT NULL CHECK (pass IN (1, 2)),
    data TEXT NOT NULL,
    clerk TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (respondent_id, pass)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    respondent_id TEXT NOT NULL,
    pass INTEGER,
    question TEXT NOT NULL,
    old TEXT,
    new TEXT,
    clerk TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS adjudication (
    respondent_id TEXT NOT NULL,
    question TEXT NOT NULL,
    value TEXT,
    clerk TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (respondent_id, question)
);
"""


class EntryError(SurveyError):
    """The data-entry app cannot do what was asked (bad database, refused bind, stale edit)."""


class DuplicateForm(EntryError):
    """An id is already keyed in this pass."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def is_entry_db(path: str | os.PathLike) -> bool:
    """True when ``path`` is an SQLite file (by its magic bytes)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


class EntryStore:
    """The entry database at ``path`` (created when absent).

    One connection per thread of use; every write is one ``BEGIN IMMEDIATE`` transaction,
    so concurrent clerks queue on SQLite's write lock instead of overwriting each other.
    """

    def __init__(self, path: str | os.PathLike, *, template_id: str = "",
                 template_sha256: str = "", create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise EntryError(format_problem(where=str(self.path), expected="an entry database",
                                            found="no such file", hint="check the path"))
        if self.path.exists() and self.path.stat().st_size and not is_entry_db(self.path):
            raise EntryError(format_problem(
                where=str(self.path), expected="an SQLite entry database",
                found="a file that is not SQLite", hint="choose a new file name for --db"))
        self._check_meta(template_id, template_sha256, create)
        # one idle connection held for the store's life: when the last connection to a WAL
        # database closes, SQLite checkpoints and removes the WAL (an fsync of the whole
        # database, 15-40 ms) - with it open, a save's connection closes cheaply
        self._anchor = self.connect()

    def close(self) -> None:
        """Close the idle connection (the WAL is checkpointed as the last one closes)."""
        self._anchor.close()

    # --- connection -------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                              check_same_thread=False)
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit is in the WAL file before it returns, so a killed server
        # loses nothing committed; only a power cut or OS crash may roll back the last
        # commits (never corrupting the file). FULL adds an fsync per save (15-40 ms).
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("PRAGMA foreign_keys = ON")
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def _check_meta(self, template_id: str, sha: str, create: bool) -> None:
        try:
            with self.transaction() as con:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                if not meta and template_id:
                    con.executemany("INSERT INTO meta VALUES (?, ?)",
                                    [("template_id", template_id), ("template_sha256", sha),
                                     ("created_at", _now())])
        except sqlite3.DatabaseError as exc:
            raise EntryError(format_problem(
                where=str(self.path), expected="a readable SQLite entry database",
                found=str(exc), hint="the file may be damaged; keep a copy and start a new one"
            )) from exc
        old = meta.get("template_id")
        if template_id and old and old != template_id:
            raise EntryError(format_problem(
                where=str(self.path), expected=f"a database of template {template_id!r}",
                found=f"one of template {old!r}", hint="use another --db file"))
        self.meta = meta

    # --- forms ------------------------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of one read-only statement (its own connection, closed after)."""
        con = self.connect()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def get(self, respondent_id: str, pass_: int) -> dict | None:
        rows = self.query("SELECT id, data, clerk, created_at, updated_at, version FROM forms "
                          "WHERE respondent_id = ? AND pass = ?", (respondent_id, pass_))
        if not rows:
            return None
        row = rows[0]
        return {"row": row[0], "data": json.loads(row[1]), "clerk": row[2], "created_at": row[3],
                "updated_at": row[4], "version": row[5]}

    def save(self, respondent_id: str, pass_: int, data: dict[str, str | None], *, clerk: str,
             version: int | None = None) -> int:
        """Store one form in one transaction; returns its new version.

        ``version=None`` creates the form and refuses an id already keyed in this pass
        (`DuplicateForm`); a version edits that form and refuses a stale one (someone saved
        it in between), so no change is lost silently.
        """
        if pass_ not in PASSES:
            raise EntryError(f"pass must be 1 or 2, got {pass_!r}")
        clean = {k: v for k, v in data.items() if v is not None and v != ""}
        at = _now()
        with self.transaction() as con:
            row = con.execute("SELECT id, data, version, clerk, created_at FROM forms "
                              "WHERE respondent_id = ? AND pass = ?",
                              (respondent_id, pass_)).fetchone()
            if version is None:
                if row is not None:
                    raise DuplicateForm(format_problem(
                        where=f"{self.path}, form {respondent_id!r}, pass {pass_}",
                        expected="an id not yet keyed in this pass",
                        found=f"keyed by {row[3]} at {row[4]}",
                        hint="check the number on the paper form, or open the keyed form "
                             "to correct it"))
                con.execute("INSERT INTO forms (respondent_id, pass, data, clerk, created_at, "
                            "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (respondent_id, pass_, json.dumps(clean, ensure_ascii=False),
                             clerk, at, at))
                old: dict = {}
                new_version, action = 1, "create"
            else:
                if row is None or row[2] != version:
                    raise EntryError(format_problem(
                        where=f"form {respondent_id!r}, pass {pass_}",
                        expected=f"version {version}",
                        found="no such form" if row is None else f"version {row[2]}",
                        hint="someone saved it meanwhile; reopen the form and key the change "
                             "again"))
                old = json.loads(row[1])
                new_version, action = version + 1, "edit"
                con.execute("UPDATE forms SET data = ?, updated_at = ?, version = ? "
                            "WHERE id = ?",
                            (json.dumps(clean, ensure_ascii=False), at, new_version, row[0]))
            changes = [(respondent_id, pass_, k, old.get(k), clean.get(k), clerk, at, action)
                       for k in sorted(set(old) | set(clean)) if old.get(k) != clean.get(k)]
            con.executemany("INSERT INTO history (respondent_id, pass, question, old, new, "
                            "clerk, at, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", changes)
        return new_version

    def _select(self, sql: str, column: str, value) -> list[tuple]:
        """Rows of ``sql`` in keying order, only those with ``column = value`` unless None."""
        if value is None:
            return self.query(sql + " ORDER BY id", ())
        return self.query(f"{sql} WHERE {column} = ? ORDER BY id", (value,))

    def forms(self, pass_: int | None = None) -> list[dict]:
        """Every keyed form (of one pass), in the order keyed."""
        rows = self._select("SELECT id, respondent_id, pass, data, clerk, created_at, updated_at "
                            "FROM forms", "pass", pass_)
        return [{"row": r[0], "respondent_id": r[1], "pass": r[2], "data": json.loads(r[3]),
                 "clerk": r[4], "created_at": r[5], "updated_at": r[6]} for r in rows]

    def history(self, respondent_id: str | None = None) -> list[dict]:
        rows = self._select("SELECT respondent_id, pass, question, old, new, clerk, at, action "
                            "FROM history", "respondent_id", respondent_id)
        keys = ("respondent_id", "pass", "question", "old", "new", "clerk", "at", "action")
        return [dict(zip(keys, r)) for r in rows]

    # --- adjudication -----------------------------------------------------------------
    def adjudicate(self, respondent_id: str, question: str, value: str | None, *,
                   clerk: str) -> None:
        """Store the decided value of one field (replacing an earlier decision, kept in
        the history)."""
        at = _now()
        value = value if value not in ("",) else None
        with self.transaction() as con:
            old = con.execute("SELECT value FROM adjudication WHERE respondent_id = ? AND "
                              "question = ?", (respondent_id, question)).fetchone()
            con.execute("INSERT OR REPLACE INTO adjudication VALUES (?, ?, ?, ?, ?)",
                        (respondent_id, question, value, clerk, at))
            con.execute("INSERT INTO history (respondent_id, pass, question, old, new, clerk, "
                        "at, action) VALUES (?, NULL, ?, ?, ?, ?, ?, 'adjudicate')",
                        (respondent_id, question, old[0] if old else None, value, clerk, at))

    def adjudications(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.query("SELECT respondent_id, question, value, clerk, at FROM adjudication")
        return {(r[0], r[1]): {"value": r[2], "clerk": r[3], "at": r[4]} for r in rows}

    def integrity(self) -> str:
        return self.query("PRAGMA integrity_check")[0][0]
