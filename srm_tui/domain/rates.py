"""Exchange rates for the reporting currency (CONTRACT sections 2 and 4).

Rates are the ECB's euro reference rates: units of each currency per 1 EUR, all of one date.
srm ships a dated table (``srm_tui/data/eurofxref.csv``); ``srm rates import FILE`` stores
another one in the cache, and that one is in force from then on. Files are in the ECB's CSV
format: a ``Date`` column, then one column per currency, as the ECB publishes them both in
``eurofxref.csv`` (``06 February 2026, 1.1794, ...``, trailing comma) and in
``eurofxref-hist.csv`` (``2026-02-06,1.1794,...``, ``N/A`` where a currency has no rate).
Of a file with several dates, the latest is the table in force.

No I/O beyond reading the shipped file and the caller's connection.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from srm_tui.domain.time import DAY_FORMAT, parse_formatted

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "eurofxref.csv"
BASE = "EUR"
_CODE = re.compile(r"^[A-Z]{3}$")
_MISSING = {"", "N/A", "NA", "-"}


class RatesError(ValueError):
    """A rates file that cannot be used; the message names the line and column."""


@dataclass(frozen=True)
class Rates:
    """One dated table: currency -> units per EUR (EUR itself is 1)."""

    date: str  # YYYY-MM-DD, the ECB's reference date
    per_eur: dict[str, float] = field(default_factory=dict)
    source: str = "shipped"

    def has(self, code: str | None) -> bool:
        return bool(code) and (code == BASE or code in self.per_eur)

    def rate(self, code: str | None) -> float | None:
        """Units of ``code`` per EUR, or None when the table lacks it."""
        if not code:
            return None
        if code == BASE:
            return 1.0
        return self.per_eur.get(code)

    def factor(self, source: str | None, target: str) -> float | None:
        """What one unit of ``source`` is worth in ``target``; None when either is missing."""
        a, b = self.rate(source), self.rate(target)
        if a is None or b is None:
            return None
        return b / a

    def convert(self, amount: float | None, source: str | None, target: str) -> float | None:
        """``amount`` of ``source`` in ``target`` at these rates (None when not convertible)."""
        if amount is None:
            return None
        f = self.factor(source, target)
        return None if f is None else amount * f

    def currencies(self) -> list[str]:
        return sorted({BASE, *self.per_eur})

    def to_dict(self) -> dict:
        return {
            "date": self.date,
            "base": BASE,
            "source": self.source,
            "rates": {code: self.per_eur[code] for code in sorted(self.per_eur)},
        }


def _date(text: str, line: int) -> str:
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return parse_formatted(value, fmt).strftime(DAY_FORMAT)
        except ValueError:
            continue
    raise RatesError(
        f"line {line}, column Date: {value[:40]!r} is not a date "
        "(the ECB writes 2026-02-06 or 06 February 2026)"
    )


def parse(text: str, source: str = "file") -> Rates:
    """The table in force in an ECB CSV text (its latest date). Raises ``RatesError`` naming
    the line and column of the first fault."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise RatesError("line 1: empty file (expected a header: Date, USD, JPY, ...)")
    header = [cell.strip() for cell in rows[0]]
    if not header or header[0].lower() != "date":
        raise RatesError(
            f"line 1, column 1: the first column must be Date, not "
            f"{(header[0] if header else '')[:40]!r}"
        )
    columns: list[tuple[int, str]] = []
    for index, name in enumerate(header[1:], start=2):
        if name == "" and index == len(header):
            continue  # the ECB's trailing comma
        if not _CODE.match(name):
            raise RatesError(
                f"line 1, column {index}: {name[:40]!r} is not an ISO 4217 currency code"
            )
        if name == BASE:
            raise RatesError(
                f"line 1, column {index}: EUR is the base (rates are units per EUR), not a column"
            )
        if any(name == seen for _, seen in columns):
            raise RatesError(f"line 1, column {index}: {name} appears twice")
        columns.append((index, name))
    if not columns:
        raise RatesError("line 1: no currency columns after Date")
    if len(rows) < 2:
        raise RatesError("line 2: no rates (expected a dated line under the header)")
    best: tuple[str, dict[str, float]] | None = None
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise RatesError(f"line {number}: {len(cells)} columns, the header has {len(header)}")
        day = _date(cells[0], number)
        values: dict[str, float] = {}
        for index, code in columns:
            raw = cells[index - 1] if index - 1 < len(cells) else ""
            if raw.upper() in _MISSING:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise RatesError(
                    f"line {number}, column {code}: {raw[:40]!r} is not a number"
                ) from None
            if not (value > 0 and value < 1e12):
                raise RatesError(
                    f"line {number}, column {code}: {raw[:40]!r} is not a rate "
                    "(units per EUR must be above 0)"
                )
            values[code] = value
        if best is None or day > best[0]:
            best = (day, values)
    if best is None:
        raise RatesError("line 2: no rates (expected a dated line under the header)")
    if not best[1]:
        raise RatesError(f"the latest date, {best[0]}, has no rate for any currency")
    return Rates(best[0], best[1], source)


def read_file(path: str | Path) -> Rates:
    """Parse a rates file (UTF-8); ``RatesError`` names what is wrong and where."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RatesError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise RatesError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse(text, source=Path(path).name)


_shipped: Rates | None = None


def shipped() -> Rates:
    """The table shipped with srm."""
    global _shipped
    if _shipped is None:
        _shipped = parse(SHIPPED.read_text(encoding="utf-8"), source="shipped")
    return _shipped


def in_force(conn: sqlite3.Connection | None) -> Rates:
    """The rates a cache uses: the table last imported into it, else the shipped one."""
    if conn is None:
        return shipped()
    try:
        rows = conn.execute(
            "SELECT currency, per_eur, rate_date, source FROM exchange_rates"
        ).fetchall()
    except sqlite3.OperationalError:  # a cache from before V8, opened read-only
        return shipped()
    if not rows:
        return shipped()
    return Rates(
        rows[0][2], {code: float(rate) for code, rate, _, _ in rows}, rows[0][3] or "imported"
    )


def store(conn: sqlite3.Connection, rates: Rates, at: int) -> None:
    """Replace the cache's rates with ``rates``; run it inside the caller's write
    transaction (``Cache.transaction()``) so the table is never half-written."""
    conn.execute("DELETE FROM exchange_rates")
    conn.executemany(
        "INSERT INTO exchange_rates (currency, per_eur, rate_date, source, imported_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (code, rate, rates.date, rates.source, at)
            for code, rate in sorted(rates.per_eur.items())
        ],
    )
