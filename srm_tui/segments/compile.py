"""A segment tree -> one parameterised SQL query over the precomputed facts.

Every value is bound as a named parameter (``:p0``, ``:p1``, … and ``:now``); the SQL text
holds only column names and operators taken from the tables below, never file content.

Evaluation follows CONTRACT sections 4 and 5:

- text is compared casefolded: the facts hold casefolded columns, values are casefolded here;
- every operator is false on null except ``ne``, ``not_in``, ``not_contains`` (true) and
  ``is_not_set``; SQL's third truth value is folded to false wherever a ``not`` could see it;
- lifecycle states, MRR and the subscription counts are computed from the stored dates and
  the bound "now", so one cache answers for any clock;
- money is compared in integer micro-units of its own currency, or, when a condition names
  a currency, converted to it with the rates in force (a bound factor per currency; an
  amount in a currency the rates lack is null);
- relative dates (``today``, ``-30d``, ``-3m``) are resolved against the bound "now".

Over 400 lines: one compiler; the operator table per attribute type and the null rules
below must agree line for line with explain.py, which reads the same tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from srm_tui.domain.rates import Rates
from srm_tui.segments.catalog import DAYS_VALUE, TRUE_ON_NULL, Attribute, lookup
from srm_tui.segments.model import All, AnyOf, Condition, Node, Not, Segment
from srm_tui.segments.validate import resolve_date
from srm_tui.storage import facts as F
from srm_tui.storage.db import SQLITE, Dialect

DAY = 86400
CF, SF, TF = F.CUSTOMER_TABLE, F.SUBSCRIPTION_TABLE, F.TEXT_TABLE

# Counts of the customer's subscriptions whose state depends on now, from the stored range
# of their end dates; only customers whose range straddles now read their rows.
_STRADDLE = (
    "CASE WHEN f.{n} = 0 THEN 0 WHEN f.{lo} >= :now THEN f.{whole} "
    "WHEN f.{hi} < :now THEN 0 ELSE (SELECT {agg} FROM " + SF + " x "
    "WHERE x.customer_id = f.id AND {where} "
    "AND coalesce(x.expires_at, " + str(F.BIG) + ") >= :now) END"
)
CANCELLED_NOW = _STRADDLE.format(
    n="n_stopped",
    lo="stop_to_min",
    hi="stop_to_max",
    whole="n_stopped",
    agg="count(*)",
    where="x.status = 'stopped'",
)
TRIAL_NOW = _STRADDLE.format(
    n="trial_n",
    lo="trial_to_min",
    hi="trial_to_max",
    whole="trial_n",
    agg="count(*)",
    where="x.status = 'active' AND x.in_trial",
)
TRIAL_MRR_NOW = _STRADDLE.format(
    n="trial_n",
    lo="trial_to_min",
    hi="trial_to_max",
    whole="mrr_trial",
    agg="coalesce(sum(x.mrr), 0)",
    where="x.status = 'active' AND x.in_trial",
)

CUSTOMER_STATUS = (
    "CASE WHEN f.n_act > 0 OR f.stop_to_max >= :now OR f.apass_exp_max >= :now THEN 'active' "
    "WHEN f.n_paused > 0 THEN 'paused' WHEN f.n_subs > 0 OR f.n_passes > 0 THEN 'churned' "
    "ELSE 'prospect' END"
)

# Subscription values are templates over the selected subscription's columns ({status},
# {expires_at}, …, {id}); ``Compiler.sub`` fills them for the selector at hand.
SUB_STATE = (
    "CASE WHEN {id} IS NULL THEN NULL WHEN {status} = 'paused' THEN 'paused' "
    "WHEN {status} = 'terminated' OR ({status} = 'stopped' AND {expires_at} < :now) "
    "THEN 'churned' WHEN {status} = 'stopped' THEN 'cancelled' "
    "WHEN {expires_at} < :now THEN 'grace' WHEN {in_trial} THEN 'trial' ELSE 'active' END"
)


def _state_in(*states: str) -> str:
    quoted = ", ".join(f"'{s}'" for s in states)
    return f"CASE WHEN {{id}} IS NULL THEN NULL ELSE ({SUB_STATE}) IN ({quoted}) END"


# attribute -> SQL of its value as compared (text casefolded, money in micro-units).
VALUE_SQL: dict[str, str] = {
    "customer.id": "f.id",
    "customer.email": "t.email_cf",
    "customer.first_name": "t.first_cf",
    "customer.last_name": "t.last_cf",
    "customer.locale": "t.locale_cf",
    "customer.external_id": "t.ext_id_cf",
    "customer.country": "f.country",
    "customer.currency": "f.currency",
    "customer.registered_at": "f.registered_at",
    "customer.last_login_at": "f.last_login_at",
    "customer.status": CUSTOMER_STATUS,
    "customer.mrr": f"(f.mrr_act - ({TRIAL_MRR_NOW}))",
    "customer.lifetime_revenue": "f.revenue",
    "customer.lifetime_transactions": "f.n_txn",
    "customer.active_subscriptions": f"(f.n_act + ({CANCELLED_NOW}))",
    "customer.paid_active_subscriptions": f"(f.n_act - ({TRIAL_NOW}) + ({CANCELLED_NOW}))",
    "customer.churned_subscriptions": f"(f.n_term + f.n_stopped - ({CANCELLED_NOW}))",
    "customer.is_hybrid": "(f.n_subs > 0 AND f.n_passes > 0)",
    "customer.latest_payment_rejection_reason": "t.reject_cf",
    "customer.last_payment_method": "t.lpm_cf",
    "customer.has_active_pass": "coalesce(f.ppass_exp_max >= :now, 0)",
    "customer.latest_pass_id": "CAST(f.lp_id AS TEXT)",
    "customer.latest_pass_end_date": "f.lp_end",
}
SUB_VALUE_SQL: dict[str, str] = {
    "subscription.id": "{id}",
    "subscription.renewals": "{renewals}",
    "subscription.offer_id": "{offer_cf}",
    "subscription.coupon_code": "{coupon_cf}",
    "subscription.payment_method": "{pm_cf}",
    "subscription.state": SUB_STATE,
    "subscription.status": "{status}",
    "subscription.period": "{period}",
    "subscription.currency": "{currency}",
    "subscription.channel": "{channel}",
    "subscription.in_trial": "{in_trial}",
    "subscription.in_grace": _state_in("grace"),
    "subscription.is_paused": _state_in("paused"),
    "subscription.will_renew": _state_in("trial", "active", "grace"),
    "subscription.started_at": "{started_at}",
    "subscription.expires_at": "{expires_at}",
    "subscription.next_payment_at": f"CASE WHEN ({_state_in('trial', 'active', 'grace')}) THEN {{expires_at}} END",
    "subscription.price": "{price}",
    "subscription.mrr": "{mrr}",
    "subscription.lifetime_revenue": "{revenue}",
    "subscription.duration_days": "CASE WHEN {started_at} IS NULL THEN NULL WHEN :now >= {started_at} "
    f"THEN (:now - {{started_at}}) / {DAY} "
    f"ELSE -(({{started_at}} - :now + {DAY - 1}) / {DAY}) END",
}

# The currency a money attribute's amount is in: the customer's for customer totals, the
# subscription's (nextPaymentCurrency) for its own amounts.
MONEY_CURRENCY_SQL = {"customer": "f.currency", "subscription": "{currency}"}

# Text attributes that are the title of an offer: the column that names the offer.
TITLE_KEY_SQL = {
    "customer.latest_pass_title": "f.lp_offer",
    "subscription.offer_title": "{offer_key}",
}
CUSTOM_SOURCE_SQL = {"customer.custom.": "t.external_data", "subscription.custom.": "{props}"}

# The subscription each selector describes, for a customer row `f`.
LONGEST_SQL = (
    f"(SELECT x.id FROM {SF} x WHERE x.customer_id = f.id ORDER BY "
    "min(:now, coalesce(x.expires_at, :now)) - x.started_at DESC, x.id ASC LIMIT 1)"
)
SELECTED_SUB_SQL = {
    "latest": "f.latest_sub",
    "highest_revenue": "f.top_rev_sub",
    "longest": f"CASE WHEN f.n_subs <= 1 THEN f.latest_sub ELSE {LONGEST_SQL} END",
}
# Where the selected subscription's columns come from. The facts row holds a copy of the
# latest subscription; the other selectors pick the same one for most customers (one
# subscription, or the latest earns the most), and join a row only for the rest.
_SAME = {"highest_revenue": "f.top_rev_sub IS f.latest_sub", "longest": "f.n_subs <= 1"}
JOIN_SQL = {
    "highest_revenue": (
        f"LEFT JOIN {SF} s ON s.customer_id = f.id AND s.id = f.top_rev_sub "
        "AND f.top_rev_sub IS NOT f.latest_sub"
    ),
    "longest": (
        f"LEFT JOIN {SF} s ON s.customer_id = f.id AND f.n_subs > 1 AND s.id = {LONGEST_SQL}"
    ),
}


# PostgreSQL (storage.db.Dialect): the same values, with booleans kept apart from integers
# (a flag column is tested ``<> 0``, a predicate selected as a value is cast to 0/1), NULLs
# ordered as SQLite orders them, and null-safe equality spelt out.
_PG_REWRITES = (
    ("x.status = 'active' AND x.in_trial", "x.status = 'active' AND x.in_trial <> 0"),
    ("WHEN {in_trial} THEN", "WHEN {in_trial} <> 0 THEN"),
    (
        "min(:now, coalesce(x.expires_at, :now)) - x.started_at DESC",
        "least(:now, coalesce(x.expires_at, :now)) - x.started_at DESC NULLS LAST",
    ),
    ("f.top_rev_sub IS NOT f.latest_sub", "f.top_rev_sub IS DISTINCT FROM f.latest_sub"),
    ("f.top_rev_sub IS f.latest_sub", "f.top_rev_sub IS NOT DISTINCT FROM f.latest_sub"),
)
_PG_FLAGS = {  # values that are predicates in SQLite's SQL: 0/1 on PostgreSQL
    "customer.is_hybrid",
    "subscription.in_grace",
    "subscription.is_paused",
    "subscription.will_renew",
}


@dataclass(frozen=True)
class DialectSql:
    """The attribute and selector tables for one SQL dialect."""

    value: dict[str, str]
    sub_value: dict[str, str]
    selected_sub: dict[str, str]
    same: dict[str, str]
    join: dict[str, str]


def _pg_text(sql: str) -> str:
    for old, new in _PG_REWRITES:
        sql = sql.replace(old, new)
    return sql


def _pg_tables() -> DialectSql:
    from srm_tui.storage.db import POSTGRES

    value = {k: _pg_text(v) for k, v in VALUE_SQL.items()}
    sub_value = {k: _pg_text(v) for k, v in SUB_VALUE_SQL.items()}
    for name in _PG_FLAGS:
        table = value if name in value else sub_value
        table[name] = POSTGRES.bool_int(table[name])
    value["customer.has_active_pass"] = "coalesce(((f.ppass_exp_max >= :now)::int), 0)"
    return DialectSql(
        value,
        sub_value,
        {k: _pg_text(v) for k, v in SELECTED_SUB_SQL.items()},
        {k: _pg_text(v) for k, v in _SAME.items()},
        {k: _pg_text(v) for k, v in JOIN_SQL.items()},
    )


_SQLITE_TABLES = DialectSql(VALUE_SQL, SUB_VALUE_SQL, SELECTED_SUB_SQL, _SAME, JOIN_SQL)
_PG_TABLES: list[DialectSql] = []


def sql_for(dialect: Dialect) -> DialectSql:
    """The attribute and selector SQL of ``dialect`` (SQLite's are the module's tables)."""
    if dialect.name != "postgres":
        return _SQLITE_TABLES
    if not _PG_TABLES:
        _PG_TABLES.append(_pg_tables())
    return _PG_TABLES[0]


def sub_state_sql(dialect: Dialect) -> str:
    """SUB_STATE (a template over the selected subscription's columns) in ``dialect``."""
    return _pg_text(SUB_STATE) if dialect.name == "postgres" else SUB_STATE


def _true(dialect: Dialect) -> str:
    return "TRUE" if dialect.name == "postgres" else "1"


def _false(dialect: Dialect) -> str:
    return "FALSE" if dialect.name == "postgres" else "0"


def dialect_of(conn: Any) -> Dialect:
    """The dialect of a connection (sqlite3's has none: SQLite)."""
    return getattr(conn, "dialect", None) or SQLITE


def offer_titles(conn: Any) -> list[tuple[str, str | None]]:
    """Every cached offer's id and casefolded title (PostgreSQL folds no Unicode case as
    Python does, so a title condition there compares these, bound into the query)."""
    return [
        (r[0], None if r[1] is None else str(r[1]).casefold())
        for r in conn.execute("SELECT id, title FROM offers ORDER BY id")
    ]


_TEXT_SUB = {"offer_cf", "coupon_cf", "pm_cf", "props"}  # copied to the text table
_USES_TEXT = re.compile(r"\bt\.")


class _Columns(dict):
    """Template fields -> SQL of the selected subscription's columns, for one selector."""

    def __init__(self, mode: str, same: dict[str, str] | None = None):
        super().__init__()
        self.mode = mode
        self.same = _SAME if same is None else same

    def __missing__(self, name: str) -> str:
        if self.mode == "row":
            return f"s.{name}"
        copy = f"{'t' if name in _TEXT_SUB else 'f'}.s_{name}"
        if self.mode == "latest":
            return "f.latest_sub" if name == "id" else copy
        same = self.same[self.mode]
        if name == "id":
            return f"(CASE WHEN {same} THEN f.latest_sub ELSE s.id END)"
        return f"(CASE WHEN {same} THEN {copy} ELSE s.{name} END)"


def custom_path(key: str) -> str:
    """The JSON path of a custom KEY (validation keeps quotes and backslashes out of it)."""
    return f'$."{key}"'


@dataclass
class Compiled:
    """The tree as SQL over the customer facts ``f`` (and ``s`` when joined).

    With the ``any`` selector the subscription part (``exists``) must hold for one of the
    customer's subscriptions. A customer with at most one has it copied in its facts row
    (``exists_copy``: the same part over that copy, or over nulls when there is none); only
    customers with several read their subscription rows. Conditions of a top-level ``all``
    that read only the customer stay outside, so most customers never reach either.
    """

    where: str
    params: dict[str, Any]
    selector: str
    uses_subscription: bool
    exists: str | None = None
    exists_copy: str | None = None
    dialect: Dialect = SQLITE
    # (tree, selector, now, rates) it was compiled from, to speak another dialect (for_conn)
    source: tuple | None = field(default=None, compare=False, repr=False)
    from_sql: str = field(init=False)
    filter: str = field(init=False)

    def __post_init__(self) -> None:
        self.from_sql, self.filter = f"{CF} f", self.where
        if any(
            _USES_TEXT.search(part or "") for part in (self.where, self.exists, self.exists_copy)
        ):
            self.from_sql += f" LEFT JOIN {TF} t ON t.id = f.id"
        if self.exists is not None:
            self.filter = (
                f"{self.where} AND CASE WHEN f.n_subs <= 1 THEN "
                f"coalesce({self.exists_copy}, {_false(self.dialect)}) ELSE EXISTS (SELECT 1 FROM {SF} s "
                f"WHERE s.customer_id = f.id AND {self.exists}) END"
            )
        elif self.uses_subscription and self.selector in JOIN_SQL:
            self.from_sql += f" {sql_for(self.dialect).join[self.selector]}"

    def count_sql(self, id_range: bool = False) -> str:
        extra = " AND f.id BETWEEN :lo AND :hi" if id_range else ""
        return f"SELECT count(*) FROM {self.from_sql} WHERE ({self.filter}){extra}"

    def ids_sql(self, paged: bool = False) -> str:
        page = " AND f.id > :after ORDER BY f.id LIMIT :limit" if paged else " ORDER BY f.id"
        return f"SELECT f.id FROM {self.from_sql} WHERE ({self.filter}){page}"


MODES = {
    "latest": "latest",
    "highest_revenue": "highest_revenue",
    "longest": "longest",
    "any": "row",
}


class Compiler:
    """Builds SQL for one query; ``mode`` says where subscription columns come from
    (``latest``, ``highest_revenue``, ``longest``, or ``row``: a row ``s`` of the
    subscription facts)."""

    def __init__(
        self,
        now: int,
        mode: str = "latest",
        rates: Rates | None = None,
        dialect: Dialect = SQLITE,
        titles: Any = None,
    ):
        self.params: dict[str, Any] = {"now": int(now)}
        self.uses_subscription = False
        self.dialect = dialect
        self.sql = sql_for(dialect)
        self.pg = dialect.name == "postgres"
        self.columns = _Columns(mode, self.sql.same)
        self.rates = rates
        self._factors: dict[str, str] = {}  # target currency -> SQL CASE of factors
        self._titles = titles  # PostgreSQL: a callable giving offer_titles(), read once
        self._offers: str | None = None

    def set_mode(self, mode: str) -> None:
        """Read subscription columns for another selector from here on."""
        self.columns = _Columns(mode, self.sql.same)

    def offers_cf(self) -> str:
        """A row source ``o(id, title_cf)``: the offers with casefolded titles (PostgreSQL:
        the titles bound into the query; SQLite folds them itself)."""
        if not self.pg:
            return "(SELECT id, casefold(title) AS title_cf FROM offers) o"
        if self._offers is None:
            rows = list(self._titles() if self._titles is not None else [])
            if not rows:
                self._offers = (
                    "(SELECT CAST(NULL AS text) AS id, CAST(NULL AS text) AS title_cf "
                    "WHERE FALSE) o"
                )
            else:
                values = ", ".join(
                    f"(CAST({self.bind(i)} AS text), CAST({self.bind(t)} AS text))" for i, t in rows
                )
                self._offers = f"(VALUES {values}) AS o(id, title_cf)"
        return self._offers

    def sub(self, template: str) -> str:
        return template.format_map(self.columns)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params) - 1}"
        self.params[name] = value
        return f":{name}"

    # tree ------------------------------------------------------------------------------

    def node(self, node: Node, negated: bool = False) -> str:
        if isinstance(node, (All, AnyOf)):
            if not node.items:
                return _true(self.dialect) if isinstance(node, All) else _false(self.dialect)
            # SQLite stops at the first false term of an AND (true of an OR): the cheap
            # tests go first, so the costly ones run for fewer customers.
            parts = sorted(((cost(n), i, self.node(n, negated)) for i, n in enumerate(node.items)))
            joiner = " AND " if isinstance(node, All) else " OR "
            return "(" + joiner.join(sql for _, _, sql in parts) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.item, True)})"
        return self.condition(node, negated)

    def condition(self, cond: Condition, two_valued: bool = True) -> str:
        """SQL true exactly when the condition holds (false, never null, under a `not`).

        Outside any `not`, a null result already acts as false in WHERE (AND and OR are
        monotone), and the bare comparison keeps SQLite's cheaper forms.
        """
        attribute = lookup(cond.attr)
        if attribute is None:
            raise ValueError(f"unknown attribute {cond.attr}")
        if attribute.subscription:
            self.uses_subscription = True
        if cond.attr in TITLE_KEY_SQL:
            return self._title(attribute, cond)
        sql = self.test(attribute, cond.op, cond.value, self.value_sql(attribute, cond.currency))
        if two_valued and cond.op not in TRUE_ON_NULL and cond.op not in ("is_set",):
            return f"coalesce({sql}, {_false(self.dialect)})"
        return sql

    def value_sql(self, attribute: Attribute, currency: str | None = None) -> str:
        """The attribute's value as conditions compare it (text casefolded, money in micros,
        converted to ``currency`` when one is named)."""
        if attribute.money and currency is not None:
            own = self.sub(
                MONEY_CURRENCY_SQL["subscription" if attribute.subscription else "customer"]
            )
            raw = self.value_sql(attribute)
            if self.pg:
                return self.dialect.round_int(f"{raw} * {self.factor_sql(own, currency)}")
            return f"CAST(round({raw} * {self.factor_sql(own, currency)}) AS INTEGER)"
        if attribute.subscription:
            self.uses_subscription = True
        if attribute.name in TITLE_KEY_SQL:
            key = self.sub(TITLE_KEY_SQL[attribute.name])
            if self.pg:
                return f"(SELECT o.title_cf FROM {self.offers_cf()} WHERE o.id = {key})"
            return f"casefold((SELECT o.title FROM offers o WHERE o.id = {key}))"
        key = attribute.custom_key
        if key is not None:
            if self.pg:  # the PostgreSQL facts hold the values casefolded (storage.facts_pg)
                return self.custom_raw(attribute)
            return f"casefold({self.custom_raw(attribute)})"
        if attribute.name in SUB_VALUE_SQL:
            return self.sub(self.sql.sub_value[attribute.name])
        return self.sql.value[attribute.name]

    def factor_sql(self, own: str, target: str) -> str:
        """SQL of what one unit of the currency in column ``own`` is worth in ``target``
        (null when the rates lack either).

        Given ``rates``, the factors are bound per currency. Otherwise the query reads the
        rates in force from the cache it runs on: the imported table when there is one,
        else the shipped table (bound), so every caller (console, CLI, worker processes,
        schedules) converts with the same rates without being handed them.
        """
        key = f"{own}->{target}"
        if key not in self._factors:
            if self.rates is not None:
                arms = [
                    f"WHEN {self.bind(code)} THEN {self.bind(self.rates.factor(code, target))}"
                    for code in self.rates.currencies()
                    if self.rates.factor(code, target) is not None
                ]
                self._factors[key] = f"(CASE upper({own}) {' '.join(arms)} END)" if arms else "NULL"
            else:
                self._factors[key] = (
                    f"({self._per_eur(self.bind(target))} / {self._per_eur(f'upper({own})')})"
                )
        return self._factors[key]

    def _per_eur(self, code: str) -> str:
        from srm_tui.domain.rates import BASE, shipped

        table = shipped()
        arms = " ".join(
            f"WHEN {self.bind(c)} THEN {self.bind(r)}" for c, r in sorted(table.per_eur.items())
        )
        return (
            f"(CASE WHEN {code} = {self.bind(BASE)} THEN 1.0 "
            "WHEN EXISTS (SELECT 1 FROM exchange_rates) THEN (SELECT x.per_eur FROM "
            f"exchange_rates x WHERE x.currency = {code}) ELSE (CASE {code} {arms} END) END)"
        )

    def custom_raw(self, attribute: Attribute) -> str:
        """A custom KEY's value as text: strings as they are, anything else as JSON."""
        source = self.sub(
            CUSTOM_SOURCE_SQL[
                "customer.custom."
                if attribute.name.startswith("customer.")
                else "subscription.custom."
            ]
        )
        if self.pg:
            return self.dialect.json_text(source, self.bind(attribute.custom_key or ""))
        path = self.bind(custom_path(attribute.custom_key or ""))
        return (
            f"CASE json_type({source}, {path}) WHEN 'text' THEN {source} ->> {path} "
            f"WHEN 'null' THEN NULL ELSE {source} -> {path} END"
        )

    def custom_display(self, attribute: Attribute) -> str:
        """A custom KEY's value as the customer has it (explain shows it; on PostgreSQL the
        facts hold it casefolded, so it is read from the record itself)."""
        if not self.pg:
            return self.custom_raw(attribute)
        source = (
            "c.external_data"
            if attribute.name.startswith("customer.")
            else "so.external_properties"
        )
        return self.dialect.json_text(source, self.bind(attribute.custom_key or ""))

    def _title(self, attribute: Attribute, cond: Condition) -> str:
        # Offers are few: the set of offers whose title passes is found once per query.
        key = self.sub(TITLE_KEY_SQL[attribute.name])
        no = _false(self.dialect)
        if cond.op == "is_not_set":
            return f"(NOT coalesce({key} IN (SELECT o.id FROM offers o), {no}))"
        if cond.op == "is_set":
            return f"coalesce({key} IN (SELECT o.id FROM offers o), {no})"
        if self.pg:
            source, title, title_cf = self.offers_cf(), "o.title_cf", "o.title_cf"
        else:
            source, title, title_cf = "offers o", "o.title", "casefold(o.title)"
        test = self.test(attribute, cond.op, cond.value, title_cf)
        if cond.op in TRUE_ON_NULL:
            return (
                f"(NOT coalesce({key} IN (SELECT o.id FROM {source} "
                f"WHERE {title} IS NOT NULL AND NOT ({test})), {no}))"
            )
        return f"coalesce({key} IN (SELECT o.id FROM {source} WHERE {test}), {no})"

    # operators -------------------------------------------------------------------------

    def test(self, attribute: Attribute, op: str, value: Any, x: str) -> str:
        kind = attribute.type
        if op == "is_set":
            return f"({x} IS NOT NULL)"
        if op == "is_not_set":
            return f"({x} IS NULL)"
        if kind == "text":
            return self._text(op, value, x)
        if kind == "date":
            return self._date(op, value, x)
        if kind == "bool":
            return f"({x} = {self.bind(1 if value else 0)})"
        conv = (lambda v: F.micros(v)) if attribute.money else (lambda v: v)
        if op == "between":
            return f"({x} BETWEEN {self.bind(conv(value[0]))} AND {self.bind(conv(value[1]))})"
        if op in ("in", "not_in"):
            return self._in(op, [conv(v) for v in value], x)
        sym = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        if op == "ne":
            return f"({x} IS NULL OR {x} <> {self.bind(conv(value))})"
        return f"({x} {sym} {self.bind(conv(value))})"

    def _in(self, op: str, values: list[Any], x: str) -> str:
        if op == "in":
            if not values:
                return _false(self.dialect)
            return f"({x} IN ({', '.join(self.bind(v) for v in values)}))"
        if not values:
            return _true(self.dialect)
        return f"({x} IS NULL OR {x} NOT IN ({', '.join(self.bind(v) for v in values)}))"

    def _text(self, op: str, value: Any, x: str) -> str:
        if op in ("in", "not_in"):
            return self._in(op, [v.casefold() for v in value], x)
        v = value.casefold()
        if op == "eq":
            return f"({x} = {self.bind(v)})"
        if op == "ne":
            return f"({x} IS NULL OR {x} <> {self.bind(v)})"
        find = "strpos" if self.pg else "instr"
        if op == "contains":
            return f"({find}({x}, {self.bind(v)}) > 0)"
        if op == "not_contains":
            return f"({x} IS NULL OR {find}({x}, {self.bind(v)}) = 0)"
        if not v:
            return f"({x} IS NOT NULL)"
        if self.pg and op in ("starts_with", "ends_with"):
            cut = "left" if op == "starts_with" else "right"
            return f"({cut}({x}, CAST({self.bind(len(v))} AS integer)) = {self.bind(v)})"
        if op == "starts_with":
            return f"(substr({x}, 1, {self.bind(len(v))}) = {self.bind(v)})"
        if op == "ends_with":
            return f"(substr({x}, -{self.bind(len(v))}) = {self.bind(v)})"
        raise ValueError(f"operator {op} is not for text")

    def _date(self, op: str, value: Any, x: str) -> str:
        now = self.params["now"]
        if op in DAYS_VALUE:
            span = days_seconds(value)
            if op == "within_last":
                return f"({x} BETWEEN {self.bind(now - span)} AND :now)"
            if op == "more_than_days_ago":
                return f"({x} < {self.bind(now - span)})"
            return f"({x} BETWEEN :now AND {self.bind(now + span)})"
        if op == "between":
            a, b = resolve_date(value[0], now), resolve_date(value[1], now)
            return f"({x} BETWEEN {self.bind(a)} AND {self.bind(b)})"
        at = resolve_date(value, now)
        if op == "before":
            return f"({x} < {self.bind(at)})"
        if op == "after":
            return f"({x} > {self.bind(at)})"
        if op == "on":
            start = day_start(at)
            return f"({x} >= {self.bind(start)} AND {x} < {self.bind(start + DAY)})"
        raise ValueError(f"operator {op} is not for dates")


_COMPUTED = {
    "customer.status",
    "customer.mrr",
    "customer.active_subscriptions",
    "customer.paid_active_subscriptions",
    "customer.churned_subscriptions",
    "subscription.state",
    "subscription.in_grace",
    "subscription.is_paused",
    "subscription.will_renew",
    "subscription.next_payment_at",
    "subscription.duration_days",
}


def cost(node: Node) -> int:
    """A rough per-customer cost of evaluating a node, to order the terms of a group."""
    if isinstance(node, Not):
        return cost(node.item)
    if isinstance(node, (All, AnyOf)):
        return sum(cost(n) for n in node.items) + 1
    attribute = lookup(node.attr)
    if attribute is None:
        return 1
    if attribute.custom_key is not None:
        base = 8
    elif attribute.name in TITLE_KEY_SQL:
        base = 5
    elif attribute.name in _COMPUTED:
        base = 4
    elif attribute.type == "text":
        base = 2
    else:
        base = 1
    if isinstance(node.value, tuple):
        base += len(node.value) // 4
    return base


def days_seconds(days: float) -> int | float:
    span = days * DAY
    return int(span) if span == int(span) else span


def day_start(at: int | float) -> int:
    return int(at // DAY) * DAY


def compile_segment(
    segment: Segment, now: int, rates: Rates | None = None, conn: Any = None
) -> Compiled:
    """The whole tree as one query (callers bind ``params``); money conditions naming a
    currency convert with ``rates`` (default: the table shipped with srm). ``conn`` (the
    connection it will run on) picks the SQL dialect; without it, SQLite's."""
    return compile_tree(segment.where, segment.selector, now, rates, conn)


def for_conn(compiled: Compiled, conn: Any) -> Compiled:
    """``compiled`` in the SQL of the database ``conn`` talks to (compiled again from its
    tree when it was made for the other one: a screen compiles without knowing the store)."""
    dialect = dialect_of(conn)
    if compiled.dialect.name == dialect.name or compiled.source is None:
        return compiled
    return compile_tree(*compiled.source, conn=conn)


def compile_tree(
    where: Node, selector: str, now: int, rates: Rates | None = None, conn: Any = None
) -> Compiled:
    source = (where, selector, now, rates)
    dialect = dialect_of(conn)
    titles = (lambda: offer_titles(conn)) if conn is not None else None
    compiler = Compiler(now, MODES[selector], rates, dialect, titles)
    if selector != "any":
        sql = compiler.node(where)
        return Compiled(
            sql,
            compiler.params,
            selector,
            compiler.uses_subscription,
            dialect=dialect,
            source=source,
        )
    outer: list[Node] = []
    inner: list[Node] = []
    for item in where.items if isinstance(where, All) else (where,):
        (inner if uses_subscription(item) else outer).append(item)
    outer_sql = compiler.node(All(tuple(outer))) if outer else _true(dialect)
    if not inner:
        return Compiled(outer_sql, compiler.params, selector, False, dialect=dialect, source=source)
    part = All(tuple(inner)) if len(inner) > 1 else inner[0]
    exists = compiler.node(part)
    compiler.set_mode("latest")
    copy = compiler.node(part)
    return Compiled(outer_sql, compiler.params, selector, True, exists, copy, dialect, source)


def uses_subscription(node: Node) -> bool:
    if isinstance(node, Condition):
        attribute = lookup(node.attr)
        return attribute is not None and attribute.subscription
    if isinstance(node, Not):
        return uses_subscription(node.item)
    return any(uses_subscription(n) for n in node.items)
