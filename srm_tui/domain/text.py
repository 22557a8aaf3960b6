"""Customer text is untrusted: make control characters visible before it reaches a screen."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.cells import cell_len

# Zero-width characters too (U+200B-U+200D, U+2060, U+FEFF): terminals disagree on their
# width, so a name holding one put the rest of its row a column off.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060"
    r"\u2066-\u2069\ufeff]"
)


def visible(value: object, limit: int | None = None) -> str:
    """The value as plain text with control and bidi-override characters shown escaped.

    ``limit`` shortens long values with an ellipsis (a 300-character name must not push
    every other column off screen).
    """
    if value is None:
        return ""
    text = (
        _CONTROL.sub(lambda ch: ch.group().encode("unicode_escape").decode("ascii"), str(value))
        .replace("\n", "\\n")
        .replace("\t", "\\t")
    )
    # Cut by terminal cells, not characters: a wide (CJK, emoji) name must not run past its
    # column.
    return text if limit is None else clip(text, limit)


def clip(text: str, cells: int) -> str:
    """``text`` cut to at most ``cells`` terminal cells, with an ellipsis when cut."""
    if cell_len(text) <= cells:
        return text
    out, used = [], 0
    for char in text:
        width = cell_len(char)
        if used + width > cells - 1:
            break
        out.append(char)
        used += width
    return "".join(out) + "…"


_IRREGULAR = {
    "pass": "passes",
    "child": "children",
    "person": "people",
    "entry": "entries",
    "country": "countries",
    "policy": "policies",
    "summary": "summaries",
    "match": "matches",
    "batch": "batches",
}


def plural(noun: str, n: int) -> str:
    """The noun as it goes with n: "1 customer", "2 customers" (the noun alone, no number)."""
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    word = _IRREGULAR.get(last) or (
        last[:-1] + "ies"
        if last.endswith("y") and last[-2:-1] not in "aeiou"
        else last + "es"
        if last.endswith(("s", "x", "ch", "sh"))
        else last + "s"
    )
    return f"{head} {word}" if head else word


def count(n: int, noun: str) -> str:
    """A number with its noun in the right form, thousands separated: "1,176 customers"."""
    return f"{n:,} {plural(noun, n)}"


# What json.dumps(ensure_ascii=False) leaves raw that a terminal acts on: DEL, the C1
# controls (U+009B is a CSI), bidirectional overrides and line/paragraph separators.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_text(value: Any, **kw: Any) -> str:
    """JSON for a terminal or a pipe: like ``json.dumps(ensure_ascii=False)``, with every
    control and bidi character written as its ``\\uXXXX`` escape. The value is unchanged
    (the escape is the same string to any JSON reader); only its bytes are inert."""
    text = json.dumps(value, ensure_ascii=False, **kw)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
