"""Where each support action shows, declared once beside its ActionSpec
(srm_tui.actions.registry): its `srm customer` command (arguments, flags, help), its key
and label on the customer screen, and the tabs of that screen it works on.

The CLI generates the action commands from these (srm_tui.cli.actions), the console its
action bindings (srm_tui.bindings) and its tab checks. This module imports nothing but the
standard library, so the console reads it at start-up without loading the actions' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srm_tui.actions.rules import ActionSpec


@dataclass(frozen=True)
class Flag:
    """How the command line takes one input (a FieldSpec) of an action.

    ``decl`` is the option as typed (``--until``; ``--keep-access/--revoke-access`` for a
    yes/no pair); a ``bool`` field without a pair is a plain flag. Required when the field
    is; ``help`` defaults to the field's own."""

    field: str
    decl: str
    help: str | None = None
    default: bool | None = None  # a bool flag's value when not given (None: the action's)

    @property
    def name(self) -> str:
        """How messages name it: the first option name."""
        return self.decl.split("/")[0]


@dataclass(frozen=True)
class Face:
    """Where one action shows: its command, its key and the customer tabs it works on."""

    action: str
    command: tuple[str, ...]  # the words after `srm customer`
    help: str  # the command's help (its first line is the one-line summary)
    target: str  # how messages name the target argument ("ID", "TRANSACTION_ID")
    key: str  # the key on the customer screen
    label: str  # the binding's description (footer, help, palette)
    tabs: tuple[str, ...]  # the customer screen tabs where it acts
    flags: tuple[Flag, ...] = ()
    text: str | None = None  # an input taken as a second argument (TEXT; "-" reads stdin)
    any_of: bool = False  # at least one flag must be given (messages name them all)

    @property
    def spec(self) -> ActionSpec:
        """The action's ActionSpec (its inputs, rules and plan)."""
        from srm_tui.actions.registry import REGISTRY

        return REGISTRY[self.action]

    @property
    def binding_id(self) -> str:
        return "customer." + self.action.replace("-", "_")

    def names(self) -> dict[str, str]:
        """Input field -> how the command line calls it, for error messages."""
        ids = (
            "customer_id",
            "access_id",
            "subscription_id",
            "transaction_id",
            "payment_details_id",
            "email_id",
            "note_id",
        )
        out = dict.fromkeys(ids, self.target)
        out["fields"] = "/".join(f.name for f in self.flags) if self.any_of else "options"
        out.update({f.field: f.name for f in self.flags})
        if self.text:
            out[self.text] = self.text.upper()
        return out


SUMMARY, PAYMENTS, TRANSACTIONS, EMAILS, NOTES = (
    "summary",
    "payments",
    "transactions",
    "emails",
    "notes",
)

# In the order the customer screen lists them (footer, help).
FACES: tuple[Face, ...] = (
    Face(
        "edit",
        ("edit",),
        "Edit first name, last name, email or company name.",
        "ID",
        "e",
        "Edit",
        (SUMMARY,),
        (
            Flag("first_name", "--first-name"),
            Flag("last_name", "--last-name"),
            Flag("email", "--email", "also changes the customer's login ID"),
            Flag("company", "--company", "company name ('' clears it)"),
        ),
        any_of=True,
    ),
    Face(
        "anonymize",
        ("anonymize",),
        "Remove every personal value of a customer for good (irreversible).",
        "ID",
        "A",
        "Anonymize",
        (SUMMARY,),
        (
            Flag(
                "terminate_access",
                "--terminate-access",
                "terminate live subscriptions and passes first (the vendor's flow)",
            ),
        ),
    ),
    Face(
        "extend",
        ("extend",),
        "Extend a subscription or a pass until a later date.",
        "ACCESS_ID",
        "x",
        "Extend access",
        (PAYMENTS, TRANSACTIONS),
        (Flag("until", "--until", "the new end, ISO 8601 (never earlier)"),),
    ),
    Face(
        "cancel",
        ("cancel",),
        "Cancel a subscription: no renewal, access continues to the end of the period.\n\n"
        "When a retention playbook rule matches (srm playbook show), give --take N to run its "
        "offer N instead, or --reason TEXT to cancel anyway; without either the offers are "
        "listed and nothing changes (exit 2).",
        "SUBSCRIPTION_ID",
        "c",
        "Cancel subscription",
        (PAYMENTS,),
        (Flag("reason", "--reason", ""),),
    ),
    Face(
        "refund",
        ("refund",),
        "Refund a card or PayPal transaction, in full or in part (irreversible).",
        "TRANSACTION_ID",
        "r",
        "Refund",
        (TRANSACTIONS,),
        (
            Flag("amount", "--amount", "partial amount (default: all that is left)"),
            Flag("reason", "--reason", ""),
            Flag(
                "keep_access",
                "--keep-access/--revoke-access",
                "whether the customer keeps what it bought (default: keep)",
            ),
        ),
    ),
    Face(
        "cancel-transaction",
        ("cancel-transaction",),
        "End the access a transaction bought, optionally refunding it (irreversible).",
        "TRANSACTION_ID",
        "X",
        "Cancel transaction",
        (TRANSACTIONS,),
        (Flag("refund", "--refund", "also refund what is left", default=False),),
    ),
    Face(
        "delete-payment-details",
        ("delete-payment-details",),
        "Delete payment details on file; renewals paid with them fail (irreversible).",
        "ID",
        "D",
        "Delete payment details",
        (PAYMENTS,),
    ),
    Face(
        "resend",
        ("resend",),
        "Send an email again.",
        "EMAIL_ID",
        "R",
        "Resend email",
        (EMAILS,),
        (Flag("to", "--to", "another address (default: the one on file)"),),
    ),
    Face(
        "note-add",
        ("note", "add"),
        "Add a note (TEXT `-` reads stdin).",
        "CUSTOMER_ID",
        "n",
        "Add note",
        (SUMMARY, NOTES),
        text="text",
    ),
    Face(
        "note-edit",
        ("note", "edit"),
        "Replace a note's text; the old text stays in its history (TEXT `-` reads stdin).",
        "NOTE_ID",
        "E",
        "Edit note",
        (NOTES,),
        text="text",
    ),
    Face(
        "note-delete",
        ("note", "delete"),
        "Delete a note (only its author or an owner).",
        "NOTE_ID",
        "d",
        "Delete note",
        (NOTES,),
    ),
    Face(
        "coupon-apply",
        ("coupon-apply",),
        "Apply a coupon to a subscription (checked against its campaign first).",
        "SUBSCRIPTION_ID",
        "C",
        "Apply coupon",
        (PAYMENTS,),
        (Flag("code", "--code", "the coupon code"),),
    ),
    Face(
        "pause",
        ("pause",),
        "Pause a subscription from its next billing date for N billing cycles.",
        "SUBSCRIPTION_ID",
        "P",
        "Pause",
        (PAYMENTS,),
        (
            Flag(
                "cycles", "--cycles", "billing cycles the pause lasts (from the next billing date)"
            ),
        ),
    ),
    Face(
        "resume",
        ("resume",),
        "Resume a paused subscription (or call off its scheduled pause).",
        "SUBSCRIPTION_ID",
        "U",
        "Resume",
        (PAYMENTS,),
    ),
    Face(
        "activate",
        ("activate",),
        "Re-activate a cancelled (stopped) subscription: it renews again.",
        "SUBSCRIPTION_ID",
        "a",
        "Re-activate",
        (PAYMENTS,),
    ),
    Face(
        "terminate",
        ("terminate",),
        "End a subscription's or a pass's access now, with its type (irreversible).",
        "ACCESS_ID",
        "T",
        "Terminate",
        (PAYMENTS,),
        (Flag("type", "--type"),),
    ),
    Face(
        "transfer",
        ("transfer",),
        "Move a subscription or a pass to another customer.",
        "ACCESS_ID",
        "t",
        "Transfer",
        (PAYMENTS,),
        (Flag("to", "--to", "the id of the customer who receives it"),),
    ),
    Face(
        "switch",
        ("switch",),
        "Switch a subscription to another offer (upgrade or downgrade).",
        "SUBSCRIPTION_ID",
        "w",
        "Switch offer",
        (PAYMENTS,),
        (
            Flag("to", "--to", "the new offer's localized id, e.g. S123456789_PL"),
            Flag("direction", "--direction", "upgrade or downgrade (default: from the prices)"),
        ),
    ),
)

_BY_NAME = {f.action: f for f in FACES}


def face(name: str) -> Face:
    """Where an action shows (KeyError for a name that is not an action)."""
    return _BY_NAME[name]


def tabs(name: str) -> tuple[str, ...] | None:
    """The customer screen tabs an action works on (None: not an action)."""
    found = _BY_NAME.get(name)
    return None if found is None else found.tabs


def action_tabs() -> dict[str, tuple[str, ...]]:
    """Every action with the customer screen tabs it works on."""
    return {f.action: f.tabs for f in FACES}


def names_for_tab(tab: str) -> list[str]:
    """The actions that work on a customer screen tab, in the screen's order."""
    return [f.action for f in FACES if tab in f.tabs]
