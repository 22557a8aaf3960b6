"""Search answers the same on the PostgreSQL store as on the SQLite cache (CONTRACT section 6;
issue 15): one seeded cache of 2,000 customers, the same rows copied into a real PostgreSQL
database and its search documents built by storage.pg.search.rebuild, then a corpus of queries
(test_search.py's, generated 1-3 letter prefixes, accents, every field, codes, names, dates,
identifiers in either case, several terms, malformed and hostile terms): the same rows in the
same order, the same exact matches, the same counts, the same error text; and the same windows
of every sort order, NULL sort keys included, read forward, backward and by jumps."""

from __future__ import annotations

import os
import random
import re

import pytest

from srm_tui.domain.fold import fold
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import open_store
from srm_tui.storage.queries import SORT_COLUMNS
from srm_tui.storage.search import Results, SearchError, search

psycopg = pytest.importorskip("psycopg")
pg_schema = pytest.importorskip("srm_tui.storage.pg.schema")
pg_search = pytest.importorskip("srm_tui.storage.pg.search")

# What search reads: the customers, and the transactions and cards identifiers point into.
TABLES = ("customers", "transactions", "payment_details")


def _copy(cache: Cache, store, tables=TABLES, where: str = "") -> None:
    """The rows of ``tables`` from the SQLite cache into the PostgreSQL store, as they are (a
    stand-in for `srm team migrate`, which is not part of this test)."""
    src = cache.conn()
    for table in tables:
        pg_types = dict(
            store.conn()
            .execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ?",
                (table,),
            )
            .fetchall()
        )
        cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})") if r[1] in pg_types]
        binary = [pg_types[c] == "bytea" for c in cols]
        key = "id" if table == "customers" else "customer_id"
        rows = [
            tuple(
                v.encode() if is_bytes and isinstance(v, str) else v
                for v, is_bytes in zip(row, binary, strict=True)
            )
            for row in src.execute(
                f"SELECT {', '.join(cols)} FROM {table} "
                + (f"WHERE {key} IN ({where}) " if where else "")
                + "ORDER BY 1"
            )
        ]
        with store.transaction(vendor=True) as tx:
            tx.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                rows,
            )


def _new_store(pg_cluster, name: str):
    url = pg_cluster.create_database(name)
    with psycopg.connect(url, autocommit=True) as admin:
        pg_schema.apply(admin)
    return open_store(url)


@pytest.fixture(scope="module")
def stores(seeded_cache, pg_cluster):
    cache = Cache(seeded_cache(2000, 11))
    name = f"search_parity_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    store = _new_store(pg_cluster, name)
    _copy(cache, store)
    assert pg_search.rebuild(store, batch=700) == 2000  # several batches
    yield cache.conn(), store.conn(), store
    store.close()
    cache.close()
    pg_cluster.drop_database(name)


def _answer(conn, query: str):
    """What a search answers: every row (whole, in order) and the exact ids, or the error."""
    try:
        found = search(conn, query, limit=100_000)
    except SearchError as error:
        return ("SearchError", str(error))
    return ([tuple(r) for r in found.rows], sorted(found.exact_ids))


def _count(conn, query: str):
    try:
        return Results(conn, query).count(conn)
    except SearchError as error:
        return ("SearchError", str(error))


# -- the corpus ---------------------------------------------------------------------------------


def _sample(rng: random.Random, values, n: int) -> list:
    values = sorted(set(values), key=str)
    return rng.sample(values, min(n, len(values)))


def _corpus(conn) -> dict[str, list[str]]:
    rng = random.Random(15)
    customers = conn.execute(
        "SELECT id, email, first_name, last_name, external_id, city, state, post_code, "
        "company, address, country, currency, birth_date FROM customers ORDER BY id"
    ).fetchall()
    txns = conn.execute(
        "SELECT id, external_payment_id FROM transactions ORDER BY id LIMIT 400"
    ).fetchall()
    cards = [r[0] for r in conn.execute("SELECT DISTINCT last4 FROM payment_details")]
    words = sorted(
        {
            w
            for c in customers
            for v in (c["email"], c["first_name"], c["last_name"], c["city"], c["company"])
            for w in re.findall(r"\w+", fold(v))
        }
    )
    alphabet = sorted({ch for w in words for ch in w})
    corpus: dict[str, list[str]] = {}

    some = rng.sample(list(customers), 120)
    ids = []
    for c in some:
        ids += [str(c["id"]), c["email"] or "", (c["email"] or "").upper()]
        if c["external_id"]:
            ids += [c["external_id"], c["external_id"].upper(), c["external_id"].lower()]
    for t in _sample(rng, [tuple(t) for t in txns], 60):
        ids += [t[0], t[0].lower()]
        if t[1]:
            ids += [t[1], t[1].lower(), t[1].upper(), f"order:{t[1].lower()}"]
    ids += ["d8c355ae7f7cf6e1", "4" * 26, "0", "9" * 19, "T000000000", "t123456789", "x@y.co"]
    corpus["identifiers"] = [q for q in ids if q]

    prefixes = list(alphabet)
    prefixes += _sample(rng, {w[:2] for w in words if len(w) >= 2}, 80)
    prefixes += _sample(rng, {w[:3] for w in words if len(w) >= 3}, 80)
    prefixes += ["".join(rng.choice(alphabet) for _ in range(n)) for n in (2, 3) for _ in range(40)]
    prefixes += [p.upper() for p in prefixes[:20]]
    corpus["prefixes"] = prefixes

    accented = sorted(
        {
            w
            for c in customers
            for v in (c["first_name"], c["last_name"], c["city"], c["state"], c["company"])
            for w in re.findall(r"\w+", v or "")
            if not w.isascii()
        }
    )
    corpus["accents"] = [
        "Łukasz",
        "lukasz",
        "ŁUKASZ",
        "Ø",
        "ø",
        "o",
        "ß",
        "ss",
        "Straße",
        "strasse",
        "Ç",
        "ç",
        "Gonçalves",
        "goncalves",
        "Müller",
        "muller",
        "MÜLLER",
        "Jørgensen",
        "jorgensen",
        "Île-de-France",
        "côte d'azur",
        "Æ",
        "ǆ",
        "ﬁ",
        *_sample(rng, accented, 60),
        *[w.upper() for w in _sample(rng, accented, 20)],
        *[fold(w) for w in _sample(rng, accented, 20)],
    ]

    fields = []
    for c in rng.sample(list(customers), 40):
        if c["email"]:
            local = c["email"].split("@")[0]
            fields += [f"email:{local[:3]}", f"email:{c['email']}", f"email:{local}"]
        for field, column in (("name", "last_name"), ("name", "first_name"), ("city", "city")):
            if c[column]:
                fields += [f"{field}:{c[column][:2]}", f'{field}:"{c[column]}"']
        if c["post_code"]:
            fields += [f"zip:{c['post_code'][:2]}", f'zip:"{c["post_code"]}"']
        if c["state"]:
            fields += [f'state:"{c["state"]}"', f"state:{c['state'].split()[0]}"]
        if c["company"]:
            fields.append(f'"{c["company"]}"')
        if c["address"]:
            fields.append(" ".join(c["address"].split()[:2]))
        fields += [f"id:{c['id']}", f"country:{c['country'] or 'zz'}"]
        if c["external_id"]:
            fields.append(f"ext:{c['external_id'].upper()}")
    for t in txns[:20]:
        fields.append(f"txn:{t[0].lower()}")
    fields += [f"card:{last4}" for last4 in cards[:20]]
    fields += ["state:CO", "state:co", "state:ile-de-france", "state:Provence"]
    fields += ['state:"Provence-Alpes-Côte d\'Azur"', "zip:75", "zip:0", "city:new york"]
    fields += ["name:anna maria", 'name:"anna maria"', "email:gmail", "email:example.com"]
    corpus["fields"] = fields

    days = _sample(rng, [c["birth_date"] for c in customers if c["birth_date"]], 20)
    corpus["codes names dates"] = [
        *("FR", "fr", "PL", "pl", "DE", "US", "ZZ", "EUR", "nok", "PLN", "usd", "XYZ"),
        *("Poland", "poland", "Germany", '"United Kingdom"', "united kingdom", "Norway"),
        *("united states", "new zealand", "country:poland", 'country:"united kingdom"'),
        *("currency:eur", "currency:PLN", "1972-02-05", "2024-02-30"),
        *days,
        *[f"birthdate:{d}" for d in days[:10]],
    ]

    multi = []
    for _ in range(60):
        a, b = rng.sample(prefixes[: len(alphabet) + 160], 2)
        multi.append(f"{a} {b}")
    for c in rng.sample(list(customers), 30):
        if c["first_name"] and c["last_name"]:
            multi.append(f"{c['first_name'][:3]} {c['last_name'][:3]}")
        if c["city"]:
            multi.append(f"country:{c['country'] or 'pl'} {c['city'][:2]}")
    multi += ["country:poland anna", "united kingdom a", "FR m", "EUR state:CO", "PL pl"]
    corpus["several terms"] = multi

    corpus["malformed"] = [
        *("txn:T12", "id:abc", "birthdate:1990/01/01", "card:12", "colour:red", "email:"),
        *("birthdate:1972", "birthdate:1972-13-45", "email:-", "email:'", "email:)"),
        *("email:*", "id:" + "4" * 26, "country:Atlantis", "currency:euro", "state:)"),
        *("name:-", "zip:.", "city:'", "x" * 1001, " ".join(["a"] * 41)),
    ]
    corpus["hostile"] = [
        *("'; DROP TABLE customers; --", '"unbalanced', "a OR b", "NEAR(a b)", "*", "^x"),
        *("x AND", "[bold red]x[/]", "\x1b[31m", "ن", "😀 smile", "a" * 5000, "%", "_"),
        *("a_b", "o'brien", "d'azur", "jean-luc", "a.b", "100%", "\\", "'", "''", "a''b"),
        *("::", "?", ":name", "$1", "%s", "a:b", "_x_", "x" * 3000, "ab" * 600, "中文"),
    ]
    return corpus


@pytest.fixture(scope="module")
def corpus(stores):
    return _corpus(stores[0])


@pytest.mark.parametrize(
    "kind",
    [
        "identifiers",
        "prefixes",
        "accents",
        "fields",
        "codes names dates",
        "several terms",
        "malformed",
        "hostile",
    ],
)
def test_every_query_answers_alike(stores, corpus, kind):
    lite, pg, _ = stores
    queries = corpus[kind]
    assert len(queries) >= 20
    differ = []
    found = 0
    for query in queries:
        want, got = _answer(lite, query), _answer(pg, query)
        if want != got or _count(lite, query) != _count(pg, query):
            differ.append((query, want if want[0] == "SearchError" else len(want[0]), got))
        found += bool(want[0]) and want[0] != "SearchError"
    assert differ == [], differ[:10]
    if kind == "malformed":
        assert all(_answer(lite, q)[0] == "SearchError" for q in queries)
    elif kind != "hostile":
        assert found >= len(queries) // 3  # the corpus finds customers, not only nothing


@pytest.mark.parametrize("query", ["a", "country:pl", "m", "EUR", "e k"])
@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
def test_windows_read_alike_in_every_order(stores, query, sort):
    lite, pg, _ = stores
    for descending in (False, True):
        want = Results(lite, query, sort=sort, descending=descending)
        got = Results(pg, query, sort=sort, descending=descending)
        n = want.count(lite)
        assert got.count(pg) == n and n > 30

        def ids(results, conn, offset, limit):
            return [(r["id"], r["sort_key"]) for r in results.window(conn, offset, limit)]

        forward = [ids(want, lite, o, 37) for o in range(0, n, 37)]
        assert [ids(got, pg, o, 37) for o in range(0, n, 37)] == forward
        # Jumps (the end first, then the middle, then near the start) on fresh results.
        want = want.sorted_by(sort, descending)
        got = got.sorted_by(sort, descending)
        for offset, limit in ((n - 10, 50), (n // 2, 20), (3, 5), (n - 40, 40), (0, 60)):
            assert ids(got, pg, offset, limit) == ids(want, lite, offset, limit)


def test_null_sort_keys_are_covered(stores):
    """The windows above meet NULL sort keys (the order SQLite gives them is kept on PG)."""
    lite, _, _ = stores
    nulls = {
        sort: lite.execute(f"SELECT count(*) FROM customers WHERE {col} IS NULL").fetchone()[0]
        for sort, col in SORT_COLUMNS.items()
    }
    assert any(nulls.values()), nulls


def test_search_documents_follow_the_customer(seeded_cache, pg_cluster):
    """records.index_customers / unindex_customers (what the sync calls around an upsert)
    keep a customer's document current on PostgreSQL, inside the caller's transaction."""
    cache = Cache(seeded_cache(2000, 11))
    name = f"search_docs_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    store = _new_store(pg_cluster, name)
    try:
        ids = [r[0] for r in cache.conn().execute("SELECT id FROM customers ORDER BY id LIMIT 30")]
        _copy(cache, store, where=",".join(str(i) for i in ids))
        with store.transaction(vendor=True) as tx:
            records.index_search_values(tx, [(i,) for i in ids])
        conn = store.conn()
        first = ids[0]
        assert conn.execute("SELECT count(*) FROM customer_search").fetchone()[0] == 30
        with store.transaction(vendor=True) as tx:
            records.unindex_customers(tx, [first])
            tx.execute(
                "UPDATE customers SET last_name = ?, city = ?, state = ? WHERE id = ?",
                ("Wiśniewska-Ørsted", "Łódź", "Île-de-France", first),
            )
            records.index_customers(tx, [first])
        for query in ("wisniewska orsted", "name:ørst", "city:lodz", "state:ile-de-france"):
            assert [r["id"] for r in search(conn, query).rows] == [first], query
        assert search(conn, "name:lodz").rows == []  # the city's words are not the name's
        with pytest.raises(RuntimeError):
            with store.transaction(vendor=True) as tx:
                records.unindex_customers(tx, [first])
                raise RuntimeError("the caller's transaction fails")
        assert [r["id"] for r in search(conn, "city:lodz").rows] == [first]  # rolled back
        with store.transaction(vendor=True) as tx:
            records.unindex_customers(tx, [first])
        assert search(conn, "city:lodz").rows == []
        # A full rebuild puts it back and drops the document of a customer gone.
        with store.transaction(vendor=True) as tx:
            tx.execute("DELETE FROM customers WHERE id = ?", (ids[1],))
        assert pg_search.rebuild(store, batch=7) == 29
        assert [r["id"] for r in search(conn, "city:lodz").rows] == [first]
        assert conn.execute("SELECT count(*) FROM customer_search").fetchone()[0] == 29
    finally:
        store.close()
        cache.close()
        pg_cluster.drop_database(name)


@pytest.mark.parametrize(
    "query",
    [
        "d8c355ae7f7cf6e1",
        "FR",
        "EUR",
        "Poland",
        "1972-02-05",
        "united kingdom",
        "state:CO",
        "country:poland anna",
        "e k",
        "zip:75",
        "email:anna",
        "name:ann city:w",
        "txn:t123456789",
        "card:4242",
        "order:abc",
    ],
)
def test_every_condition_is_read_through_an_index(stores, query):
    """On PostgreSQL too a term reads its indexes (GIN on the documents, the lower() twins of
    SQLite's NOCASE indexes, country, currency, birth date), never a scan of customers, and a
    term's meanings are a union of index reads, not an OR filtering every customer."""
    from srm_tui.storage.db import POSTGRES
    from srm_tui.storage.search import compile_query

    _, _, store = stores
    where, params = compile_query(query, POSTGRES).where
    plans = []
    for sql in (
        f"SELECT count(*) FROM customers c WHERE {where}",
        f"SELECT c.id FROM customers c WHERE {where} ORDER BY c.id LIMIT 60",
    ):
        with store.transaction() as tx:
            tx.execute("SET LOCAL enable_seqscan = off")  # only where no index can serve
            plans.append("\n".join(r[0] for r in tx.execute(f"EXPLAIN {sql}", params)))
    for plan in plans:
        assert "Seq Scan" not in plan and "SubPlan" not in plan, plan


@pytest.fixture
def small_windows(monkeypatch):
    """PostgreSQL's id windows of 60, 240 and 960 customers, then the rest (2,000, 8,000, 32,000
    on a real store), so the 2,000 customers here span every window; the ids each window
    ended at, per search."""
    from srm_tui.storage import search_window

    monkeypatch.setattr(search_window, "WINDOWS", (60, 240, 960))
    bounds: list[int | None] = []
    real = search_window._bound

    def bound(*args, **kwargs):
        bounds.append(real(*args, **kwargs))
        return bounds[-1]

    monkeypatch.setattr(search_window, "_bound", bound)
    # Every query read through the windows, even one the server expects too rare for them.
    monkeypatch.setattr(search_window, "_dense", lambda *args: True)
    return bounds


def test_first_matches_read_in_id_windows_alike(stores, corpus, small_windows):
    """The first 50 matches and the windows of the id order, read on PostgreSQL a window of
    customers at a time, are SQLite's (one statement): for common prefixes (found in the first
    window), rare ones (found only in the rest), several terms, fields and codes, both ways."""
    lite, pg, _ = stores
    queries = [
        *corpus["prefixes"][:40],
        *corpus["several terms"][:40],
        *corpus["fields"][:40],
        *corpus["codes names dates"],
    ]
    windows_read = []
    for query in queries:
        assert _answer(pg, query) == _answer(lite, query), query
        small_windows.clear()
        try:
            search(pg, query, limit=50)
        except SearchError:
            continue
        windows_read.append(len(small_windows))
        for descending in (False, True):
            want = Results(lite, query, sort="id", descending=descending)
            got = Results(pg, query, sort="id", descending=descending)
            n = want.count(lite)
            assert got.count(pg) == n, query
            for offset in range(0, min(n, 120), 23):  # forward from each window's last row
                assert [r["id"] for r in got.window(pg, offset, 23)] == [
                    r["id"] for r in want.window(lite, offset, 23)
                ], (query, descending, offset)
    assert 1 in windows_read and max(windows_read) >= 2  # stopped in the first, and later


@pytest.mark.parametrize("query", ["e", "a", "ab", "m k", "zq", "xyzzy"])
def test_common_and_rare_prefixes_give_sqlites_first_page(stores, small_windows, query):
    """A prefix most customers have stops in the first window; one few or none have is read
    from its matches after the windows; either way the first 50 rows and the count are the
    SQLite cache's, in the id order."""
    lite, pg, _ = stores
    want = search(lite, query, limit=50)
    got = search(pg, query, limit=50)
    assert [tuple(r) for r in got.rows] == [tuple(r) for r in want.rows]
    assert [r["id"] for r in got.rows] == sorted(r["id"] for r in got.rows)
    assert Results(pg, query).count(pg) == Results(lite, query).count(lite)


def test_the_servers_estimate_sends_rare_queries_past_the_windows(stores, monkeypatch):
    """A query the server expects few matches of (an email, an id) is read from its matches at
    once, without the windows; a prefix most customers have is read from the first window."""
    from srm_tui.storage import search_window

    lite, pg, store = stores
    monkeypatch.setattr(search_window, "WINDOWS", (60, 240, 960))
    bounds: list[int | None] = []
    real = search_window._bound
    monkeypatch.setattr(
        search_window, "_bound", lambda *a, **k: bounds.append(real(*a, **k)) or bounds[-1]
    )
    with store.transaction(vendor=True) as tx:
        tx.execute("ANALYZE customers")  # the estimates of a store in use (autovacuum's)
        tx.execute("ANALYZE customer_search")
    customer = lite.execute("SELECT id, email FROM customers ORDER BY id DESC LIMIT 1").fetchone()
    for query, windows in ((customer["email"], 0), (str(customer["id"]), 0), ("e", 1)):
        bounds.clear()
        assert _answer(pg, query) == _answer(lite, query)
        search(pg, query, limit=50)
        assert len(bounds) == windows, query
