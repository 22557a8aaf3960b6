"""Search (CONTRACT section 6) over a generated cache: identifiers, prefixes, fields, errors."""

from __future__ import annotations

import json
import random

import pytest

from srm_tui.sandbox.seed import seed_cache
from srm_tui.storage.cache import Cache
from srm_tui.storage.search import SearchError, parse, search
from tests.conftest import AS_OF
from tests.helpers import run_srm


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    db = tmp_path_factory.mktemp("search") / "c.db"
    cache = Cache(db)
    seed_cache(cache, 2000, 11, AS_OF)
    yield db, cache
    cache.close()


def _identifiers(conn, customer_id):
    c = conn.execute("SELECT email, external_id FROM customers WHERE id = ?",
                     (customer_id,)).fetchone()
    t = conn.execute("SELECT id, external_payment_id FROM transactions WHERE customer_id = ? "
                     "AND external_payment_id IS NOT NULL LIMIT 1", (customer_id,)).fetchone()
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
    customer_id = conn.execute("SELECT id FROM customers WHERE external_id IS NOT NULL "
                               "LIMIT 1 OFFSET 17").fetchone()[0]
    env = {"SRM_DB": str(db)}
    for value in _identifiers(conn, customer_id).values():
        result = run_srm("search", value, "--json", "--stats", env=env)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        assert rows[0]["id"] == customer_id
        assert set(rows[0]) == {"id", "email", "first_name", "last_name", "country", "currency",
                                "registered_at", "last_login_at", "transactions",
                                "last_payment_method"}
        assert rows[0]["registered_at"].endswith("Z")
        stats = json.loads(result.stderr.strip().splitlines()[-1])
        assert stats["rows"] == len(rows) and stats["elapsed_ms"] >= 0


def test_prefix_terms_are_anded_and_fold_accents(seeded):
    _, cache = seeded
    conn = cache.conn()
    row = conn.execute("SELECT id, first_name, last_name, city FROM customers WHERE first_name "
                       "IS NOT NULL AND city IS NOT NULL AND length(last_name) > 3 "
                       "AND first_name GLOB '[A-Za-z]*' LIMIT 1").fetchone()
    query = f"{row['first_name'][:3].upper()} {row['last_name'][:3]}"
    ids = [r["id"] for r in search(conn, query, limit=500).rows]
    assert row["id"] in ids
    for hit in search(conn, query, limit=500).rows:
        assert hit["first_name"] and hit["last_name"]
    narrowed = search(conn, f"{query} city:{row['city']}", limit=500).rows
    assert row["id"] in [r["id"] for r in narrowed] and len(narrowed) <= len(ids)
    # Accents fold both ways: a plain query finds the accented name.
    accented = conn.execute("SELECT id, last_name FROM customers WHERE last_name IN "
                            "('Müller', 'Wiśniewska', 'Gonçalves', 'Lefèvre', 'Jørgensen', "
                            "'Dąbrowski', 'Łukasiewicz', 'Kowalczyk') LIMIT 1").fetchone()
    if accented:
        from srm_tui.domain.fold import fold

        assert accented["id"] in [r["id"] for r in search(conn, fold(accented["last_name"]),
                                                           limit=2000).rows]


def test_field_filters(seeded):
    _, cache = seeded
    conn = cache.conn()
    pd = conn.execute("SELECT customer_id, last4 FROM payment_details WHERE last4 IS NOT NULL "
                      "LIMIT 1").fetchone()
    assert pd["customer_id"] in [r["id"] for r in search(conn, f"card:{pd['last4']}",
                                                          limit=2000).rows]
    c = conn.execute("SELECT id, country, currency, birth_date, post_code FROM customers "
                     "WHERE birth_date IS NOT NULL AND post_code IS NOT NULL LIMIT 1").fetchone()
    hits = search(conn, f"country:{c['country'].lower()} birthdate:{c['birth_date']}").rows
    assert c["id"] in [r["id"] for r in hits]
    assert all(r["country"] == c["country"] for r in hits)
    assert c["id"] in [r["id"] for r in search(conn, f'zip:"{c["post_code"]}"', 2000).rows]
    assert c["id"] in [r["id"] for r in search(conn, f"currency:{c['currency']} id:{c['id']}").rows]


@pytest.mark.parametrize(("query", "message"), [
    ("txn:T12", "txn:"), ("id:abc", "id:"), ("birthdate:1990/01/01", "birthdate:"),
    ("card:12", "card:"), ("colour:red", "unknown field colour:"), ("email:", "needs a value"),
])
def test_invalid_queries_name_the_fault(seeded, query, message):
    _, cache = seeded
    with pytest.raises(SearchError, match=message):
        search(cache.conn(), query)


@pytest.mark.parametrize("query", [
    "'; DROP TABLE customers; --", '"unbalanced', "a OR b", "NEAR(a b)", "*", "^x", "x AND",
    "[bold red]x[/]", "\x1b[31m", "ن", "😀 smile", "a" * 5000, "%", "_",
])
def test_hostile_queries_never_fail_sql(seeded, query):
    _, cache = seeded
    try:
        search(cache.conn(), query)
    except SearchError:
        pass
    assert cache.conn().execute("SELECT count(*) FROM customers").fetchone()[0] == 2000


def test_parse_quotes_and_fields():
    terms = parse('name:"Anna Maria" kraków email:x@y.co')
    assert [(t.field, t.value) for t in terms] == [("name", "Anna Maria"), (None, "kraków"),
                                                   ("email", "x@y.co")]
