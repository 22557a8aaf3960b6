"""The PostgreSQL store's search words (storage.pg.search) are FTS5's words: the document of a
customer and the words of a query are cut as the SQLite cache's unicode61 tokenizer cuts them,
for every character; the tsvector and tsquery literals are pinned here (no server needed:
tests/integration/test_search_backends.py runs them on one)."""

from __future__ import annotations

import random
import sqlite3

from srm_tui.domain.fold import fold
from srm_tui.storage.pg import search as pg_search


def _fts5_words(texts: list[str]) -> list[list[str]]:
    """What the cache's own FTS5 table (storage/schema.py customers_fts) makes of each text."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE f USING fts5 (x, content='', "
        'tokenize="unicode61 remove_diacritics 2")'
    )
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    db.executemany("INSERT INTO f (rowid, x) VALUES (?, ?)", enumerate(texts, 1))
    out: list[list[str]] = [[] for _ in texts]
    for doc, term in db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
        out[doc - 1].append(term)
    db.close()
    return out


def test_every_character_is_cut_as_fts5_cuts_it():
    # Each code point between two letters, folded as the index folds it: FTS5 either keeps it
    # in the word or splits the word there; the PG side must do the same everywhere.
    texts = [
        "a" + fold(chr(c)) + "b"
        for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and (c < 0x3000 or c % 29 == 0)
    ]
    rows = [[t] for t in texts]
    assert [r[0] for r in pg_search.tokenize_rows(rows)] == _fts5_words(texts)


def test_ascii_text_cut_in_python_matches_fts5():
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    texts += ["x_y foo", "O'Brien-Smith", "a.b@c.co", "ÀB"]  # the last one goes through SQLite
    assert [pg_search.tokens(t) for t in texts] == _fts5_words(texts)


def test_fields_keep_their_own_words_and_positions():
    rows = pg_search.tokenize_rows(
        [[fold("Anna.Łuk@x.pl"), fold("Anna Łukasz"), "", "", fold("Côte d'Azur"), "co", "75 001"]]
    )
    assert rows == [[["anna", "luk", "x", "pl"], ["anna", "lukasz"], [], [], ["cote", "d", "azur"],
                     ["co"], ["75", "001"]]]  # fmt: skip
    doc = pg_search.document(rows[0])
    gap = pg_search.GAP
    assert doc == (
        f"'anna':1A,{gap + 1}B 'luk':2A 'x':3A 'pl':4A 'lukasz':{gap + 2}B "
        f"'cote':{4 * gap + 1}C 'd':{4 * gap + 2}C 'azur':{4 * gap + 3}C "
        f"'co':{5 * gap + 1}D '75':{6 * gap + 1}D '001':{6 * gap + 2}D"
    )


def test_a_field_longer_than_its_block_stays_in_it():
    words = [f"w{i}" for i in range(pg_search.GAP + 5)]
    doc = pg_search.document([words, [], [], [], [], [], ["next"]])
    assert f"'w{pg_search.GAP + 4}':{pg_search.GAP}A" in doc
    assert f"'next':{6 * pg_search.GAP + 1}D" in doc


def test_phrase_queries_and_their_weights():
    assert pg_search.phrase_query(["cote", "d", "az"]) == "'cote' <-> 'd' <-> 'az':*"
    assert pg_search.phrase_query(["anna"], "B") == "'anna':*B"
    assert pg_search.phrase_query(["o", "brien"], "A") == "'o':A <-> 'brien':*A"


def test_lexemes_are_quoted_and_cut_to_what_postgresql_takes():
    assert pg_search.phrase_query(["it's", "a\\b"]) == "'it''s' <-> 'a\\\\b':*"
    long = "ż" * 2000  # 4,000 bytes: cut on a character boundary under 2,046 bytes
    literal = pg_search.phrase_query([long])
    assert literal == "'" + "ż" * 1023 + "':*"


def test_state_words_only_where_fts5_finds_the_state_first():
    def state(value):
        return pg_search.state_words(value, pg_search.tokens(fold(value)))

    assert state("Île-de-France") == "ile de france"
    assert state("CO") == "co"
    assert state("Provence-Alpes-Côte d'Azur") == "provence alpes cote d azur"
    assert state("a_b") == "a_b"  # the query side keeps the underscore, FTS5 splits there
    assert state(None) is None and state("") is None and state("--") is None
