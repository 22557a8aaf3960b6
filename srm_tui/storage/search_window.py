"""The first matches of a search in id order, read in growing id windows (PostgreSQL).

``ORDER BY c.id LIMIT 50`` over a text search leaves the server two plans, each bad for half
the queries: walk the customers in id order testing each until 50 match (a rare prefix reads
most of the table: 228,486 customers walked for ``zaw`` at 300,000), or build every match
from the GIN index and sort them (a common prefix builds them all: 300,000 for ``e``, and
``a e`` read both sets, 0.9 s). Which one it picks follows its estimates, not the query.

So the matches are read a window of customers at a time: the next 2,000 by id, then 8,000,
then 32,000, then the rest, each window's range written into every id set of the query
(``ID_RANGE``, where the dialect's text SQL marks it), until enough rows are found. In a small
window any plan is cheap (a common prefix stops in the first); a rare prefix reaches the last
window, which is read from the match set (its order key fenced with ``+ 0`` so the server
cannot walk the key), and a prefix that rare has few matches. A query the server estimates too
rare for the windows to find enough (an identifier, a rare prefix) reads the rest at once. The
rows, their order and the count are those of the single statement.
"""

from __future__ import annotations

import json
import time
from typing import Any

# Where a text term's id set takes the window's range (" AND id > 5 AND id <= 9"); a comment
# otherwise, so SQL that carries it runs as it is.
ID_RANGE = "/*ids*/"
# Customers per window, by id, before the last window takes the rest.
WINDOWS = (2_000, 8_000, 32_000)


def _range(after: int | None, bound: int | None, descending: bool) -> str:
    """The window (after, bound] in the list's direction, as conditions on ``id``."""
    parts = []
    if after is not None:
        parts.append(f"id {'<' if descending else '>'} {int(after)}")
    if bound is not None:
        parts.append(f"id {'>=' if descending else '<='} {int(bound)}")
    return "".join(f" AND {p}" for p in parts)


def _bound(conn: Any, after: int | None, rows: int, descending: bool) -> int | None:
    """The id ``rows`` customers on from ``after`` (None: fewer are left)."""
    where = "" if after is None else f"WHERE id {'<' if descending else '>'} ?"
    found = conn.execute(
        f"SELECT id FROM customers {where} ORDER BY id {'DESC' if descending else 'ASC'} "
        "LIMIT 1 OFFSET ?",
        [*([] if after is None else [after]), rows - 1],
    ).fetchone()
    return None if found is None else found[0]


def _rows(conn: Any, sql: str, params: list[Any]) -> float:
    """The server's estimate of the rows a statement returns (EXPLAIN, nothing run)."""
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _dense(conn: Any, where: str, params: list[Any], limit: int) -> bool:
    """Whether walking windows is expected to cost less than reading every match: by the
    server's estimates, ``limit`` matches lie within fewer customers (limit / share) than
    there are matches (so both costs meet at sqrt(limit x customers) matches)."""
    matches = _rows(conn, f"SELECT 1 FROM customers c WHERE {where}", params)
    return matches * matches >= limit * _customers(conn)


_ESTIMATES: dict[int, tuple[float, float]] = {}  # id(conn) -> (when, customers estimated)


def _customers(conn: Any) -> float:
    """The server's estimate of the customers, asked once a minute per connection (it moves
    slowly, and only the choice of plan depends on it, never an answer)."""
    now = time.monotonic()
    when, customers = _ESTIMATES.get(id(conn), (-60.0, 0.0))
    if now - when >= 60:
        customers = _rows(conn, "SELECT 1 FROM customers", [])
        _ESTIMATES[id(conn)] = (now, customers)
    return customers


def by_id(
    conn: Any,
    cols: str,
    where: tuple[str, list[Any]],
    limit: int,
    *,
    after: int | None,
    descending: bool,
) -> list[Any]:
    """The first ``limit`` customers (``cols``) matching ``where`` in id order, after the id
    ``after`` (None: from the start)."""
    sql, params = where
    if limit <= 0:
        return []
    # A plain direction: the id is never NULL, and "ASC NULLS FIRST" (the dialect's order for
    # nullable keys) is not the primary key's order on PostgreSQL, which would sort instead.
    direction = "DESC" if descending else "ASC"
    if ID_RANGE not in sql:  # no id set to narrow: the one statement
        outer = _range(after, None, descending).replace(" id ", " c.id ")
        return conn.execute(
            f"SELECT {cols} FROM customers c WHERE {sql}{outer} ORDER BY c.id {direction} LIMIT ?",
            [*params, limit],
        ).fetchall()
    rows: list[Any] = []
    # Matches the server expects few of (an identifier, a rare prefix or phrase, a small
    # state): the rest at once.
    sizes = [*WINDOWS, None] if _dense(conn, sql, params, limit) else [None]
    walked = 0
    for n, size in enumerate(sizes):
        bound = None if size is None else _bound(conn, after, size, descending)
        window = _range(after, bound, descending)
        # The rest is read from the match set: "+ 0" keeps the server off the key's order.
        key = "c.id" if bound is not None else "c.id + 0"
        rows += conn.execute(
            f"SELECT {cols} FROM customers c WHERE {sql.replace(ID_RANGE, window)}"
            f"{window.replace(' id ', ' c.id ')} "
            f"ORDER BY {key} {direction} LIMIT ?",
            [*params, limit - len(rows)],
        ).fetchall()
        if len(rows) >= limit or bound is None:
            return rows
        after, walked = bound, walked + (size or 0)
        # Fewer matches than the estimate said: when the share met so far would not fill the
        # next window's part, the rest is read from the matches (few, at that share).
        following = sizes[n + 1]
        if following is not None and (len(rows) + 1) * following < (limit - len(rows)) * walked:
            sizes[n + 1 :] = [None]
    return rows
