"""SQLite placeholders in psycopg's style (storage/pg/translate.py): explicit cases and a property
over statements assembled from every kind of piece the scanner must tell apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srm_tui.storage.pg.translate import positional_count, to_psycopg


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("WHERE a = :now AND b >= :p0", "WHERE a = %(now)s AND b >= %(p0)s"),
        ("(:a,:b)", "(%(a)s,%(b)s)"),
        ("SELECT x::text, y::bigint[]", "SELECT x::text, y::bigint[]"),
        ("SELECT :v::text", "SELECT %(v)s::text"),
        ("SELECT ?::jsonb", "SELECT %s::jsonb"),
        ("SELECT 5 % 2", "SELECT 5 %% 2"),
        ("SELECT '100%'", "SELECT '100%%'"),
        ("SELECT 'it''s ? and :x'", "SELECT 'it''s ? and :x'"),
        ("SELECT '' , ?", "SELECT '' , %s"),
        ('SELECT "odd?col", "a "" :b" FROM t', 'SELECT "odd?col", "a "" :b" FROM t'),
        ("SELECT 1 -- is it ? :x\n, ?", "SELECT 1 -- is it ? :x\n, %s"),
        ("SELECT 1 -- trailing ?", "SELECT 1 -- trailing ?"),
        (
            "SELECT /* a ? /* nested :x */ still ? */ ?",
            "SELECT /* a ? /* nested :x */ still ? */ %s",
        ),
        ("SELECT E'\\' ?' , ?", "SELECT E'\\' ?' , %s"),
        ("SELECT e'a\\\\' , ?", "SELECT e'a\\\\' , %s"),
        ("SELECT 'a\\' , ?", "SELECT 'a\\' , %s"),  # a plain literal: \ is just a character
        ("DO $$ BEGIN x := ?; END $$; SELECT ?", "DO $$ BEGIN x := ?; END $$; SELECT %s"),
        ("SELECT $fn$ :a ? $fn$ || :b", "SELECT $fn$ :a ? $fn$ || %(b)s"),
        ("SELECT a$1 + ?", "SELECT a$1 + %s"),
        ("SELECT json_extract(j, '$.\"k\"'), ?", "SELECT json_extract(j, '$.\"k\"'), %s"),
        ("SELECT x ->> ?", "SELECT x ->> %s"),
        ("SELECT a:b", "SELECT a:b"),  # not a parameter: glued to a word
        ("SELECT 'open ?", "SELECT 'open ?"),  # unterminated: left for the server to refuse
        ("SELECT 'open %", "SELECT 'open %%"),
    ],
)
def test_explicit_cases(sql, expected):
    assert to_psycopg(sql) == expected


def test_positional_count_skips_literals_and_comments():
    assert positional_count("SELECT ?, '?', \"?\" -- ?\n, ?") == 2
    assert positional_count(":a || :b") == 0


# Pieces: (SQLite text, psycopg text). A piece never changes meaning next to another when
# joined with a space, so the translation of the whole is the join of the pieces'.
_WORDS = st.sampled_from(["SELECT", "a", "t.b", "=", "(", ")", ",", "||", "x1", "->>", "5"])
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=12,
)
_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


def _pieces() -> st.SearchStrategy[tuple[str, str]]:
    literal = _TEXT.map(lambda s: "'" + s.replace("'", "''") + "'")
    ident = _TEXT.map(lambda s: '"' + s.replace('"', '""') + '"')
    line_comment = _TEXT.filter(lambda s: "\n" not in s).map(lambda s: "--" + s + "\n")
    block_comment = _TEXT.filter(lambda s: "*/" not in s and "/*" not in s).map(
        lambda s: "/*" + s + "*/"
    )
    dollar = _TEXT.filter(lambda s: "$" not in s).map(lambda s: "$q$" + s + "$q$")
    quoted = st.one_of(literal, ident, line_comment, block_comment, dollar)
    return st.one_of(
        _WORDS.map(lambda w: (w, w)),
        st.just(("?", "%s")),
        _NAMES.map(lambda n: (":" + n, f"%({n})s")),
        _NAMES.map(lambda n: ("::" + n, "::" + n)),
        st.just(("%", "%%")),
        quoted.map(lambda q: (q, q.replace("%", "%%"))),
    )


@given(st.lists(_pieces(), max_size=25))
def test_translation_is_the_join_of_the_pieces(pieces):
    sql = " ".join(p[0] for p in pieces)
    expected = " ".join(p[1] for p in pieces)
    assert to_psycopg(sql) == expected
    assert positional_count(sql) == sum(1 for p in pieces if p[0] == "?")


@given(_TEXT)
def test_text_without_markers_only_doubles_percent(text):
    plain = "".join(c for c in text if c not in "?:'\"-/$%")
    assert to_psycopg(plain + " %") == plain + " %%"
