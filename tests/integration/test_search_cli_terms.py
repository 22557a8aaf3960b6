"""What new users typed into `srm search` (issue 12), run as `srm` processes: bare country and
currency codes, a country's English name, a whole birth date, and identifiers in another case
(CONTRACT section 6). The library-level cases are in test_search.py; these prove the command a
user runs gives the same answers."""

from __future__ import annotations

import json

import pytest

from srm_tui.storage.cache import Cache
from tests.helpers import run_srm


@pytest.fixture(scope="module")
def seeded(seeded_cache):
    db = seeded_cache(2000, 11)
    cache = Cache(db)
    yield db, cache.conn()
    cache.close()


def _srm_ids(db, query: str) -> list[int]:
    done = run_srm("search", query, "--json", "--limit", "10000", env={"SRM_DB": str(db)})
    assert done.returncode == 0, (query, done.stderr)
    return [row["id"] for row in json.loads(done.stdout)]


def _ids(conn, sql: str, *params) -> set[int]:
    return {r[0] for r in conn.execute(sql, params)}


@pytest.mark.parametrize(
    ("query", "sql", "param"),
    [
        ("FR", "SELECT id FROM customers WHERE country = ?", "FR"),
        ("pl", "SELECT id FROM customers WHERE country = ?", "PL"),
        ("EUR", "SELECT id FROM customers WHERE currency = ?", "EUR"),
        ("nok", "SELECT id FROM customers WHERE currency = ?", "NOK"),
        ("Poland", "SELECT id FROM customers WHERE country = ?", "PL"),
        ("Norway", "SELECT id FROM customers WHERE country = ?", "NO"),
    ],
)
def test_bare_codes_and_country_names_find_every_customer_of_them(seeded, query, sql, param):
    db, conn = seeded
    expected = _ids(conn, sql, param)
    assert expected, param
    found = _srm_ids(db, query)
    assert expected <= set(found), query
    assert len(found) == len(set(found))  # each customer once


def test_a_bare_birth_date_finds_exactly_the_customers_born_that_day(seeded):
    db, conn = seeded
    day = conn.execute(
        "SELECT birth_date FROM customers WHERE birth_date IS NOT NULL LIMIT 1 OFFSET 11"
    ).fetchone()[0]
    expected = _ids(conn, "SELECT id FROM customers WHERE birth_date = ?", day)
    assert set(_srm_ids(db, day)) == expected
    assert set(_srm_ids(db, f"birthdate:{day}")) == expected


def test_identifiers_typed_in_another_case_find_their_customer_first(seeded):
    db, conn = seeded
    t = conn.execute(
        "SELECT customer_id, id, external_payment_id FROM transactions "
        "WHERE external_payment_id GLOB '*[A-F]*' LIMIT 1 OFFSET 3"
    ).fetchone()
    c = conn.execute(
        "SELECT id, email, external_id FROM customers WHERE external_id GLOB '*[a-z]*' "
        "AND email IS NOT NULL LIMIT 1 OFFSET 5"
    ).fetchone()
    cases = [
        (t["external_payment_id"].lower(), t["customer_id"]),
        (f"order:{t['external_payment_id'].lower()}", t["customer_id"]),
        (t["id"].lower(), t["customer_id"]),
        (c["external_id"].upper(), c["id"]),
        (c["email"].upper(), c["id"]),
    ]
    for query, customer_id in cases:
        found = _srm_ids(db, query)
        assert found and found[0] == customer_id, query


def test_state_co_is_colorado_and_never_cote_d_azur(seeded):
    db, conn = seeded
    colorado = _ids(conn, "SELECT id FROM customers WHERE state = 'CO'")
    assert colorado
    assert set(_srm_ids(db, "state:CO")) == colorado
