"""A run's segment and its members: a saved segment by name (or id) or a segment file, and
for each member the subscription the segment's selector picks (CONTRACT section 4)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from srm_tui.bulk.model import BulkInvalid
from srm_tui.domain.rates import in_force
from srm_tui.segments.compile import SF, Compiled, compile_segment, for_conn, sql_for
from srm_tui.segments.model import SegmentError, load
from srm_tui.segments.service import SegmentStore
from srm_tui.storage import facts as F


@dataclass
class Target:
    """The segment a run goes over: its name, its definition as frozen, its query."""

    name: str
    definition: dict[str, Any]
    compiled: Compiled


def resolve(store: SegmentStore, conn: sqlite3.Connection, ref: str, now: int) -> Target:
    """A saved segment by name or id, else a segment file; BulkInvalid names ``segment``."""
    text = (ref or "").strip()
    if not text:
        raise BulkInvalid("segment", "required: a saved segment's name or a segment file")
    try:
        saved = store.get_saved(text)
    except LookupError:
        saved = None
    if saved is not None:
        if saved.static:
            definition: dict[str, Any] = {"static": saved.id, "name": saved.name}
        elif saved.segment is None:
            raise BulkInvalid("segment", f"{saved.name}: {saved.problem or 'cannot be opened'}")
        else:
            definition = saved.segment.to_dict()
        definition["saved"] = {"id": saved.id, "version": saved.version}
        try:
            compiled = store.population(saved, now)
        except SegmentError as exc:
            raise BulkInvalid("segment", f"{saved.name}: {exc.faults[0]}") from None
        return Target(saved.name, definition, compiled)
    if not os.path.isfile(text):
        raise BulkInvalid("segment", f"no saved segment {text!r} and no segment file of that name")
    try:
        segment = load(text)
    except SegmentError as exc:
        raise BulkInvalid("segment", f"{text}: {exc.faults[0]}") from None
    compiled = compile_segment(segment, now, in_force(conn))
    return Target(segment.name or os.path.basename(text), segment.to_dict(), compiled)


def _subscription_sql(compiled: Compiled) -> str:
    """The SQL of the subscription the selector picks for a customer row ``f``: with ``any``,
    the newest of the customer's subscriptions the tree holds for."""
    selected = sql_for(compiled.dialect).selected_sub
    if compiled.selector in selected:
        return selected[compiled.selector]
    if compiled.exists is None:
        return "f.latest_sub"
    return (
        f"CASE WHEN f.n_subs <= 1 THEN f.latest_sub ELSE (SELECT s.id FROM {SF} s "
        f"WHERE s.customer_id = f.id AND ({compiled.exists}) ORDER BY s.id DESC LIMIT 1) END"
    )


def members(conn: sqlite3.Connection, compiled: Compiled) -> list[tuple[int, int | None]]:
    """Every member (customer id, the selector's subscription id or None), by customer id."""
    F.prepare(conn)
    F.ensure_facts(conn)
    compiled = for_conn(compiled, conn)  # a saved segment compiles without knowing the store
    sql = (
        f"SELECT f.id, {_subscription_sql(compiled)} FROM {compiled.from_sql} "
        f"WHERE ({compiled.filter}) ORDER BY f.id"
    )
    return [
        (int(r[0]), None if r[1] is None else int(r[1])) for r in conn.execute(sql, compiled.params)
    ]
