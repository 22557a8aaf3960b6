"""Parse each stylesheet source once per set of CSS variables.

Textual (8.2) re-parses every source it holds whenever a widget class it has not seen adds its
``DEFAULT_CSS``, and again on each ``refresh_css``. srm's screens share one 14 KB stylesheet
(``srm.tcss``), so before the first frame it was parsed five times (the first mode's screen,
the CSS refresh that mode start-up does, then each batch of newly mounted widget classes),
about 40 ms a parse on an idle core. The rules parsed from the same text, location, scope and
variables are the same rules: Textual never changes a ``RuleSet`` after parsing it (its own
parser caches selectors and declarations the same way), so they are kept and handed back.

A source that fails to parse raises as before and is not kept. The memo holds one entry per
source and theme, bounded by ``MAX_ENTRIES``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Any

from textual.css.stylesheet import Stylesheet

MAX_ENTRIES = 512

_memo: OrderedDict[tuple, list[Any]] = OrderedDict()
_parse = Stylesheet._parse_rules
parsed: Counter[str] = Counter()  # parses actually run, by source file (tests read it)


def _parse_rules_once(
    self: Stylesheet,
    css: str,
    read_from: Any,
    is_default_rules: bool = False,
    tie_breaker: int = 0,
    scope: str = "",
) -> list[Any]:
    key = (
        css,
        read_from,
        is_default_rules,
        tie_breaker,
        scope,
        tuple(sorted(self._variables.items())),
    )
    rules = _memo.get(key)
    if rules is None:
        parsed[str(read_from[0] if isinstance(read_from, tuple) else read_from)] += 1
        rules = _parse(self, css, read_from, is_default_rules, tie_breaker, scope)
        _memo[key] = rules
        if len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)
    else:
        _memo.move_to_end(key)
    return list(rules)


def install() -> None:
    """Route Textual's stylesheet parsing through the memo (idempotent)."""
    Stylesheet._parse_rules = _parse_rules_once  # type: ignore[method-assign]
