"""The playbook screens' words, apart from their widgets: a rule as a list row and as the
lines under the list, the version line, and what a switch can name from the cached offers.
Every value from the cache or a file is shown as plain, visible text."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text

from srm_tui.domain.text import count, visible
from srm_tui.domain.time import utc
from srm_tui.playbook.model import Playbook, Rule


def inline_conditions(definition: Any) -> int:
    """How many conditions an inline segment's tree holds (its groups not counted)."""
    if isinstance(definition, dict):
        if "attr" in definition:
            return 1
        return sum(inline_conditions(v) for k, v in definition.items() if k != "selector")
    if isinstance(definition, list):
        return sum(inline_conditions(v) for v in definition)
    return 0


def segment_label(segment: str | dict[str, Any]) -> str:
    """A rule's segment in a list: the saved segment's name, or "inline: N conditions"."""
    if isinstance(segment, str):
        return segment
    n = inline_conditions(segment.get("where"))
    return f"inline: {count(n, 'condition')}"


def rule_row(number: int, rule: Rule) -> list[Text]:
    """The rule as the list shows it: number, name, segment, its offers in order."""
    return [
        Text(str(number), justify="right"),
        Text(visible(rule.name)),
        Text(visible(segment_label(rule.segment))),
        Text("; ".join(visible(o.describe()) for o in rule.offers)),
    ]


def rule_lines(number: int, rule: Rule) -> list[str]:
    """The highlighted rule in full, under the list: its whole segment and every offer."""
    segment = (
        f"saved segment {rule.segment}"
        if isinstance(rule.segment, str)
        else f"inline {json.dumps(rule.segment, ensure_ascii=False)}"
    )
    offers = "  ".join(f"{n}. {o.describe()}" for n, o in enumerate(rule.offers, 1))
    return [visible(f"Rule {number} · {rule.name} · {segment}", 300), visible(f"offers: {offers}")]


def version_line(
    base: Playbook | None,
    saved: tuple[int, str | None] | None,
    rules: int,
    *,
    failed: bool,
) -> str:
    """The version shown, who saved it and when, and how many rules."""
    if base is None:
        return "not read" if failed else "reading the playbook…"
    if base.version == 0:
        parts = ["no version saved yet"]
    else:
        who = ""
        if saved is not None:
            at, by = saved
            who = f" · saved {utc(at)} UTC by {visible(by or 'an unnamed agent', 40)}"
        parts = [f"version {base.version}{who}"]
    parts.append(f"{count(rules, 'rule')}, first match wins")
    return " · ".join(parts)


def place(path: str) -> str:
    """A fault's path as the screens number things: "rules[1].offers[0].days" is
    "rule 2, offer 1"; a segment keeps its inner path ("rule 1, segment.where.op")."""
    found = re.match(r"rules\[(\d+)\]\.?(.*)", path)
    if found is None:
        return path
    where = f"rule {int(found.group(1)) + 1}"
    rest = found.group(2)
    offer = re.match(r"offers\[(\d+)\](\.\w+)?$", rest)
    if offer is not None:
        return f"{where}, offer {int(offer.group(1)) + 1}"
    return f"{where}, {rest}" if rest else where


def problem_text(problem: Any) -> str:
    """One problem (a PlaybookInvalid, or words) with its place named as the screen does."""
    path, reason = getattr(problem, "path", None), getattr(problem, "reason", None)
    if isinstance(path, str) and isinstance(reason, str):
        return visible(f"{place(path)}: {reason}" if path else reason, 200)
    return visible(str(problem), 200)


def problems_line(problems: list[Any]) -> str:
    """The first problem the cache finds with the rules (and how many more)."""
    if not problems:
        return ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"⚠ {problem_text(problems[0])}{more}"


def switch_targets(catalogue: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What a switch can name: each cached subscription offer's country versions (the
    vendor's switch takes a localized id), as (id, "title · country")."""
    out = []
    for offer in catalogue:
        if not str(offer.get("id") or "").startswith("S"):
            continue
        for loc in offer.get("localizations") or []:
            if isinstance(loc, dict) and loc.get("id"):
                title = loc.get("title") or offer.get("title") or ""
                country = loc.get("countryCode") or str(loc["id"]).rpartition("_")[2]
                out.append((str(loc["id"]), f"{title} · {country}"))
    return out
