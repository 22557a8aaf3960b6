"""Transaction actions: refund (full or partial), cancel the access a transaction bought."""

from __future__ import annotations

from typing import Any

from srm_tui.actions.rules import (
    ActionInvalid,
    ActionSpec,
    Change,
    Checks,
    Context,
    FieldSpec,
    Preview,
    Request,
    Rule,
    Watch,
    given,
    iso,
    money,
    parse_bool,
    parse_money,
    parse_text,
    parse_transaction_id,
    show_money,
)

REFUND_WINDOW_DAYS = 30
REFUNDABLE_GATEWAYS = ("adyen", "paypal")

REFUND_STATUS = Rule(
    "refund.captured-only", "only a captured transaction can be refunded", api=("can be refunded",)
)
REFUND_NOTHING_LEFT = Rule(
    "refund.nothing-left",
    "nothing is left to refund",
    api=("fully refunded", "no amount to refund"),
)
REFUND_GATEWAY = Rule(
    "refund.gateway",
    "only card and PayPal payments (adyen, paypal) can be refunded; in-app "
    "purchases are refunded by the app store",
    api=("only card and paypal",),
)
REFUND_GIFT = Rule("refund.gift", "a gift purchase cannot be refunded", api=("gift",))
REFUND_WINDOW = Rule(
    "refund.30-days",
    "a transaction older than 30 days cannot be refunded",
    api=("older than 30 days",),
)
REFUND_AMOUNT = Rule(
    "refund.amount", "the amount is more than what is left to refund", api=("exceeds",)
)
REFUND_RULES = (
    REFUND_STATUS,
    REFUND_NOTHING_LEFT,
    REFUND_GATEWAY,
    REFUND_GIFT,
    REFUND_WINDOW,
    REFUND_AMOUNT,
)

TRANSACTION_ID = FieldSpec(
    "transaction_id", "Transaction", "id", required=True, target=True, help="T and 9 digits"
)


def _transaction(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    transaction_id = parse_transaction_id(args.get("transaction_id"), "transaction_id")
    txn = ctx.record("transactions", transaction_id)
    if txn is None:
        raise ActionInvalid(
            "transaction_id",
            f"no transaction {transaction_id} in the cache (srm fetch brings its customer)",
        )
    return txn


def remaining(txn: dict[str, Any]) -> float:
    return money(txn["amount"] - (txn.get("refundedAmount") or 0), txn["currency"])


def check_refund(ctx: Context, checks: Checks, txn: dict[str, Any], amount: float | None) -> float:
    """The refund's rules, in the API's order; the amount that would be refunded."""
    left = remaining(txn)
    cur = txn["currency"]
    checks.require(
        txn["status"] in ("captured", "refunded"),
        REFUND_STATUS,
        f"the transaction is {txn['status']}; only a captured one can be refunded",
    )
    checks.require(left > 0, REFUND_NOTHING_LEFT)
    checks.require(
        txn.get("paymentGateway") in REFUNDABLE_GATEWAYS,
        REFUND_GATEWAY,
        f"paid with {txn.get('paymentGateway')}: " + REFUND_GATEWAY.text,
    )
    checks.require(not txn.get("isGift"), REFUND_GIFT)
    age_days = (ctx.now - txn["transactionDate"]) / 86400
    checks.require(
        txn["transactionDate"] >= ctx.now - REFUND_WINDOW_DAYS * 86400,
        REFUND_WINDOW,
        f"the transaction is {age_days:.0f} days old; "
        f"refunds are possible within {REFUND_WINDOW_DAYS} days",
    )
    if amount is None:
        return left
    checks.require(
        amount <= left + 1e-9,
        REFUND_AMOUNT,
        f"{show_money(amount, cur)} is more than the {show_money(left, cur)} left to refund",
    )
    return amount


def refund_kind(txn: dict[str, Any], amount: float) -> str:
    """The refund in words: full, partial, the rest of an earlier partial one, or too much.

    Measured against what is left to refund, never against the amount asked for alone.
    """
    cur = txn["currency"]
    left = remaining(txn)
    already = txn.get("refundedAmount") or 0
    if amount > left + 1e-9:
        return (
            f"{show_money(amount, cur)} is more than the {show_money(left, cur)} left to "
            f"refund of this {show_money(txn['amount'], cur)} transaction"
        )
    if amount < left - 1e-9:
        return f"a partial refund of {show_money(amount, cur)}"
    if already:
        return (
            f"a refund of the remaining {show_money(amount, cur)} "
            f"({show_money(already, cur)} refunded before): the transaction is then "
            "fully refunded"
        )
    return f"a full refund of {show_money(amount, cur)}"


def _access_of(ctx: Context, txn: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(entity, label, record) of what the transaction bought, when cached."""
    if txn.get("subscriptionId") is not None:
        sub = ctx.record("subscriptions", txn["subscriptionId"])
        if sub is not None:
            return "subscriptions", f"subscription {txn['subscriptionId']}", sub
    if txn.get("passId") is not None:
        found = ctx.record("passes", txn["passId"])
        if found is not None:
            return "passes", f"pass {txn['passId']}", found
    return None


def _access_end(entity: str, record: dict[str, Any]) -> str:
    end = record.get("dateTo") if entity == "subscriptions" else record.get("expiresAt")
    return f"until {iso(end)}" if end else "no end"


def _refund_changes(txn: dict[str, Any], amount: float) -> tuple[list[Change], Watch]:
    cur = txn["currency"]
    before = txn.get("refundedAmount") or 0
    after = money(before + amount, cur)
    left = remaining(txn)
    changes = [
        Change("refunded", show_money(before, cur), show_money(after, cur)),
        Change(
            "left to refund",
            show_money(left, cur),
            show_money(money(max(left - amount, 0), cur), cur),
        ),
        Change("transaction status", txn["status"], "refunded"),
    ]
    watch = Watch(
        "transactions", txn["transactionId"], {"refundedAmount": before}, {"refundedAmount": after}
    )
    return changes, watch


def plan_refund(ctx: Context, args: dict[str, Any]) -> Preview:
    txn = _transaction(ctx, args)
    cur = txn["currency"]
    amount = parse_money(args["amount"], "amount", cur) if given(args.get("amount")) else None
    reason = parse_text(args.get("reason"), "reason", 512)
    keep_access = parse_bool(args.get("keep_access"), "keep_access", True)
    checks = Checks()
    amount = check_refund(ctx, checks, txn, amount)
    changes, watch = _refund_changes(txn, amount)
    access = _access_of(ctx, txn)
    warnings = []
    if access is not None:
        entity, label, record = access
        if keep_access or record["status"] == "terminated":
            changes.append(
                Change(
                    f"access ({label})",
                    _access_end(entity, record),
                    f"kept: {_access_end(entity, record)}",
                )
            )
        else:
            changes.append(
                Change(f"access ({label})", _access_end(entity, record), "ends now (terminated)")
            )
    kind = refund_kind(txn, amount)
    if access is not None and amount <= remaining(txn) + 1e-9:
        warnings.append(
            f"{kind}; the customer {'keeps' if keep_access else 'loses'} the access it bought"
        )
    else:
        warnings.append(kind)
    return Preview(
        action="refund",
        title="Refund transaction",
        target=f"transaction {txn['transactionId']}",
        customer_id=txn["customerId"],
        changes=changes,
        warnings=warnings,
        blocked=checks.blocked,
        destructive=True,
        irreversible=True,
        request=Request(
            "POST",
            f"/x-srm/transactions/{txn['transactionId']}/refund",
            {"amount": amount, "reason": reason, "keepAccess": keep_access},
        ),
        watches=[watch],
    )


CANCEL_STATUS = Rule(
    "cancel-transaction.captured-only",
    "only a captured transaction can be cancelled",
    api=("can be cancelled",),
)
CANCEL_NO_ACCESS = Rule(
    "cancel-transaction.no-access",
    "the transaction bought no access",
    api=("did not buy any access",),
)
CANCEL_TERMINATED = Rule(
    "cancel-transaction.already-terminated",
    "the access it bought is already terminated and there is nothing to refund",
    api=("already terminated",),
)


def plan_cancel_transaction(ctx: Context, args: dict[str, Any]) -> Preview:
    txn = _transaction(ctx, args)
    refund = parse_bool(args.get("refund"), "refund", False)
    checks = Checks()
    checks.require(
        txn["status"] in ("captured", "refunded"),
        CANCEL_STATUS,
        f"the transaction is {txn['status']}; only a captured one can be cancelled",
    )
    checks.require(
        txn.get("subscriptionId") is not None or txn.get("passId") is not None, CANCEL_NO_ACCESS
    )
    access = _access_of(ctx, txn)
    changes: list[Change] = []
    watches: list[Watch] = []
    amount = None
    if refund:
        amount = check_refund(ctx, checks, txn, None)
    else:
        checks.require(access is None or access[2]["status"] != "terminated", CANCEL_TERMINATED)
    if access is not None and access[2]["status"] != "terminated":
        entity, label, record = access
        key = record.get("subscriptionId") or record.get("passId")
        changes.append(Change(f"{label} status", record["status"], "terminated"))
        changes.append(Change("access", _access_end(entity, record), "ends now"))
        watches.append(Watch(entity, key, {"status": record["status"]}, {"status": "terminated"}))
    if refund and amount is not None and amount > 0:
        more, watch = _refund_changes(txn, amount)
        changes += more
        watches.append(watch)
    return Preview(
        action="cancel-transaction",
        title="Cancel transaction",
        target=f"transaction {txn['transactionId']}",
        customer_id=txn["customerId"],
        changes=changes,
        blocked=checks.blocked,
        destructive=True,
        irreversible=True,
        warnings=[] if refund else ["no money is returned (add a refund to return it)"],
        request=Request(
            "POST", f"/x-srm/transactions/{txn['transactionId']}/cancel", {"refund": refund}
        ),
        watches=watches,
    )


REFUND = ActionSpec(
    name="refund",
    title="Refund transaction",
    fields=(
        TRANSACTION_ID,
        FieldSpec(
            "amount",
            "Amount",
            "money",
            help="in the transaction's currency; empty refunds all that is left",
        ),
        FieldSpec("reason", "Reason", "text", required=True, max_length=512),
        FieldSpec(
            "keep_access",
            "Keep access",
            "bool",
            default=True,
            help="whether the customer keeps what the transaction bought",
        ),
    ),
    rules=REFUND_RULES,
    plan=plan_refund,
    destructive=True,
    irreversible=True,
)

CANCEL_TRANSACTION = ActionSpec(
    name="cancel-transaction",
    title="Cancel transaction",
    fields=(
        TRANSACTION_ID,
        FieldSpec(
            "refund",
            "Refund too",
            "bool",
            default=False,
            help="also refund what is left (under the refund rules)",
        ),
    ),
    rules=(CANCEL_STATUS, CANCEL_NO_ACCESS, CANCEL_TERMINATED) + REFUND_RULES,
    plan=plan_cancel_transaction,
    destructive=True,
    irreversible=True,
)
