"""Search (CONTRACT section 6) over a generated cache: identifiers, prefixes, fields, errors."""

from __future__ import annotations

import json
import random

import pytest

from srm_tui.storage.cache import Cache
from srm_tui.storage.search import SearchError, parse, search
from tests.helpers import run_srm


@pytest.fixture(scope="module")
def seeded(seeded_cache):
    db = seeded_cache(2000, 11)
    cache = Cache(db)
    yield db, cache
    cache.close()


def _identifiers(conn, customer_id):
    c = conn.execute(
        "SELECT email, external_id FROM customers WHERE id = ?", (customer_id,)
    ).fetchone()
    t = conn.execute(
        "SELECT id, external_payment_id FROM transactions WHERE customer_id = ? "
        "AND external_payment_id IS NOT NULL LIMIT 1",
        (customer_id,),
    ).fetchone()
    out = {"id": str(customer_id), "email": c["email"]}
    if c["external_id"]:
        out["external id"] = c["external_id"]
    if t:
        out["transaction id"] = t["id"]
        out["external order id"] = t["external_payment_id"]
    return out


def test_every_identifier_finds_its_customer_first(seeded):
    _, cache = seeded
    conn = cache.conn()
    ids = [r[0] for r in conn.execute("SELECT id FROM customers WHERE email IS NOT NULL")]
    kinds_seen = set()
    for customer_id in random.Random(3).sample(ids, 150):
        for kind, value in _identifiers(conn, customer_id).items():
            result = search(conn, value, limit=10)
            assert result.rows, (kind, value)
            assert result.rows[0]["id"] == customer_id, (kind, value)
            assert customer_id in result.exact_ids
            kinds_seen.add(kind)
    assert kinds_seen == {"id", "email", "external id", "transaction id", "external order id"}


def test_cli_search_json_and_stats(seeded):
    db, cache = seeded
    conn = cache.conn()
    customer_id = conn.execute(
        "SELECT id FROM customers WHERE external_id IS NOT NULL LIMIT 1 OFFSET 17"
    ).fetchone()[0]
    env = {"SRM_DB": str(db)}
    for value in _identifiers(conn, customer_id).values():
        result = run_srm("search", value, "--json", "--stats", env=env)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        assert rows[0]["id"] == customer_id
        assert set(rows[0]) == {
            "id",
            "email",
            "first_name",
            "last_name",
            "country",
            "currency",
            "registered_at",
            "last_login_at",
            "transactions",
            "last_payment_method",
        }
        assert rows[0]["registered_at"].endswith("Z")
        stats = json.loads(result.stderr.strip().splitlines()[-1])
        assert stats["rows"] == len(rows) and stats["elapsed_ms"] >= 0


def test_prefix_terms_are_anded_and_fold_accents(seeded):
    _, cache = seeded
    conn = cache.conn()
    row = conn.execute(
        "SELECT id, first_name, last_name, city FROM customers WHERE first_name "
        "IS NOT NULL AND city IS NOT NULL AND length(last_name) > 3 "
        "AND first_name GLOB '[A-Za-z]*' LIMIT 1"
    ).fetchone()
    query = f"{row['first_name'][:3].upper()} {row['last_name'][:3]}"
    ids = [r["id"] for r in search(conn, query, limit=500).rows]
    assert row["id"] in ids
    for hit in search(conn, query, limit=500).rows:
        assert hit["first_name"] and hit["last_name"]
    narrowed = search(conn, f"{query} city:{row['city']}", limit=500).rows
    assert row["id"] in [r["id"] for r in narrowed] and len(narrowed) <= len(ids)
    # Accents fold both ways: a plain query finds the accented name.
    accented = conn.execute(
        "SELECT id, last_name FROM customers WHERE last_name IN "
        "('Müller', 'Wiśniewska', 'Gonçalves', 'Lefèvre', 'Jørgensen', "
        "'Dąbrowski', 'Łukasiewicz', 'Kowalczyk') LIMIT 1"
    ).fetchone()
    if accented:
        from srm_tui.domain.fold import fold

        assert accented["id"] in [
            r["id"] for r in search(conn, fold(accented["last_name"]), limit=2000).rows
        ]


def test_field_filters(seeded):
    _, cache = seeded
    conn = cache.conn()
    pd = conn.execute(
        "SELECT customer_id, last4 FROM payment_details WHERE last4 IS NOT NULL LIMIT 1"
    ).fetchone()
    assert pd["customer_id"] in [
        r["id"] for r in search(conn, f"card:{pd['last4']}", limit=2000).rows
    ]
    c = conn.execute(
        "SELECT id, country, currency, birth_date, post_code FROM customers "
        "WHERE birth_date IS NOT NULL AND post_code IS NOT NULL LIMIT 1"
    ).fetchone()
    hits = search(conn, f"country:{c['country'].lower()} birthdate:{c['birth_date']}").rows
    assert c["id"] in [r["id"] for r in hits]
    assert all(r["country"] == c["country"] for r in hits)
    assert c["id"] in [r["id"] for r in search(conn, f'zip:"{c["post_code"]}"', 2000).rows]
    assert c["id"] in [r["id"] for r in search(conn, f"currency:{c['currency']} id:{c['id']}").rows]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("txn:T12", "txn:"),
        ("id:abc", "id:"),
        ("birthdate:1990/01/01", "birthdate:"),
        ("card:12", "card:"),
        ("colour:red", "unknown field colour:"),
        ("email:", "needs a value"),
    ],
)
def test_invalid_queries_name_the_fault(seeded, query, message):
    _, cache = seeded
    with pytest.raises(SearchError, match=message):
        search(cache.conn(), query)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE customers; --",
        '"unbalanced',
        "a OR b",
        "NEAR(a b)",
        "*",
        "^x",
        "x AND",
        "[bold red]x[/]",
        "\x1b[31m",
        "ن",
        "😀 smile",
        "a" * 5000,
        "%",
        "_",
    ],
)
def test_hostile_queries_never_fail_sql(seeded, query):
    _, cache = seeded
    try:
        search(cache.conn(), query)
    except SearchError:
        pass
    assert cache.conn().execute("SELECT count(*) FROM customers").fetchone()[0] == 2000


def test_parse_quotes_and_fields():
    terms = parse('name:"Anna Maria" kraków email:x@y.co')
    assert [(t.field, t.value) for t in terms] == [
        ("name", "Anna Maria"),
        (None, "kraków"),
        ("email", "x@y.co"),
    ]


# -- what a bare term also matches (CONTRACT section 6) ----------------------------------------


def _ids(conn, sql, *params):
    return {r[0] for r in conn.execute(sql, params)}


def _found(conn, query):
    return {r["id"] for r in search(conn, query, limit=100_000).rows}


@pytest.mark.parametrize("code", ["FR", "fr", "PL"])
def test_bare_country_code_matches_the_country(seeded, code):
    _, cache = seeded
    conn = cache.conn()
    expected = _ids(conn, "SELECT id FROM customers WHERE country = ?", code.upper())
    assert expected and expected <= _found(conn, code)


@pytest.mark.parametrize("code", ["EUR", "nok", "PLN"])
def test_bare_currency_code_matches_the_currency(seeded, code):
    _, cache = seeded
    conn = cache.conn()
    expected = _ids(conn, "SELECT id FROM customers WHERE currency = ?", code.upper())
    assert expected and expected <= _found(conn, code)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Poland", "PL"),
        ("poland", "PL"),
        ("Germany", "DE"),
        ('"United Kingdom"', "GB"),
        ("united kingdom", "GB"),
        ("Norway", "NO"),
    ],
)
def test_bare_country_name_matches_the_country(seeded, name, code):
    _, cache = seeded
    conn = cache.conn()
    expected = _ids(conn, "SELECT id FROM customers WHERE country = ?", code)
    found = _found(conn, name)
    assert expected and expected <= found
    fielded = f'country:"{name}"' if " " in name and '"' not in name else f"country:{name}"
    assert _found(conn, fielded) == expected


def test_bare_birth_date_matches_the_whole_date(seeded):
    _, cache = seeded
    conn = cache.conn()
    day = conn.execute(
        "SELECT birth_date FROM customers WHERE birth_date IS NOT NULL LIMIT 1 OFFSET 7"
    ).fetchone()[0]
    expected = _ids(conn, "SELECT id FROM customers WHERE birth_date = ?", day)
    assert _found(conn, day) == expected
    assert _found(conn, f"birthdate:{day}") == expected


def test_state_is_the_whole_state_not_a_word_prefix(seeded):
    _, cache = seeded
    conn = cache.conn()
    colorado = _ids(conn, "SELECT id FROM customers WHERE state = 'CO'")
    azur = _ids(conn, "SELECT id FROM customers WHERE state LIKE '%Côte d''Azur%'")
    assert colorado and azur
    assert _found(conn, "state:CO") == colorado
    assert _found(conn, "state:co") == colorado
    ile = _ids(conn, "SELECT id FROM customers WHERE state = 'Île-de-France'")
    assert ile and _found(conn, "state:ile-de-france") == ile
    assert _found(conn, 'state:"Provence-Alpes-Côte d\'Azur"') == azur
    assert _found(conn, "state:Provence") == set()  # a word of it is not the state


def test_identifiers_match_without_case(seeded):
    _, cache = seeded
    conn = cache.conn()
    t = conn.execute(
        "SELECT customer_id, id, external_payment_id FROM transactions "
        "WHERE external_payment_id GLOB '*[A-F]*' LIMIT 1"
    ).fetchone()
    for query in (
        t["external_payment_id"].lower(),
        f"order:{t['external_payment_id'].lower()}",
        t["id"].lower(),
    ):
        result = search(conn, query, limit=5)
        assert result.rows and result.rows[0]["id"] == t["customer_id"], query
        assert t["customer_id"] in result.exact_ids
    c = conn.execute(
        "SELECT id, external_id FROM customers WHERE external_id GLOB '*[a-z]*' LIMIT 1"
    ).fetchone()
    for query in (c["external_id"].upper(), f"ext:{c['external_id'].upper()}"):
        assert search(conn, query, limit=5).rows[0]["id"] == c["id"], query


def _plan(conn, query):
    from srm_tui.storage.search import compile_query

    where, params = compile_query(query).where
    steps = [
        r[3]
        for r in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT c.id FROM customers c WHERE {where}", params
        )
    ]
    scans = [
        s
        for s in steps
        if s in ("SCAN c", "SCAN transactions") or s.startswith(("SCAN c ", "SCAN transactions "))
    ]
    return " | ".join(steps), scans


def test_identifier_lookups_stay_indexed(seeded):
    """Lower-case identifiers go through the NOCASE indexes, not a scan of every customer."""
    _, cache = seeded
    plan, scans = _plan(cache.conn(), "d8c355ae7f7cf6e1")
    assert not scans, plan
    assert "customers_external_id_nocase" in plan and "transactions_external_nocase" in plan


@pytest.mark.parametrize(
    "query",
    ["FR", "EUR", "Poland", "1972-02-05", "united kingdom", "state:CO", "country:poland anna"],
)
def test_codes_names_and_dates_stay_indexed(seeded, query):
    """A bare term's extra meanings are indexed lookups too: never a scan of customers."""
    _, cache = seeded
    plan, scans = _plan(cache.conn(), query)
    assert not scans, plan


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("birthdate:1972", "birthdate: a whole date"),
        ("birthdate:1972-13-45", "not a date"),
        ("email:-", "email: nothing"),
        ("email:'", "email: nothing"),
        ("email:)", "email: nothing"),
        ("email:*", "email: nothing"),
        ("id:" + "4" * 26, "id: too many digits"),
        ("country:Atlantis", "country:"),
        ("currency:euro", "currency:"),
        ("state:)", "state:"),
    ],
)
def test_malformed_fielded_terms_are_errors(seeded, query, message):
    _, cache = seeded
    with pytest.raises(SearchError, match=message):
        search(cache.conn(), query)


@pytest.mark.parametrize(
    "query", ["email:'", "email:)", "email:*", "email:-", "id:" + "4" * 26, "birthdate:1972-13-45"]
)
def test_cli_bad_search_term_exits_2_naming_it(seeded, query):
    db, _ = seeded
    result = run_srm("search", query, env={"SRM_DB": str(db)})
    assert result.returncode == 2, result.stderr
    field = query.split(":")[0]
    assert f"{field}:" in result.stderr and "Error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_26_digit_bare_id_answers(seeded):
    db, _ = seeded
    result = run_srm("search", "4" * 26, env={"SRM_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert "no customer matches" in result.stderr


# -- every match, a window at a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "descending"),
    [
        ("id", False),
        ("id", True),
        ("last_login_at", False),
        ("last_login_at", True),
        ("email", False),
    ],
)
def test_results_page_through_every_match(seeded, sort, descending):
    from srm_tui.storage.queries import SORT_COLUMNS
    from srm_tui.storage.search import Results

    _, cache = seeded
    conn = cache.conn()
    expr = SORT_COLUMNS[sort]
    d = "DESC" if descending else "ASC"
    expected = [
        r[0]
        for r in conn.execute(
            f"SELECT id FROM customers WHERE country = 'PL' ORDER BY {expr} {d}, id {d}"
        )
    ]
    assert len(expected) > 100
    results = Results(conn, "country:pl", sort=sort, descending=descending)
    assert results.count(conn) == len(expected)
    forward = [r["id"] for o in range(0, len(expected), 37) for r in results.window(conn, o, 37)]
    assert forward == expected
    # Jumps (the end first, then the middle) give the same rows as reading in order.
    fresh = Results(conn, "country:pl", sort=sort, descending=descending)
    n = len(expected)
    assert [r["id"] for r in fresh.window(conn, n - 10, 50)] == expected[n - 10 :]
    assert [r["id"] for r in fresh.window(conn, n // 2, 20)] == expected[n // 2 : n // 2 + 20]
    assert [r["id"] for r in fresh.window(conn, 3, 5)] == expected[3:8]


def test_results_put_exact_matches_first_then_the_rest(seeded):
    from srm_tui.storage.search import Results

    _, cache = seeded
    conn = cache.conn()
    customer_id = conn.execute("SELECT id FROM customers ORDER BY id DESC LIMIT 1").fetchone()[0]
    results = Results(conn, str(customer_id))
    rows = results.window(conn, 0, 10)
    assert rows[0]["id"] == customer_id and results.exact_ids == {customer_id}
    assert results.count(conn) == len({r["id"] for r in rows}) == len(rows)


def test_cli_limit_still_applies(seeded):
    db, _ = seeded
    result = run_srm("search", "country:pl", "--limit", "7", "--json", env={"SRM_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 7
