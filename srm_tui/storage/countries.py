"""Countries by English name, for search ("Poland" finds customers in PL).

The names are CLDR's English territory names as Babel ships them, folded like search terms
("Côte d’Ivoire" -> "cote d ivoire"), with a few names people still type for countries CLDR
now calls otherwise.
"""

from __future__ import annotations

import functools
import re

from srm_tui.domain.fold import fold

# CLDR territories that are not countries a customer lives in.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
# Common English names that differ from CLDR's current ones.
_ALSO = {
    "great britain": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "usa": "US",
    "united states of america": "US",
    "turkey": "TR",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "macedonia": "MK",
    "burma": "MM",
    "swaziland": "SZ",
    "holland": "NL",
    "russian federation": "RU",
    "viet nam": "VN",
}


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text)))


@functools.cache
def _names() -> dict[str, str]:
    from babel import Locale

    names = {
        _key(name): code
        for code, name in Locale("en").territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }
    for name, code in _ALSO.items():
        names.setdefault(name, code)
    return names


def country_code(name: str) -> str | None:
    """The ISO 3166 code of a country's English name, any case or accents ("poland" ->
    "PL"), or None."""
    key = _key(name)
    return _names().get(key) if key else None
