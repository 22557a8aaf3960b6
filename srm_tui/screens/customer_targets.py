"""Which tab of the customer screen each action works on (the registry's, with the action)
and the record it acts on, drawn from the action's spec: its target field names the kind of
record, hence the table the agent highlights it in, so a new action needs no branch here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable

from srm_tui.actions import registry
from srm_tui.actions.registry import REGISTRY
from srm_tui.domain.time import iso

if TYPE_CHECKING:
    from srm_tui.screens.customer import CustomerScreen

TABS = ("summary", "payments", "transactions", "emails", "notes", "history")
TAB_NAMES = {
    "summary": "Summary (1)",
    "payments": "Payments (2)",
    "transactions": "Transactions (3)",
    "emails": "Emails (4)",
    "notes": "Notes (5)",
    "history": "History (6)",
}


@dataclass(frozen=True)
class Target:
    """Where a kind of record is highlighted: its tab, its table, its row keys' prefix (the
    access table holds subscriptions "S…" and passes "P…") and what to ask for."""

    tab: str
    table: str | None
    prefix: str = ""
    ask: str = ""


TARGETS: dict[str, Target] = {
    "customer_id": Target("summary", None),
    "transaction_id": Target(
        "transactions",
        "#transactions-table",
        ask="Highlight a transaction on the Transactions tab (3) first.",
    ),
    "subscription_id": Target(
        "payments",
        "#access-table",
        "S",
        "Highlight a subscription on the Payments tab (2) first.",
    ),
    "access_id": Target(
        "payments",
        "#access-table",
        "SP",
        "Highlight a subscription or pass on the Payments tab (2) first.",
    ),
    "payment_details_id": Target(
        "payments", "#pd-table", ask="Highlight payment details on the Payments tab (2) first."
    ),
    "email_id": Target(
        "emails", "#emails-table", ask="Highlight an email on the Emails tab (4) first."
    ),
    "note_id": Target("notes", "#notes-table", ask="Highlight a note on the Notes tab (5) first."),
}

# The screen's own keys that belong to one tab (not support actions).
SCREEN_KEYS = {
    "filter_history": ("history",),
    "copy_offer_url": ("transactions",),
    "view_offer": ("transactions",),
    "change_history": ("summary", "history"),
}

TABLE_NAMES = {"#access-table": "subscriptions and passes", "#pd-table": "payment details"}


# Action or screen key -> the tabs it works on (the footer shows only those).
ACTION_TABS: dict[str, tuple[str, ...]] = {**registry.action_tabs(), **SCREEN_KEYS}


def _defaults(screen: CustomerScreen, action: str, key: str | None) -> dict[str, Any]:
    """What an action's form starts with, from the record it acts on."""
    assert screen.account is not None
    c = screen.account.customer
    if action == "edit":
        return {
            "first_name": c.get("firstName"),
            "last_name": c.get("lastName"),
            "email": c.get("email"),
            "company": (c.get("capture") or {}).get("companyName"),
        }
    if action == "pause":
        return {"cycles": 1}
    if action == "terminate":
        return {"type": "userCancel"}
    if action == "note-edit":
        note = screen.find("notes", "id", key)
        return {"text": note["text"] if note else ""}
    return {}


def _extend(screen: CustomerScreen, tab: str) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """Extend acts on a subscription or pass: highlighted on Payments, or the one a
    highlighted transaction paid for."""
    a = screen.account
    assert a is not None
    access_id = None
    if tab == "transactions":
        t = screen.find("transactions", "transactionId", screen.selected("#transactions-table"))
        if t:
            access_id = t.get("subscriptionId") or t.get("passId")
    elif tab == "payments":
        key = screen.selected("#access-table")
        access_id = int(key[1:]) if key else None
    if access_id is None:
        return (
            "Highlight a subscription or pass (Payments, 2) or a transaction "
            "(Transactions, 3) first."
        )
    current = next(
        (
            r.get("dateTo") or r.get("expiresAt")
            for r in a.records["subscriptions"] + a.records["passes"]
            if access_id in (r.get("subscriptionId"), r.get("passId"))
        ),
        None,
    )
    start = max(current or 0, screen.app.settings.now_ts())
    return {"access_id": access_id}, {"until": iso(start + 30 * 86400)}


def _focused_other(screen: CustomerScreen, wanted: str) -> str | None:
    """Which other table of the Payments tab has the focus (the action's row is not there),
    named for the message; None when the focus is on ``wanted`` or on no table."""
    focused = screen.focused
    if not isinstance(focused, DataTable):
        return None
    table = f"#{focused.id}"
    return TABLE_NAMES[table] if table in TABLE_NAMES and table != wanted else None


def target(
    screen: CustomerScreen, action: str, tab: str
) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """(fixed args, defaults) for ``action`` on the highlighted row of ``tab``, or why not."""
    if screen.account is None:
        return "This customer is not in the cache."
    spec = REGISTRY.get(action)
    if spec is None:
        return f"Unknown action {action}."
    field = spec.target_field.name
    where = TARGETS[field]
    if where.table is None:
        return {field: screen.customer_id}, _defaults(screen, action, None)
    if action == "extend":
        return _extend(screen, tab)
    if tab == "payments" and where.tab == "payments":
        other = _focused_other(screen, where.table)
        if other is not None:  # act on the row the agent sees highlighted, never another
            kind = "payment details" if where.table == "#pd-table" else "a subscription or pass"
            return (
                f"{spec.title} acts on {kind}, but the {other} table has the focus: tab to the "
                f"{'payment details' if where.table == '#pd-table' else 'subscriptions'} "
                "table and highlight the row first."
            )
    key = screen.selected(where.table) if tab == where.tab else None
    if key is None or (where.prefix and not key.startswith(tuple(where.prefix))):
        return where.ask
    if field == "note_id" and key.startswith("q"):
        return (
            f"This note waits in the outbox (#{key[1:]}): p shows it; it can be "
            "changed once the API has it."
        )
    value: Any = key if field == "transaction_id" else int(key[1:] if where.prefix else key)
    return {field: value}, _defaults(screen, action, key)
