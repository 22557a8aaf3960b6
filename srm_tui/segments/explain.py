"""Why a customer is in a segment or not: every condition with its value and pass/fail.

The values and verdicts come from the same SQL the count runs (``Compiler.condition``),
evaluated for one customer and the subscription the selector picks (for ``any``, each of
its subscriptions), so an explanation never disagrees with the count.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from srm_tui.domain.text import visible
from srm_tui.segments.catalog import lookup
from srm_tui.segments.compile import (
    CF,
    MONEY_CURRENCY_SQL,
    SF,
    TF,
    Compiler,
    dialect_of,
    offer_titles,
    sql_for,
)
from srm_tui.segments.model import All, Condition, Node, Not, Segment
from srm_tui.segments.textform import format_condition
from srm_tui.storage import facts as F

# Text shown as the customer has it (conditions compare the casefolded form).
_LATEST_TXN = (
    "(SELECT t.{col} FROM transactions t WHERE t.customer_id = f.id{extra} "
    "ORDER BY t.date DESC, t.id DESC LIMIT 1)"
)
DISPLAY_SQL = {
    "customer.email": "c.email",
    "customer.first_name": "c.first_name",
    "customer.last_name": "c.last_name",
    "customer.locale": "c.locale",
    "customer.external_id": "c.external_id",
    "customer.latest_payment_rejection_reason": _LATEST_TXN.format(
        col="rejected_reason", extra=" AND t.status = 'rejected'"
    ),
    # The latest transaction's method; when it names none, the latest one known.
    "customer.last_payment_method": _LATEST_TXN.format(
        col="payment_method", extra=" AND t.payment_method IS NOT NULL AND t.payment_method != ''"
    ),
    "customer.latest_pass_title": "(SELECT o.title FROM offers o WHERE o.id = f.lp_offer)",
    "subscription.offer_title": "(SELECT o.title FROM offers o WHERE o.id = s.offer_key)",
    "subscription.offer_id": "so.offer_id",
    "subscription.coupon_code": "so.coupon_code",
    "subscription.payment_method": "so.payment_method",
}


@dataclass
class NodeResult:
    path: str  # where.all[1].any[0]
    kind: str  # all, any, not, condition
    passed: bool
    children: list[NodeResult] = field(default_factory=list)
    condition: Condition | None = None
    text: str = ""  # the condition in text form
    value: Any = None  # the customer's value, as the console shows it (None: not set)
    currency: str | None = None  # money: the currency ``value`` is in

    def lines(self, depth: int = 0) -> list[tuple[int, NodeResult]]:
        out = [(depth, self)]
        for child in self.children:
            out += child.lines(depth + 1)
        return out


@dataclass
class Evaluation:
    subscription_id: int | None  # the subscription the subscription.* values describe
    passed: bool
    root: NodeResult


@dataclass
class Explanation:
    customer_id: int
    member: bool
    selector: str
    evaluations: list[Evaluation]

    def as_json(self) -> dict[str, Any]:
        def node(n: NodeResult) -> dict[str, Any]:
            out: dict[str, Any] = {"path": n.path, "kind": n.kind, "pass": n.passed}
            if n.condition is not None:
                out.update(
                    condition=n.text, attr=n.condition.attr, op=n.condition.op, value=n.value
                )
                if n.currency is not None:
                    out["currency"] = n.currency
            if n.children:
                out["children"] = [node(c) for c in n.children]
            return out

        return {
            "customer_id": self.customer_id,
            "member": self.member,
            "selector": self.selector,
            "evaluations": [
                {"subscription_id": e.subscription_id, "pass": e.passed, "tree": node(e.root)}
                for e in self.evaluations
            ],
        }

    def text(self) -> str:
        """Plain lines for a terminal: one per node, PASS/FAIL first, then the value.

        Customer text is untrusted: control characters come out escaped, never raw.
        """
        head = "IN" if self.member else "NOT IN"
        out = [f"customer {self.customer_id}: {head} the segment (selector {self.selector})"]
        for ev in self.evaluations:
            if (
                self.selector == "any"
                or ev.subscription_id is not None
                or len(self.evaluations) > 1
            ):
                sub = (
                    f"subscription {ev.subscription_id}"
                    if ev.subscription_id is not None
                    else "no subscription"
                )
                out.append(f"{sub}: {'PASS' if ev.passed else 'FAIL'}")
            for depth, n in ev.root.lines():
                mark = "PASS" if n.passed else "FAIL"
                if n.condition is None:
                    label = {"all": "all of", "any": "any of", "not": "not"}[n.kind]
                    out.append(f"  {mark}  {'  ' * depth}{label}")
                else:
                    out.append(
                        f"  {mark}  {'  ' * depth}{visible(n.text)}   [value: "
                        f"{visible(show_value(n.value, n.currency), 200)}]"
                    )
        return "\n".join(out)


def show_value(value: Any, currency: str | None = None) -> str:
    if value is None:
        return "not set"
    if currency is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        from srm_tui.domain.money import money

        return money(value, currency)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _display(attribute_name: str, raw: Any) -> Any:
    """A value from SQL as the console shows it: ISO instants, major units, true/false."""
    attribute = lookup(attribute_name)
    if raw is None or attribute is None:
        return raw
    if attribute.type == "date":
        return datetime.fromtimestamp(raw, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if attribute.type == "bool":
        return bool(raw)
    if attribute.money:
        return round(raw / F.MICRO, 6)
    return raw


def explain(conn: sqlite3.Connection, segment: Segment, customer_id: int, now: int) -> Explanation:
    """Each condition of the tree, evaluated for one customer at ``now``.

    Raises ``LookupError`` when the customer is not in the cache.
    """
    F.prepare(conn)
    F.ensure_facts(conn)
    row = conn.execute(f"SELECT id FROM {CF} WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise LookupError(f"customer {customer_id} is not in the cache")
    if segment.selector == "any":
        sub_ids: list[int | None] = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM {SF} WHERE customer_id = ? ORDER BY id", (customer_id,)
            )
        ]
    else:
        selected = sql_for(dialect_of(conn)).selected_sub[segment.selector]
        sub_ids = [
            conn.execute(
                f"SELECT {selected} FROM {CF} f WHERE f.id = :cid",
                {"cid": customer_id, "now": now},
            ).fetchone()[0]
        ]
    if not sub_ids:
        sub_ids = [None]
    evaluations = [_evaluate(conn, segment.where, customer_id, sid, now) for sid in sub_ids]
    return Explanation(
        customer_id, any(e.passed for e in evaluations), segment.selector, evaluations
    )


def _evaluate(
    conn: sqlite3.Connection, where: Node, customer_id: int, sub_id: int | None, now: int
) -> Evaluation:
    dialect = dialect_of(conn)
    # `s` is the one subscription row under test
    compiler = Compiler(now, "row", None, dialect, lambda: offer_titles(conn))
    found: list[tuple[str, Condition]] = []
    columns: list[str] = []

    def collect(node: Node, path: str) -> None:
        if isinstance(node, Condition):
            attribute = lookup(node.attr)
            if attribute is None:
                raise ValueError(f"{path}.attr: unknown attribute {node.attr}")
            if attribute.custom_key is not None:
                shown = compiler.custom_display(attribute)
            else:
                shown = DISPLAY_SQL.get(node.attr) or compiler.value_sql(attribute, node.currency)
                if dialect.name == "postgres":  # NULL dates last, as SQLite orders them
                    shown = shown.replace("t.date DESC,", "t.date DESC NULLS LAST,")
            columns.append(shown)
            columns.append(compiler.condition(node, True))
            columns.append(_currency_sql(compiler, attribute, node))
            found.append((path, node))
        elif isinstance(node, Not):
            collect(node.item, f"{path}.not")
        else:
            key = "all" if isinstance(node, All) else "any"
            for i, child in enumerate(node.items):
                collect(child, f"{path}.{key}[{i}]")

    collect(where, "where")
    results: dict[str, tuple[Any, bool]] = {}
    if columns:
        sql = (
            f"SELECT {', '.join(columns)} FROM {CF} f JOIN customers c ON c.id = f.id "
            f"LEFT JOIN {TF} t ON t.id = f.id "
            f"LEFT JOIN {SF} s ON s.id = :sid LEFT JOIN subscriptions so ON so.id = s.id "
            "WHERE f.id = :cid"
        )
        row = conn.execute(sql, {**compiler.params, "sid": sub_id, "cid": customer_id}).fetchone()
        for i, (path, cond) in enumerate(found):
            results[path] = (_display(cond.attr, row[3 * i]), bool(row[3 * i + 1]), row[3 * i + 2])
    root = _result(where, "where", results, now)
    return Evaluation(sub_id, root.passed, root)


def _resolved(cond: Condition, now: int) -> str:
    """What relative dates stand for at this evaluation (``-30d = 2026-10-02 00:00 UTC``)."""
    from srm_tui.domain.time import utc
    from srm_tui.segments.validate import is_relative, resolve_date

    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    shown = [f"{v} = {utc(resolve_date(v, now))}" for v in values if is_relative(v)]
    return f"   ({'; '.join(shown)} UTC)" if shown else ""


def _currency_sql(compiler: Compiler, attribute, cond: Condition) -> str:
    """SQL of the currency a money value is shown in: the condition's, else the amount's own."""
    if not attribute.money:
        return "NULL"
    if cond.currency is not None:
        return compiler.bind(cond.currency)
    return compiler.sub(
        MONEY_CURRENCY_SQL["subscription" if attribute.subscription else "customer"]
    )


def _result(
    node: Node, path: str, results: dict[str, tuple[Any, bool, Any]], now: int
) -> NodeResult:
    if isinstance(node, Condition):
        value, passed, currency = results[path]
        return NodeResult(
            path,
            "condition",
            passed,
            condition=node,
            text=format_condition(node) + _resolved(node, now),
            value=value,
            currency=currency if isinstance(currency, str) else None,
        )
    if isinstance(node, Not):
        child = _result(node.item, f"{path}.not", results, now)
        return NodeResult(path, "not", not child.passed, [child])
    key = "all" if isinstance(node, All) else "any"
    children = [_result(c, f"{path}.{key}[{i}]", results, now) for i, c in enumerate(node.items)]
    passed = (all if isinstance(node, All) else any)(c.passed for c in children)
    return NodeResult(path, key, passed, children)


__all__ = ["Explanation", "Evaluation", "NodeResult", "explain"]
