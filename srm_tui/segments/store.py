"""Saved segments in the cache: every save a version, with what it changed.

- A segment row keeps its definition as the segment file document (CONTRACT section 4), with
  the document's format version beside it (``format``). A row saved by an older srm opens
  through the same upgrade chain as an old file (``model.upgrade``); a row saved by a newer
  srm is listed, but not run or overwritten, and says why.
- Every save is a version (``segment_versions``): the definition as saved, who and when, the
  member count, and how many customers it gained and lost against the version before
  (``segment_member_changes`` holds their ids). The members at the last save are kept
  (``segment_members``), so the next save can tell what it changes.
- A static segment's members are chosen by hand (``add_members`` / ``remove_members``, also
  from a customer's screen); each change is a version too.
- Names are unique, ignoring case.

Every write runs in one transaction of its own; the member sets are computed by SQL (the
compiled segment), never held in Python.

Over 400 lines: saves, versions, member changes and the upgrade of old rows share one
transaction discipline per save.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from srm_tui.segments.compile import Compiled, compile_segment, dialect_of
from srm_tui.segments.editing import rows
from srm_tui.segments.model import All, Fault, Segment, SegmentError, from_dict
from srm_tui.segments.textform import format_condition
from srm_tui.storage import facts as F

KINDS = ("dynamic", "static")
NAME_MAX = 120
TAG_MAX = 40


class SegmentInUse(Exception):
    """The segment cannot be deleted: schedules export it."""


@dataclass
class Saved:
    id: int
    name: str
    kind: str
    tags: tuple[str, ...]
    version: int
    format: int
    members: int  # at the last save; for a static segment, its members
    created_at: int
    updated_at: int
    updated_by: str | None
    last_count: int | None
    last_run_at: int | None
    last_run_ms: float | None
    schedules: int = 0
    segment: Segment | None = None  # None when this srm cannot open it (see problem)
    problem: str | None = None

    @property
    def static(self) -> bool:
        return self.kind == "static"


@dataclass
class Version:
    segment_id: int
    version: int
    saved_at: int
    saved_by: str | None
    members: int
    gained: int
    lost: int
    format: int
    segment: Segment | None
    problem: str | None = None


@dataclass
class Change:
    """What a save would do or did: the definition's lines (+ added, - removed, ' ' kept)
    and the members gained and lost against the last saved version."""

    lines: list[tuple[str, str]]
    gained: int
    lost: int
    members: int
    version: int  # the version this is (or would be)
    gained_ids: list[int] = field(default_factory=list)
    lost_ids: list[int] = field(default_factory=list)

    @property
    def definition_changed(self) -> bool:
        return any(mark != " " for mark, _ in self.lines)


# reading ---------------------------------------------------------------------------------

_COLUMNS = (
    "id, name, kind, tags, version, format, members, created_at, updated_at, "
    "updated_by, last_count, last_run_at, last_run_ms, definition, "
    "(SELECT count(*) FROM segment_schedules s WHERE s.segment_id = segments.id)"
)


def open_definition(text: str) -> tuple[Segment | None, str | None]:
    """The segment in a stored definition (upgraded when older), or why it cannot open."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        return None, f"the stored definition is not JSON ({exc})"
    try:
        return from_dict(raw), None
    except SegmentError as exc:
        return None, str(exc.faults[0]) if exc.faults else str(exc)


def _saved(row: sqlite3.Row | tuple) -> Saved:
    (
        sid,
        name,
        kind,
        tags,
        version,
        fmt,
        members,
        created,
        updated,
        by,
        last_count,
        last_run_at,
        last_run_ms,
        definition,
        schedules,
    ) = tuple(row)
    segment, problem = open_definition(definition)
    try:
        tag_list = tuple(str(t) for t in json.loads(tags))
    except ValueError:
        tag_list = ()
    return Saved(
        sid,
        name,
        kind,
        tag_list,
        version,
        fmt,
        members,
        created,
        updated,
        by,
        last_count,
        last_run_at,
        last_run_ms,
        schedules,
        segment,
        problem,
    )


def list_saved(conn: sqlite3.Connection, tag: str | None = None) -> list[Saved]:
    """Every saved segment, by name (with a tag: only those carrying it)."""
    out = [
        _saved(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM segments ORDER BY name_key, id")
    ]
    if tag:
        key = tag.casefold()
        out = [s for s in out if any(t.casefold() == key for t in s.tags)]
    return out


def get_saved(conn: sqlite3.Connection, ref: int | str) -> Saved:
    """A saved segment by id or by name (ignoring case); ``LookupError`` when none."""
    row = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = conn.execute(f"SELECT {_COLUMNS} FROM segments WHERE id = ?", (int(ref),)).fetchone()
    if row is None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM segments WHERE name_key = ?", (_key(str(ref)),)
        ).fetchone()
    if row is None:
        raise LookupError(f"no saved segment {ref!r}")
    return _saved(row)


def versions(conn: sqlite3.Connection, segment_id: int) -> list[Version]:
    """The segment's versions, newest first."""
    out = []
    for r in conn.execute(
        "SELECT version, saved_at, saved_by, members, gained, lost, format, definition "
        "FROM segment_versions WHERE segment_id = ? ORDER BY version DESC",
        (segment_id,),
    ):
        segment, problem = open_definition(r[7])
        out.append(Version(segment_id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], segment, problem))
    return out


def version_change(
    conn: sqlite3.Connection, segment_id: int, version: int, sample: int = 200
) -> Change:
    """What a saved version changed against the one before it (ids: the first ``sample``)."""
    found = {v.version: v for v in versions(conn, segment_id)}
    if version not in found:
        raise LookupError(f"segment {segment_id} has no version {version}")
    this, before = found[version], found.get(version - 1)
    lines = diff_definitions(before.segment if before else None, this.segment)
    ids = {1: [], -1: []}
    for change in (1, -1):
        ids[change] = [
            r[0]
            for r in conn.execute(
                "SELECT customer_id FROM segment_member_changes WHERE segment_id = ? AND "
                "version = ? AND change = ? ORDER BY customer_id LIMIT ?",
                (segment_id, version, change, sample),
            )
        ]
    return Change(lines, this.gained, this.lost, this.members, version, ids[1], ids[-1])


def schedules_using(conn: sqlite3.Connection, segment_id: int) -> list[dict[str, Any]]:
    return [
        dict(zip(("id", "format", "directory", "at_times", "every_seconds"), r))
        for r in conn.execute(
            "SELECT id, format, directory, at_times, every_seconds "
            "FROM segment_schedules WHERE segment_id = ? ORDER BY id",
            (segment_id,),
        )
    ]


def static_memberships(conn: sqlite3.Connection, customer_id: int) -> list[tuple[Saved, bool]]:
    """Every static segment, and whether this customer is in it."""
    inside = {
        r[0]
        for r in conn.execute(
            "SELECT m.segment_id FROM segment_members m JOIN segments s ON s.id = m.segment_id "
            "WHERE m.customer_id = ? AND s.kind = 'static'",
            (customer_id,),
        )
    }
    return [(s, s.id in inside) for s in list_saved(conn) if s.static]


# the definition as lines, and their diff ---------------------------------------------------


def definition_lines(segment: Segment | None, kind: str = "dynamic") -> list[str]:
    """A segment as the lines a diff compares: name, tags, selector, then the tree."""
    if segment is None:
        return []
    out = [f"name: {segment.name}", f"tags: {', '.join(segment.tags) or '—'}"]
    if kind == "static":
        return out + ["static: members chosen by hand"]
    out.append(f"selector: {segment.selector}")
    for row in rows(segment.where):
        pad = "  " * row.depth
        neg = "not " if row.negated else ""
        if row.condition is not None:
            out.append(f"{pad}{neg}{format_condition(row.condition)}")
        elif row.kind == "not":
            out.append(f"{pad}{neg}not")
        else:
            label = "all of" if row.kind == "all" else "any of"
            empty = (
                " (nothing: " + ("everyone)" if row.kind == "all" else "no one)")
                if not (row.node.item if row.negated else row.node).items
                else ""
            )
            out.append(f"{pad}{neg}{label}{empty}")
    return out


def diff_definitions(
    old: Segment | None, new: Segment | None, kind: str = "dynamic"
) -> list[tuple[str, str]]:
    """Line by line: ('+', line) added, ('-', line) removed, (' ', line) unchanged."""
    a, b = definition_lines(old, kind), definition_lines(new, kind)
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(" ", line) for line in a[i1:i2]]
            continue
        out += [("-", line) for line in a[i1:i2]]
        out += [("+", line) for line in b[j1:j2]]
    return out


# populations -------------------------------------------------------------------------------


def static_population(segment_id: int, now: int) -> Compiled:
    """A static segment as the engine's compiled form: its members still in the cache."""
    where = "f.id IN (SELECT m.customer_id FROM segment_members m WHERE m.segment_id = :segment_id)"
    return Compiled(where, {"now": int(now), "segment_id": segment_id}, "latest", False)


def population(saved: Saved, now: int, conn: Any = None) -> Compiled:
    """The customers of a saved segment as one query (``ids_sql``, ``count_sql``), in the SQL
    of ``conn``'s database (default SQLite's)."""
    if saved.static:
        return static_population(saved.id, now)
    if saved.segment is None:
        raise SegmentError([Fault("", saved.problem or "cannot open this segment")])
    return compile_segment(saved.segment, now, conn=conn)


# writing -----------------------------------------------------------------------------------


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def check_header(
    conn: sqlite3.Connection, segment: Segment, segment_id: int | None = None
) -> list[Fault]:
    """Faults of the name and tags a save would write (the tree is checked elsewhere)."""
    faults = []
    name = segment.name.strip()
    if not name:
        faults.append(Fault("name", "required: give the segment a name"))
    elif len(name) > NAME_MAX:
        faults.append(Fault("name", f"at most {NAME_MAX} characters"))
    elif not name.isprintable():
        faults.append(Fault("name", "no control characters"))
    else:
        other = conn.execute("SELECT id FROM segments WHERE name_key = ?", (_key(name),)).fetchone()
        if other is not None and other[0] != segment_id:
            faults.append(Fault("name", f"a segment named {name!r} exists already"))
    for i, tag in enumerate(segment.tags):
        if not tag.strip() or len(tag) > TAG_MAX or not tag.isprintable() or "," in tag:
            faults.append(
                Fault(f"tags[{i}]", f"a tag is 1-{TAG_MAX} printable characters with no comma")
            )
    return faults


def _new(conn: Any) -> str:
    """The connection's own table of the members a save computes (SQLite's ``temp``
    schema; PostgreSQL's ``pg_temp``, made inside the transaction and dropped with it)."""
    return dialect_of(conn).temp("segment_new")


def _ids_into(conn: sqlite3.Connection, compiled: Compiled) -> int:
    if dialect_of(conn).name == "postgres":
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS segment_new (customer_id bigint PRIMARY KEY) "
            "ON COMMIT DROP"
        )
    else:
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS segment_new (customer_id INTEGER PRIMARY KEY)"
        )
    conn.execute(f"DELETE FROM {_new(conn)}")
    conn.execute(f"INSERT INTO {_new(conn)} (customer_id) {compiled.ids_sql()}", compiled.params)
    return conn.execute(f"SELECT count(*) FROM {_new(conn)}").fetchone()[0]


def _diff_counts(conn: sqlite3.Connection, segment_id: int | None) -> tuple[int, int]:
    if segment_id is None:
        return conn.execute(f"SELECT count(*) FROM {_new(conn)}").fetchone()[0], 0
    gained = conn.execute(
        f"SELECT count(*) FROM {_new(conn)} n WHERE NOT EXISTS (SELECT 1 FROM "
        "segment_members m WHERE m.segment_id = ? AND m.customer_id = n.customer_id)",
        (segment_id,),
    ).fetchone()[0]
    lost = conn.execute(
        "SELECT count(*) FROM segment_members m WHERE m.segment_id = ? AND NOT EXISTS "
        f"(SELECT 1 FROM {_new(conn)} n WHERE n.customer_id = m.customer_id)",
        (segment_id,),
    ).fetchone()[0]
    return gained, lost


def _prepare(conn: sqlite3.Connection) -> None:
    F.prepare(conn)
    F.ensure_facts(conn)


def preview_save(
    conn: sqlite3.Connection, segment: Segment, now: int, segment_id: int | None = None
) -> Change:
    """What saving this definition would change, without writing anything lasting."""
    _prepare(conn)
    saved = get_saved(conn, segment_id) if segment_id is not None else None
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        members = _ids_into(conn, compile_segment(segment, now, conn=conn))
        gained, lost = _diff_counts(conn, segment_id)
        conn.execute(f"DELETE FROM {_new(conn)}")
    finally:
        if own:
            conn.execute("COMMIT")
    lines = diff_definitions(saved.segment if saved else None, segment)
    return Change(lines, gained, lost, members, (saved.version + 1) if saved else 1)


def _json(segment: Segment) -> str:
    return json.dumps(segment.to_dict(), ensure_ascii=False, separators=(",", ":"))


def save(
    conn: sqlite3.Connection,
    segment: Segment,
    *,
    now: int,
    agent: str | None,
    segment_id: int | None = None,
    kind: str = "dynamic",
    expect_version: int | None = None,
) -> Change:
    """Save a definition as a new segment or the next version of ``segment_id``.

    ``expect_version``: the version the editor started from; when someone saved another
    version meanwhile, nothing is written and ``SegmentError`` says so.
    Raises ``SegmentError`` (faults with paths) for a bad name, tag or tree.
    """
    from srm_tui.segments.validate import validate_segment

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    segment = segment.replace(
        name=" ".join(segment.name.split()), tags=tuple(t.strip() for t in segment.tags)
    )
    faults = check_header(conn, segment, segment_id)
    if kind == "dynamic":
        faults += validate_segment(segment)
    if faults:
        raise SegmentError(faults)
    _prepare(conn)
    definition = _json(segment)
    conn.execute("BEGIN IMMEDIATE")
    try:
        old = get_saved(conn, segment_id) if segment_id is not None else None
        if old is not None and old.problem and old.segment is None:
            raise SegmentError([Fault("", f"this srm cannot overwrite it: {old.problem}")])
        if old is not None and expect_version is not None and old.version != expect_version:
            raise SegmentError(
                [
                    Fault(
                        "",
                        f"version {old.version} was saved meanwhile (by "
                        f"{old.updated_by or 'someone'}); reopen it to see "
                        "the changes",
                    )
                ]
            )
        if old is not None and old.kind != kind:
            raise SegmentError([Fault("kind", f"it is a {old.kind} segment")])
        version = old.version + 1 if old else 1
        if old is None:
            cur = conn.execute(
                "INSERT INTO segments (name, name_key, kind, format, definition, tags, version,"
                " created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
                "RETURNING id",
                (
                    segment.name,
                    _key(segment.name),
                    kind,
                    segment.version,
                    definition,
                    json.dumps(list(segment.tags), ensure_ascii=False),
                    now,
                    now,
                    agent,
                ),
            )
            segment_id = cur.fetchone()[0]
        assert segment_id is not None
        if kind == "dynamic":
            members = _ids_into(conn, compile_segment(segment, now, conn=conn))
            gained, lost = _apply_member_set(conn, segment_id, version)
        else:
            members = conn.execute(
                "SELECT count(*) FROM segment_members WHERE segment_id = ?", (segment_id,)
            ).fetchone()[0]
            gained = lost = 0
        conn.execute(
            "UPDATE segments SET name = ?, name_key = ?, format = ?, definition = ?, tags = ?, "
            "version = ?, members = ?, updated_at = ?, updated_by = ?, last_count = ?, "
            "last_run_at = ? WHERE id = ?",
            (
                segment.name,
                _key(segment.name),
                segment.version,
                definition,
                json.dumps(list(segment.tags), ensure_ascii=False),
                version,
                members,
                now,
                agent,
                members,
                now,
                segment_id,
            ),
        )
        conn.execute(
            "INSERT INTO segment_versions (segment_id, version, format, definition, saved_at, "
            "saved_by, members, gained, lost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (segment_id, version, segment.version, definition, now, agent, members, gained, lost),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return version_change(conn, segment_id, version)


def _apply_member_set(conn: sqlite3.Connection, segment_id: int, version: int) -> tuple[int, int]:
    """Make temp.segment_new the kept members, noting who came and who went."""
    gained = conn.execute(
        "INSERT INTO segment_member_changes (segment_id, version, customer_id, change) "
        f"SELECT ?, ?, n.customer_id, 1 FROM {_new(conn)} n WHERE NOT EXISTS (SELECT 1 "
        "FROM segment_members m WHERE m.segment_id = ? AND m.customer_id = n.customer_id)",
        (segment_id, version, segment_id),
    ).rowcount
    lost = conn.execute(
        "INSERT INTO segment_member_changes (segment_id, version, customer_id, change) "
        "SELECT ?, ?, m.customer_id, -1 FROM segment_members m WHERE m.segment_id = ? AND "
        f"NOT EXISTS (SELECT 1 FROM {_new(conn)} n WHERE n.customer_id = m.customer_id)",
        (segment_id, version, segment_id),
    ).rowcount
    conn.execute(
        "DELETE FROM segment_members WHERE segment_id = ? AND customer_id IN (SELECT "
        "customer_id FROM segment_member_changes WHERE segment_id = ? AND version = ? "
        "AND change = -1)",
        (segment_id, segment_id, version),
    )
    conn.execute(
        "INSERT INTO segment_members (segment_id, customer_id) SELECT ?, customer_id "
        "FROM segment_member_changes WHERE segment_id = ? AND version = ? AND "
        "change = 1",
        (segment_id, segment_id, version),
    )
    conn.execute(f"DELETE FROM {_new(conn)}")
    return gained, lost


def create_static(
    conn: sqlite3.Connection,
    name: str,
    tags: Iterable[str] = (),
    *,
    now: int,
    agent: str | None,
    members: Iterable[int] = (),
) -> Saved:
    """A new static segment (version 1), with these members to start with."""
    segment = Segment(where=All(), name=name, tags=tuple(tags))
    save(conn, segment, now=now, agent=agent, kind="static")
    saved = get_saved(conn, " ".join(name.split()))
    ids = list(members)
    if ids:
        change_members(conn, saved.id, add=ids, now=now, agent=agent)
        saved = get_saved(conn, saved.id)
    return saved


def change_members(
    conn: sqlite3.Connection,
    segment_id: int,
    *,
    add: Iterable[int] = (),
    remove: Iterable[int] = (),
    now: int,
    agent: str | None,
) -> Change | None:
    """Add and remove a static segment's members by hand: one new version, or None when
    nothing changes. Customers not in the cache are refused (``SegmentError``)."""
    saved = get_saved(conn, segment_id)
    if not saved.static:
        raise SegmentError(
            [
                Fault(
                    "kind",
                    f"{saved.name!r} is a dynamic segment: its conditions choose its members",
                )
            ]
        )
    add_ids = sorted({int(i) for i in add})
    remove_ids = sorted({int(i) for i in remove} - set(add_ids))
    missing = [
        i
        for i in add_ids
        if conn.execute("SELECT 1 FROM customers WHERE id = ?", (i,)).fetchone() is None
    ]
    if missing:
        raise SegmentError([Fault("members", f"customer {missing[0]} is not in the cache")])
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = (
            conn.execute("SELECT version FROM segments WHERE id = ?", (segment_id,)).fetchone()[0]
            + 1
        )
        gained = lost = 0
        for cid in add_ids:
            if conn.execute(
                "INSERT INTO segment_members (segment_id, customer_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (segment_id, cid),
            ).rowcount:
                conn.execute(
                    "INSERT INTO segment_member_changes (segment_id, version, customer_id, "
                    "change) VALUES (?, ?, ?, 1)",
                    (segment_id, version, cid),
                )
                gained += 1
        for cid in remove_ids:
            if conn.execute(
                "DELETE FROM segment_members WHERE segment_id = ? AND customer_id = ?",
                (segment_id, cid),
            ).rowcount:
                conn.execute(
                    "INSERT INTO segment_member_changes (segment_id, version, customer_id, "
                    "change) VALUES (?, ?, ?, -1)",
                    (segment_id, version, cid),
                )
                lost += 1
        if not gained and not lost:
            conn.execute("ROLLBACK")
            return None
        members = conn.execute(
            "SELECT count(*) FROM segment_members WHERE segment_id = ?", (segment_id,)
        ).fetchone()[0]
        definition = conn.execute(
            "SELECT definition, format FROM segments WHERE id = ?", (segment_id,)
        ).fetchone()
        conn.execute(
            "UPDATE segments SET version = ?, members = ?, last_count = ?, "
            "last_run_at = ?, updated_at = ?, updated_by = ? WHERE id = ?",
            (version, members, members, now, now, agent, segment_id),
        )
        conn.execute(
            "INSERT INTO segment_versions (segment_id, version, format, definition, saved_at, "
            "saved_by, members, gained, lost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (segment_id, version, definition[1], definition[0], now, agent, members, gained, lost),
        )
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return version_change(conn, segment_id, version)


def record_run(
    conn: sqlite3.Connection, segment_id: int, count: int, elapsed_ms: float | None, at: int
) -> None:
    """Remember a count of the saved definition (the list's "last run")."""
    conn.execute(
        "UPDATE segments SET last_count = ?, last_run_ms = ?, last_run_at = ? WHERE id = ?",
        (count, None if elapsed_ms is None else round(elapsed_ms, 1), at, segment_id),
    )


def delete(conn: sqlite3.Connection, segment_id: int) -> None:
    """Delete a segment with its versions; refused while schedules export it."""
    used = schedules_using(conn, segment_id)
    if used:
        raise SegmentInUse(
            f"schedule{'s' if len(used) > 1 else ''} "
            f"{', '.join(str(s['id']) for s in used)} "
            f"{'export' if len(used) > 1 else 'exports'} it: remove "
            f"{'them' if len(used) > 1 else 'it'} first"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in ("segment_member_changes", "segment_members", "segment_versions"):
            conn.execute(f"DELETE FROM {table} WHERE segment_id = ?", (segment_id,))
        conn.execute("DELETE FROM segments WHERE id = ?", (segment_id,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
