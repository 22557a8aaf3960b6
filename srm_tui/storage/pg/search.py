"""Customer search on the PostgreSQL store: the same answers as the SQLite cache's FTS5 index
(CONTRACT section 6), from a table of tsvector documents (``customer_search``).

Words are what SQLite's FTS5 tokenizer (unicode61, remove_diacritics 2) makes of the folded
text: the document of a customer and the words of a query are cut by that very tokenizer (an
in-memory FTS5 table; plain ASCII text, nearly all of it, is cut in Python the same way), so a
character FTS5 counts as part of a word is part of a word here too. Each indexed field gets its
own block of positions (``GAP`` apart) so a phrase never runs from one field into the next, as
in FTS5, and a weight: email A, name B, city C, the rest D; a fielded term asks for its weight.
``zip:`` also checks the post code's words (``zip_words``), since D is shared; ``state:`` is
the whole state's words (``state_words``), set only where FTS5's "first words of the state"
test would hold too.

No psycopg here: statements go through the store's connection proxy.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from srm_tui.domain.fold import fold
from srm_tui.storage.search_window import ID_RANGE

# The FTS5 table's columns, in its order (storage/schema.py customers_fts).
FIELDS = ("email", "name", "company", "address", "city", "state", "post_code")
WEIGHTS = {"email": "A", "name": "B", "city": "C"}  # every other field: D
# Positions per field: PostgreSQL keeps positions up to 16,383, so 7 fields of 2,048. Words past
# a field's 2,047th share its last position (phrases that deep would not match; no real field
# has that many words).
GAP = 2048
MAX_LEXEME_BYTES = 2046  # PostgreSQL refuses a longer word in a tsvector or a tsquery

# The tokenizer's table: the index's fields, and one more for a text cut beside them.
_COLUMNS = (*FIELDS, "other")
_ASCII_WORD = re.compile(r"[0-9a-z]+")
_TOKENIZE = 'tokenize="unicode61 remove_diacritics 2"'
_local = threading.local()


def _tokenizer() -> sqlite3.Connection:
    """This thread's in-memory FTS5 table with the cache's tokenizer, and its word list."""
    db = getattr(_local, "db", None)
    if db is None:
        db = sqlite3.connect(":memory:")
        cols = ", ".join(_COLUMNS)
        db.execute(f"CREATE VIRTUAL TABLE words USING fts5 ({cols}, content='', {_TOKENIZE})")
        db.execute("CREATE VIRTUAL TABLE word_list USING fts5vocab(words, instance)")
        _local.db = db
    return db


def _ascii_words(text: str) -> list[str]:
    # unicode61 on ASCII: letters and digits make words, everything else separates them, and
    # letters are lower-cased.
    return _ASCII_WORD.findall(text.lower())


def tokenize_rows(rows: Sequence[Sequence[str]]) -> list[list[list[str]]]:
    """The words FTS5 sees in each field of each row (rows of up to len(FIELDS) + 1 folded
    texts), in order."""
    out: list[list[list[str]] | None] = []
    hard: list[tuple[int, Sequence[str]]] = []
    for i, row in enumerate(rows):
        if all(text.isascii() for text in row):
            out.append([_ascii_words(text) for text in row])
        else:
            out.append(None)
            hard.append((i, row))
    if hard:
        db = _tokenizer()
        width = max(len(row) for _, row in hard)
        cols = ", ".join(_COLUMNS[:width])
        marks = ", ".join("?" * (width + 1))
        try:
            db.executemany(
                f"INSERT INTO words (rowid, {cols}) VALUES ({marks})",
                [(i + 1, *row, *[""] * (width - len(row))) for i, row in hard],
            )
            for i, row in hard:
                out[i] = [[] for _ in row]
            column = {name: n for n, name in enumerate(_COLUMNS)}
            for doc, col, _, term in db.execute(
                "SELECT doc, col, offset, term FROM word_list ORDER BY doc, col, offset"
            ):
                out[doc - 1][column[col]].append(term)  # type: ignore[index]
        finally:
            db.execute("INSERT INTO words (words) VALUES ('delete-all')")
    return out  # type: ignore[return-value]


def tokens(text: str) -> list[str]:
    """The words FTS5 makes of one text (a query's phrase is cut the same way)."""
    return tokenize_rows([[text]])[0][0]


def _lexeme(word: str) -> str:
    data = word.encode()
    if len(data) > MAX_LEXEME_BYTES:
        word = data[:MAX_LEXEME_BYTES].decode(errors="ignore")
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def document(fields: Sequence[list[str]]) -> str:
    """A tsvector literal of a customer's words per field (in FIELDS order)."""
    positions: dict[str, list[str]] = {}
    for n, (name, words) in enumerate(zip(FIELDS, fields, strict=True)):
        weight = WEIGHTS.get(name, "D")
        base = 1 + n * GAP
        for i, word in enumerate(words):
            positions.setdefault(_lexeme(word), []).append(f"{base + min(i, GAP - 1)}{weight}")
    return " ".join(f"{lexeme}:{','.join(at)}" for lexeme, at in positions.items())


def phrase_query(words: list[str], weight: str | None = None) -> str:
    """A tsquery literal: these words one after another, the last one a prefix (FTS5's
    ``"w1 w2"*``), each of the given weight when the term names a field."""
    w = weight or ""
    parts = [f"{_lexeme(word)}:{w}" if w else _lexeme(word) for word in words[:-1]]
    parts.append(f"{_lexeme(words[-1])}:*{w}")
    return " <-> ".join(parts)


_WORDS = re.compile(r"\w+")


def _whole(state: str | None) -> str:
    return " ".join(_WORDS.findall(fold(state)))  # storage.search._words


def state_words(
    state: str | None, state_tokens: list[str], whole_tokens: list[str] | None = None
) -> str | None:
    """What a ``state:`` term must equal: the state's words as the query side folds them
    (storage.search._words), where FTS5 would also find those words at the start of the
    state (``state_tokens``: its words in the index; ``whole_tokens``: FTS5's words of the
    query side's, when already cut); else None (no ``state:`` term finds it on SQLite
    either)."""
    whole = _whole(state)
    if not whole:
        return None
    wanted = tokens(whole) if whole_tokens is None else whole_tokens
    if not wanted or state_tokens[: len(wanted)] != wanted:
        return None
    return whole


# The SQL a text term becomes -----------------------------------------------------------------

# ID_RANGE marks where a search read in id windows puts the window's range
# (storage.search_window): a text term's id set is then read for that window only, through its
# index or the key.
_DOC = f"c.id IN (SELECT id FROM customer_search WHERE doc @@ ?::tsquery{ID_RANGE})"
_ZIP = (
    "c.id IN (SELECT id FROM customer_search WHERE doc @@ ?::tsquery "
    f"AND strpos(' ' || zip_words, ?) > 0{ID_RANGE})"
)
# A state is an equality on a btree, which the server plans well in one statement.
_STATE = "c.id IN (SELECT id FROM customer_search WHERE state_words = ?)"
_IN = "c.id IN ("
_NOTHING = "(1 = 0)"  # words FTS5 cuts down to none: its phrase matches no row
_COLUMN_WEIGHT = {**WEIGHTS, "post_code": "D"}  # the fields a term can name


class PgText:
    """Text terms as SQL on the PostgreSQL store (the SQLite side: storage.search)."""

    ext = '(lower((c.external_id) COLLATE "C") = lower((?) COLLATE "C"))'
    order = (
        "c.id IN (SELECT customer_id FROM transactions "
        'WHERE lower((external_payment_id) COLLATE "C") = lower((?) COLLATE "C"))'
    )

    @staticmethod
    def any(options: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
        """Any of the options, as one id set: a union of each option's ids. PostgreSQL plans
        an OR of subqueries as a filter over every customer; each branch of the union is
        read through its own index instead (SQLite does this by itself)."""
        if len(options) == 1:
            return options[0]
        branches = []
        for sql, _ in options:
            inner = sql[len(_IN) : -1] if sql.startswith(_IN) and sql.endswith(")") else None
            branches.append(inner or f"SELECT c.id FROM customers c WHERE ({sql}){ID_RANGE}")
        return (
            f"{_IN}{' UNION ALL '.join(branches)})",
            [p for _, ps in options for p in ps],
        )

    def words(self, words: str, column: str | None) -> tuple[str, list[Any]]:
        """A prefix phrase of ``words`` (non-empty, as storage.search._words gives them),
        anywhere or in ``column``."""
        found = tokens(words)
        if not found:
            return _NOTHING, []
        query = phrase_query(found, _COLUMN_WEIGHT[column] if column else None)
        if column == "post_code":
            return _ZIP, [query, " " + " ".join(found)]
        return _DOC, [query]

    def state(self, words: str) -> tuple[str, list[Any]]:
        """The whole state equal to ``words`` (as storage.search._words gives them)."""
        return _STATE, [words]


PG_TEXT = PgText()


# Writing the documents ------------------------------------------------------------------------

_ALL = (
    "SELECT id, email, first_name, last_name, company, address, city, state, post_code "
    "FROM customers"
)
_SOURCE = _ALL + " WHERE id IN ({})"
_UPSERT = (
    "INSERT INTO customer_search (id, doc, zip_words, state_words) VALUES (?, ?::tsvector, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, zip_words = excluded.zip_words, "
    "state_words = excluded.state_words"
)


def search_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[int, str, str | None, str | None]]:
    """customer_search rows of customers rows (id, email, first_name, last_name, company,
    address, city, state, post_code), folded as storage.records folds the FTS5 index's."""
    folded = [
        (
            fold(r[1]),
            fold(" ".join(p for p in (r[2], r[3]) if p)),
            *(fold(v) for v in r[4:9]),
            _whole(r[7]),  # cut beside the fields: what a state: term is compared with
        )
        for r in rows
    ]
    out = []
    for r, cut in zip(rows, tokenize_rows(folded), strict=True):
        fields = cut[: len(FIELDS)]
        out.append(
            (
                r[0],
                document(fields),
                " ".join(fields[FIELDS.index("post_code")]) or None,
                state_words(r[7], fields[FIELDS.index("state")], cut[len(FIELDS)]),
            )
        )
    return out


def index_customers(conn: Any, ids: Sequence[int]) -> None:
    """Write the search documents of these customers from their current rows."""
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(_SOURCE.format(",".join("?" * len(chunk))), chunk).fetchall()
        if rows:
            conn.executemany(_UPSERT, search_rows(rows))


def unindex_customers(conn: Any, ids: Sequence[int]) -> None:
    """Take these customers' search documents out."""
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(
            f"DELETE FROM customer_search WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )


def rebuild(store: Any, batch: int = 5000) -> int:
    """Write every customer's search document again, ``batch`` customers per transaction (a
    vendor writer's: a sync cannot change a customer under it), and drop documents of
    customers gone. Returns how many documents were written."""
    with store.transaction(vendor=True) as tx:
        tx.execute(
            "DELETE FROM customer_search s WHERE NOT EXISTS "
            "(SELECT 1 FROM customers c WHERE c.id = s.id)"
        )
    done, last = 0, None
    while True:
        with store.transaction(vendor=True) as tx:
            if last is None:
                rows = tx.execute(f"{_ALL} ORDER BY id LIMIT ?", [batch]).fetchall()
            else:
                rows = tx.execute(
                    f"{_ALL} WHERE id > ? ORDER BY id LIMIT ?", [last, batch]
                ).fetchall()
            if not rows:
                return done
            tx.executemany(_UPSERT, search_rows(rows))
        done += len(rows)
        last = rows[-1][0]
