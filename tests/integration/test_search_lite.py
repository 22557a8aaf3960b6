"""SQLite's first matches read from each branch's first ids (storage.search_lite): exactly the
answers of the one statement (first page, keyset pages both ways, jumps, every sort, counts)
for common, rare, one-letter, multi-term, fielded and identifier queries on a seeded cache;
a two-letter prefix no longer builds its whole match set; one-letter prefixes asked through
the two-letter index find the same rows."""

from __future__ import annotations

import pytest

from srm_tui.storage import search_lite
from srm_tui.storage.cache import Cache
from srm_tui.storage.queries import SORT_COLUMNS
from srm_tui.storage.search import MAX_EXACT, Results, compile_query, search


class _Conn:
    """The cache's connection and one customer with every kind of identifier."""

    def __init__(self, conn, picked) -> None:
        self.conn, self.picked = conn, picked

    def __getattr__(self, name):
        return getattr(self.conn, name)


@pytest.fixture(scope="module")
def conn(seeded_cache):
    cache = Cache(seeded_cache(2000, 11))
    raw = cache.conn()
    picked = raw.execute(
        "SELECT c.id, c.email, c.external_id, c.last_name, c.country, t.id AS txn, "
        "t.external_payment_id AS payment FROM customers c JOIN transactions t "
        "ON t.customer_id = c.id WHERE c.external_id IS NOT NULL "
        "AND t.external_payment_id IS NOT NULL ORDER BY c.id LIMIT 1 OFFSET 40"
    ).fetchone()
    yield _Conn(raw, dict(picked))
    cache.close()


def _queries(conn) -> list[str]:
    p = conn.picked
    return [
        # common, medium and rare prefixes; one letter; two letters that are also a country
        "ma",
        "an",
        "mil",
        "zzq",
        "a",
        "e",
        "de",
        "us",
        # several terms: common with common, with rare, with a country, a currency, a field
        "a e",
        "a b c",
        "x a",
        "pl a",
        "us ne",
        "eur m",
        "poland a",
        "united kingdom a",
        "name:mi e",
        "email:a",
        "state:NY",
        "state:NY ma",
        "country:pl ma",
        "country:us",
        f"{p['last_name'][:2]} {p['email'][:1]}",
        # identifiers, alone and beside text
        str(p["id"]),
        p["email"],
        p["email"].upper(),
        p["txn"],
        p["external_id"],
        p["payment"].lower(),
        f"{p['email'][:1]} {p['id']}",
        f"id:{p['id']} e",
    ]


def _order(sort: str, desc: bool) -> str:
    """The list's order (NULL keys first ascending, last descending; ties by id)."""
    if sort == "id":
        return "c.id DESC" if desc else "c.id"
    key = f"c.{SORT_COLUMNS[sort]}"
    if desc:
        return f"({key} IS NULL), {key} DESC, c.id DESC"
    return f"({key} IS NULL) DESC, {key}, c.id"


def _expected(conn, query: str, sort: str, desc: bool) -> list[int]:
    """Every match in the list's order, by the one statement of the query's conditions:
    exact identifier matches first (by id), then the rest."""
    Results(conn, query)  # registers the state field's function on this connection
    compiled = compile_query(query)
    where, params = compiled.where
    exact: list[int] = []
    if compiled.exact is not None:
        ex, ex_params = compiled.exact
        exact = [
            r[0]
            for r in conn.execute(
                f"SELECT c.id FROM customers c WHERE {ex} AND {where} ORDER BY c.id LIMIT ?",
                [*ex_params, *params, MAX_EXACT],
            )
        ]
    rest = [
        r[0]
        for r in conn.execute(
            f"SELECT c.id FROM customers c WHERE {where} ORDER BY {_order(sort, desc)}", params
        )
    ]
    taken = set(exact)
    return exact + [i for i in rest if i not in taken]


def _pages(conn, query: str, sort: str, desc: bool, size: int) -> tuple[int, dict[int, list]]:
    """The count and the windows the console reads: pages from the top one after another
    (each from the last one's mark), then a jump to the end and one to the middle."""
    results = Results(conn, query, sort=sort, descending=desc)
    n = results.count(conn)
    read = {}
    for offset in [*range(0, min(n, 6 * size), size), max(n - size, 0), n // 2]:
        read[offset] = [r["id"] for r in results.window(conn, offset, size)]
    return n, read


def _check_pages(conn, query: str, sort: str, desc: bool, size: int) -> None:
    want = _expected(conn, query, sort, desc)
    n, read = _pages(conn, query, sort, desc, size)
    assert n == len(want), (query, sort, desc)
    for offset, ids in read.items():
        assert ids == want[offset : offset + size], (query, sort, desc, offset)


def test_first_page_is_the_one_statements(conn):
    for query in _queries(conn):
        want = _expected(conn, query, "id", False)
        found = search(conn, query, limit=50)
        assert [r["id"] for r in found.rows] == want[:50], query
        n_exact = len(Results(conn, query).exact_ids)
        assert found.exact_ids == set(want[: min(n_exact, 50)]), query
    # the queries reach what they are there for: many matches, none, exact ones first
    assert len(_expected(conn, "e", "id", False)) == 2000
    assert _expected(conn, "zzq", "id", False) == []
    assert search(conn, conn.picked["email"]).rows[0]["id"] == conn.picked["id"]


@pytest.mark.parametrize("desc", [False, True])
def test_pages_by_id_are_the_one_statements(conn, desc):
    for query in _queries(conn):
        _check_pages(conn, query, "id", desc, 80)


@pytest.mark.parametrize("sort", [s for s in SORT_COLUMNS if s != "id"])
def test_pages_in_every_other_order_are_the_one_statements(conn, sort):
    for query in ("ma", "a e", "us ne", "state:NY ma", f"{conn.picked['email'][:1]} x"):
        for desc in (False, True):
            _check_pages(conn, query, sort, desc, 80)


def test_few_rounds_and_the_one_statements_rest_give_the_same(conn, monkeypatch):
    # One round of small batches, every check by id range: the rest is read by the one
    # statement from the horizon, mid-page (pages of 7 from marks, both ways).
    monkeypatch.setattr(search_lite, "ROUNDS", 1)
    monkeypatch.setattr(search_lite, "FEW", 0)
    for query in ("pl a", "us ne", "eur m", "country:pl ma", "state:NY ma", "a e", "x a"):
        for desc in (False, True):
            _check_pages(conn, query, "id", desc, 7)


def test_many_rounds_of_small_batches_give_the_same(conn, monkeypatch):
    monkeypatch.setattr(search_lite, "ROUNDS", 50)
    monkeypatch.setattr(search_lite, "GROWTH", 1)
    for query in ("pl a", "us ne", "united kingdom a", "name:mi e", "a b c"):
        for desc in (False, True):
            _check_pages(conn, query, "id", desc, 3)


def _statements(conn, query: str) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        search(conn, query, limit=50)
    finally:
        conn.set_trace_callback(None)
    # FTS5's own statements are traced with a "-- " in front
    return [s for s in seen if s.startswith("SELECT")]


def _builds_match_set(conn, sql: str, params=()) -> bool:
    """Whether SQLite's plan for ``sql`` reads an FTS5 match into a list subquery or sorts
    the matches in a temporary B-tree (the whole match set built before the first row)."""
    plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    reads_text = "customers_fts" in sql
    return reads_text and any("LIST SUBQUERY" in d or "TEMP B-TREE" in d for d in plan)


@pytest.mark.parametrize("query", ["ma", "an", "a e"])
def test_a_prefix_no_longer_builds_its_whole_match_set(conn, query):
    statements = _statements(conn, query)
    assert any("customers_fts MATCH" in s for s in statements)
    assert [s for s in statements if _builds_match_set(conn, s)] == []
    # the one statement did: the test can tell
    where, params = compile_query(query).where
    one = f"SELECT c.id FROM customers c WHERE {where} ORDER BY c.id LIMIT 50"
    assert _builds_match_set(conn, one, params)


def test_one_letter_prefixes_are_asked_through_the_two_letter_index(cache):
    conn = cache.conn()
    words = ["a", "ab", "abc", "a1", "az", "b", "ba", "xa", "a zq", "x ay"]
    with cache.transaction() as tx:
        for rowid, text in enumerate(words, 1):
            tx.execute("INSERT INTO customers_fts (rowid, name) VALUES (?, ?)", (rowid, text))

    def rowids(match: str) -> list[int]:
        return [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? ORDER BY rowid",
                (match,),
            )
        ]

    for match in ['"a"*', 'name : "a"*', '"x a"*', '"b"*', '"z"*']:
        asked = search_lite.expand(conn, match)
        assert asked != match and " OR " in asked, match
        assert rowids(asked) == rowids(match), match
    assert search_lite.expand(conn, '"a"*') == '("a" OR "a1"* OR "ab"* OR "ay"* OR "az"*)'
    assert search_lite.expand(conn, '"q"*') == '("q")'  # no word starts with q
    assert rowids(search_lite.expand(conn, '"q"*')) == []
    # a longer prefix, or words FTS5 would cut elsewhere, are asked as they are
    assert search_lite.expand(conn, '"ab"*') == '"ab"*'
    assert search_lite.expand(conn, '"a_b"*') == '"a_b"*'
    # a second letter that is not an ASCII letter or digit: the prefix is asked as it is
    with cache.transaction() as tx:
        tx.execute("INSERT INTO customers_fts (rowid, name) VALUES (?, ?)", (99, "aж"))
    assert search_lite.expand(conn, '"a"*') == '"a"*'
