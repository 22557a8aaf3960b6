"""Segments: saved condition trees over the cached customers (CONTRACT sections 4 and 5).

What a screen or the CLI calls:

- files and trees: ``load`` / ``loads`` / ``from_dict`` (checked, any version),
  ``Segment.to_dict`` / ``to_json``; the tree types ``All``, ``AnyOf``, ``Not``, ``Condition``;
- checking: ``validate_document`` (a JSON document), ``validate_segment`` (a tree in memory),
  each a list of ``Fault(path, message)``; ``SegmentError.faults``;
- the catalog: ``ATTRIBUTES``, ``lookup(name)``, ``catalog_as_dicts()``, ``SELECTORS``;
- the text form: ``format_tree`` / ``parse_tree`` (``TextFormError.position``);
- running: ``SegmentRunner(path).count(segment, now)`` -> ``CountResult`` (customers,
  elapsed_ms), ``.members(segment, now, after=, limit=)`` (keyset pages), ``.explain(...)``;
  or the plain ``count`` / ``members`` / ``iter_members`` / ``explain`` on a connection;
- ``export`` (CSV / JSON of the list columns);
- keeping the facts in step: ``refresh_facts(conn, customer_ids)`` and ``ensure_facts(conn)``.
"""

from srm_tui.segments.catalog import ATTRIBUTES, SELECTORS, Attribute, lookup
from srm_tui.segments.catalog import as_dicts as catalog_as_dicts
from srm_tui.segments.engine import CountResult, SegmentRunner, count, iter_members, members
from srm_tui.segments.explain import Explanation, explain
from srm_tui.segments.export import export
from srm_tui.segments.model import (
    All,
    AnyOf,
    Condition,
    Fault,
    Not,
    Segment,
    SegmentError,
    from_dict,
    load,
    loads,
)
from srm_tui.segments.textform import TextFormError, format_tree, parse_tree
from srm_tui.segments.validate import validate_document, validate_segment
from srm_tui.storage.facts import ensure_facts, rebuild_facts, refresh_facts

__all__ = [
    "ATTRIBUTES",
    "SELECTORS",
    "All",
    "AnyOf",
    "Attribute",
    "Condition",
    "CountResult",
    "Explanation",
    "Fault",
    "Not",
    "Segment",
    "SegmentError",
    "SegmentRunner",
    "TextFormError",
    "catalog_as_dicts",
    "count",
    "ensure_facts",
    "explain",
    "export",
    "format_tree",
    "from_dict",
    "iter_members",
    "load",
    "loads",
    "lookup",
    "members",
    "parse_tree",
    "rebuild_facts",
    "refresh_facts",
    "validate_document",
    "validate_segment",
]
