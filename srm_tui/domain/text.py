"""Customer text is untrusted: make control characters visible before it reaches a screen."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(value: object, limit: int | None = None) -> str:
    """The value as plain text with control and bidi-override characters shown escaped.

    ``limit`` shortens long values with an ellipsis (a 300-character name must not push
    every other column off screen).
    """
    if value is None:
        return ""
    text = _CONTROL.sub(lambda ch: ch.group().encode("unicode_escape").decode("ascii"),
                        str(value)).replace("\n", "\\n").replace("\t", "\\t")
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)] + "…"
    return text
