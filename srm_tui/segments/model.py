"""The segment file (CONTRACT section 4): a versioned JSON document holding a condition tree.

A file of any version this srm has ever written loads: ``load`` upgrades it step by step to
the current version (``UPGRADES``) before it is validated and turned into the tree below.
The tree is immutable and compares by value, so a round trip (JSON or text form) can be
checked with ``==``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srm_tui.segments.catalog import DEFAULT_SELECTOR, NO_VALUE

CURRENT_VERSION = 1


@dataclass(frozen=True)
class Condition:
    attr: str
    op: str
    value: Any = None  # str | int | float | bool | tuple of those | None
    # Money only: compare the amount converted to this ISO 4217 currency (CONTRACT
    # section 4); None compares it in its own currency.
    currency: str | None = None


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...] = ()


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Not:
    item: Node


Node = Condition | All | AnyOf | Not


@dataclass(frozen=True)
class Segment:
    where: Node = field(default_factory=All)
    name: str = ""
    tags: tuple[str, ...] = ()
    selector: str = DEFAULT_SELECTOR
    version: int = CURRENT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CURRENT_VERSION,
            "name": self.name,
            "tags": list(self.tags),
            "selector": self.selector,
            "where": node_to_dict(self.where),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def replace(self, **changes: Any) -> Segment:
        from dataclasses import replace

        return replace(self, **changes)


class SegmentError(ValueError):
    """A segment file or value that cannot be used; ``faults`` name each problem's path."""

    def __init__(self, faults: list[Fault]):
        self.faults = faults
        super().__init__(str(faults[0]) if faults else "invalid segment")


@dataclass(frozen=True)
class Fault:
    path: str  # e.g. where.all[1].any[0].op
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


# conversion -----------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def node_from_dict(raw: dict[str, Any]) -> Node:
    """A tree from its JSON form (the caller has validated it)."""
    if "all" in raw:
        return All(tuple(node_from_dict(n) for n in raw["all"]))
    if "any" in raw:
        return AnyOf(tuple(node_from_dict(n) for n in raw["any"]))
    if "not" in raw:
        return Not(node_from_dict(raw["not"]))
    return Condition(raw["attr"], raw["op"], _freeze(raw.get("value")), raw.get("currency"))


def node_to_dict(node: Node) -> dict[str, Any]:
    if isinstance(node, All):
        return {"all": [node_to_dict(n) for n in node.items]}
    if isinstance(node, AnyOf):
        return {"any": [node_to_dict(n) for n in node.items]}
    if isinstance(node, Not):
        return {"not": node_to_dict(node.item)}
    out: dict[str, Any] = {"attr": node.attr, "op": node.op}
    if node.op not in NO_VALUE or node.value is not None:
        out["value"] = _thaw(node.value)
    if node.currency is not None:
        out["currency"] = node.currency
    return out


def conditions(node: Node, path: str = "where") -> list[tuple[str, Condition]]:
    """Every condition of a tree with its path, in document order."""
    if isinstance(node, Condition):
        return [(path, node)]
    if isinstance(node, Not):
        return conditions(node.item, f"{path}.not")
    key = "all" if isinstance(node, All) else "any"
    out: list[tuple[str, Condition]] = []
    for i, child in enumerate(node.items):
        out += conditions(child, f"{path}.{key}[{i}]")
    return out


# versions -------------------------------------------------------------------------------

# version N -> a function turning a version-N document into a version-(N + 1) one. Version 1
# is current; when version 2 arrives, UPGRADES[1] rewrites old files, and old files keep
# loading without anyone touching them.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """The document in the current version's shape (unchanged when it already is)."""
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SegmentError(
            [
                Fault(
                    "version", f"must be a whole number (this srm writes version {CURRENT_VERSION})"
                )
            ]
        )
    if version > CURRENT_VERSION:
        raise SegmentError(
            [
                Fault(
                    "version",
                    f"version {version} was written by a newer srm "
                    f"(this one reads up to {CURRENT_VERSION})",
                )
            ]
        )
    if version < 1:
        raise SegmentError([Fault("version", f"no segment version {version} exists")])
    while version < CURRENT_VERSION:
        raw = UPGRADES[version](raw)
        version += 1
    return raw


def from_dict(raw: Any) -> Segment:
    """A checked segment from a JSON document; raises ``SegmentError`` naming every fault."""
    from srm_tui.segments.validate import validate_document

    if not isinstance(raw, dict):
        raise SegmentError([Fault("", "a segment file holds one JSON object")])
    raw = upgrade(raw)
    faults = validate_document(raw)
    if faults:
        raise SegmentError(faults)
    return Segment(
        where=node_from_dict(raw["where"]),
        name=raw.get("name") or "",
        tags=tuple(raw.get("tags") or ()),
        selector=raw.get("selector") or DEFAULT_SELECTOR,
        version=CURRENT_VERSION,
    )


MAX_READ = (1 << 20) + 1  # validate.MAX_BYTES and one byte more, to tell "too big"


def loads(text: str) -> Segment:
    from srm_tui.segments.validate import check_text_limits

    faults = check_text_limits(text)
    if faults:  # size and nesting first: parsing is what a hostile file would exhaust
        raise SegmentError(faults)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SegmentError(
            [Fault("", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    return from_dict(raw)


def load(path: str | Path) -> Segment:
    """Read and check a segment file."""
    from srm_tui.segments.validate import check_size

    try:
        with open(path, "rb") as handle:  # never more than the limit is read
            data = handle.read(MAX_READ)
        faults = check_size(len(data), f"{path}")
        if faults:
            raise SegmentError(faults)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SegmentError([Fault("", f"cannot read {path}: {exc}")]) from None
    return loads(text)
