"""The team store's schema on PostgreSQL: the tables of the SQLite cache (storage/schema.py) in
PostgreSQL's own DDL, applied in versioned steps.

The version is the SQLite ``SCHEMA_VERSION`` the DDL matches (meta row ``schema_version``);
``PG_MIGRATIONS[v]`` takes a store from the step before to version ``v`` (the first entry
creates everything on an empty database). A SQLite migration is never replayed here: its
table rebuilds and json_extract are SQLite's, so each new SQLite version gets its PostgreSQL
twin as a new entry, and tests/integration/test_pg_schema.py fails until it has one.

Type rules (ISSUE15 1(a)): INTEGER -> bigint, REAL -> double precision (PostgreSQL's ``real``
has 4 bytes), TEXT -> ``text COLLATE "C"`` (SQLite's BINARY order, so keyset pages agree),
BLOB and every record's ``raw`` (compressed bytes, storage/payload.py) -> bytea; flags stay
0/1 bigints, so JSON output is the same on both. srm's own integer ids are identities (a copy
may give them explicitly: ``IDENTITY_TABLES`` says whose sequence to move past the copied
ids). The sort indexes put NULLs first ascending, as SQLite orders them.

Over 400 lines: the DDL is one block per version, like storage/schema.py.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

# -- what each table is (roles, migrate and replicate read these) ---------------------------

# The vendor's records: written only by the writer (sync, webhooks, imports), read by all.
VENDOR_RECORD_TABLES: frozenset[str] = frozenset(
    {
        "customers",
        "subscriptions",
        "passes",
        "transactions",
        "payment_details",
        "emails",
        "history",
        "offers",
        "localizations",
        "season_groups",
        "campaigns",
        "campaign_codes",
    }
)
# The writer's own bookkeeping of the vendor's data: checkpoints, runs, what it could not
# read, imports, webhook receipts, exchange rates, the payload dictionaries, meta.
SYNC_TABLES: frozenset[str] = frozenset(
    {
        "meta",
        "sync_checkpoints",
        "sync_runs",
        "quarantine",
        "customer_fetch_state",
        "observed_changes",
        "import_files",
        "import_pending_emails",
        "webhook_events",
        "webhook_replay",
        "webhook_refusals",
        "webhook_counters",
        "exchange_rates",
        "raw_dictionaries",
    }
)
# Everything the writer (srm_sync) alone writes.
VENDOR_TABLES: frozenset[str] = VENDOR_RECORD_TABLES | SYNC_TABLES
# srm's own data, written by agents (under the roles' rules) as well as the writer: the
# outbox, drafts, audit, notes srm keeps itself (the table also holds notes the API sent),
# saved segments and their children, schedules, bulk runs, playbook versions, exports made.
SRM_TABLES: frozenset[str] = frozenset(
    {
        "outbox",
        "offer_drafts",
        "audit",
        "notes",
        "segments",
        "segment_versions",
        "segment_members",
        "segment_member_changes",
        "segment_schedules",
        "bulk_runs",
        "bulk_members",
        "playbook_versions",
        "exports",
    }
)
# Computed from the vendor tables (segment facts, the search documents, row counts): never
# copied between stores, rebuilt by the writer.
DERIVED_TABLES: frozenset[str] = frozenset(
    {
        "segment_customer_facts",
        "segment_customer_text",
        "segment_sub_facts",
        "segment_facts_dirty",
        "row_counts",
        "customer_search",
        # [writer] Not computed, but like the above never copied between stores and written
        # by the writer alone: who holds the store's writer lock (storage/writer.py).
        "store_writers",
        # [requests] Work asked of the writer (storage/requests.py): the store's own queue,
        # never copied between stores; agents insert, the writer serves.
        "store_requests",
        # [changes] What changed, for open consoles (PostgreSQL only): written by triggers and
        # the writer, pruned by the writer, never copied.
        "change_log",
    }
)
# [changes] Tables, triggers and indexes only the PostgreSQL store has (the parity test with
# the SQLite cache allows exactly these): the change log LISTENing consoles read.
PG_ONLY_TABLES: frozenset[str] = frozenset({"change_log"})
# srm's tables whose changes are logged: the trigger function (by the customers each row
# names, or the table alone) and the statements.
CHANGE_LOGGED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("notes", "srm_changes_of_customers", ("insert", "update", "delete")),
    ("outbox", "srm_changes_of_customers", ("insert", "update", "delete")),
    ("audit", "srm_changes_of_customers", ("insert",)),
    ("segments", "srm_changes_of_table", ("insert", "update", "delete")),
    ("playbook_versions", "srm_changes_of_table", ("insert",)),
    ("bulk_runs", "srm_changes_of_table", ("insert", "update", "delete")),
    # A request served: the asking console's "waiting for the team's sync" ends at once.
    ("store_requests", "srm_changes_of_customers", ("update",)),
)
PG_ONLY_TRIGGERS: frozenset[str] = frozenset(
    f"change_log_{table}_{op}" for table, _, ops in CHANGE_LOGGED for op in ops
)
ALL_TABLES: frozenset[str] = VENDOR_TABLES | SRM_TABLES | DERIVED_TABLES
TABLE_KINDS: dict[str, str] = {
    **{name: "vendor" for name in VENDOR_TABLES},
    **{name: "srm" for name in SRM_TABLES},
    **{name: "derived" for name in DERIVED_TABLES},
}

# Columns only the PostgreSQL store has: who owns a segment or bulk run (row-level security
# binds an agent's writes to its own), and who wrote an audit row (db_user is the connection's
# role, which a client cannot forge; host and pid, written by srm, are on both since V11).
PG_ONLY_COLUMNS: dict[str, tuple[str, ...]] = {
    "segments": ("owner",),
    "bulk_runs": ("owner",),
    "audit": ("db_user",),
    "store_requests": ("requested_by",),  # [requests] the asking login (current_user)
}
# SQLite tables that have a differently shaped twin here: FTS5's contentless index becomes a
# table of folded tsvector documents (filled by the search code, keyed by customers.id).
PG_REPLACED_TABLES: dict[str, str] = {"customers_fts": "customer_search"}

# Tables whose id is an identity (srm numbers them); after copying rows with their ids, move
# each sequence past them: setval(pg_get_serial_sequence(table, 'id'), max(id)).
IDENTITY_TABLES: tuple[str, ...] = (
    "sync_runs",
    "quarantine",
    "outbox",
    "audit",
    "webhook_events",
    "exports",
    "segments",
    "segment_schedules",
    "offer_drafts",
    "observed_changes",
    "webhook_refusals",
    "bulk_runs",
    "store_requests",
)

# The advisory lock apply() holds: two `srm team init` at once apply each step once.
SCHEMA_LOCK_KEY = 0x73726D_736368  # "srm" "sch"

# -- version 9: everything, as SQLite's V1..V9 left it -----------------------------------------

BASE = """
CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value text COLLATE "C");

CREATE TABLE customers (
    id bigint PRIMARY KEY,
    email text COLLATE "C", email_lc text COLLATE "C",
    first_name text COLLATE "C", last_name text COLLATE "C",
    country text COLLATE "C", currency text COLLATE "C", locale text COLLATE "C",
    registered_at bigint, last_login_at bigint,
    external_id text COLLATE "C", external_data text COLLATE "C",
    address text COLLATE "C", city text COLLATE "C", state text COLLATE "C",
    post_code text COLLATE "C", birth_date text COLLATE "C", company text COLLATE "C",
    anonymized bigint NOT NULL DEFAULT 0,
    transactions bigint NOT NULL DEFAULT 0,
    last_payment_method text COLLATE "C",
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
-- The list's sort orders page by (key, id) from either end: NULLs first ascending, as SQLite.
CREATE INDEX customers_email ON customers (email_lc ASC NULLS FIRST, id);
CREATE INDEX customers_registered ON customers (registered_at ASC NULLS FIRST, id);
CREATE INDEX customers_last_login ON customers (last_login_at ASC NULLS FIRST, id);
CREATE INDEX customers_transactions ON customers (transactions, id);
CREATE INDEX customers_payment_method ON customers (last_payment_method ASC NULLS FIRST, id);
CREATE INDEX customers_country ON customers (country);
CREATE INDEX customers_currency ON customers (currency);
CREATE INDEX customers_birth_date ON customers (birth_date);
-- Identifiers match without case (CONTRACT section 6), ASCII only as SQLite's NOCASE: lower()
-- of "C" text folds A-Z alone.
CREATE INDEX customers_external_id_nocase ON customers (lower(external_id));

-- Search documents (SQLite: the FTS5 table customers_fts): one row per customer, its folded
-- fields as a tsvector with weights and position gaps per field, written by the search code.
CREATE TABLE customer_search (
    id bigint PRIMARY KEY,
    doc tsvector NOT NULL,
    zip_words text COLLATE "C",
    state_words text COLLATE "C"
);
CREATE INDEX customer_search_doc ON customer_search USING gin (doc);
CREATE INDEX customer_search_state ON customer_search (state_words);

CREATE TABLE subscriptions (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    offer_id text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    date_from bigint, date_to bigint,
    in_trial bigint NOT NULL DEFAULT 0,
    created_at bigint,
    period text COLLATE "C",
    price double precision, currency text COLLATE "C",
    gateway text COLLATE "C", payment_method text COLLATE "C", coupon_code text COLLATE "C",
    renewals bigint NOT NULL DEFAULT 0,
    external_properties text COLLATE "C",
    raw bytea NOT NULL,
    synced_at bigint NOT NULL,
    period_derived bigint NOT NULL DEFAULT 0,
    price_derived bigint NOT NULL DEFAULT 0,
    currency_derived bigint NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE passes (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    offer_id text COLLATE "C" NOT NULL,
    offer_type text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    created_at bigint,
    expires_at bigint,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL,
    created_derived bigint NOT NULL DEFAULT 0
);
CREATE INDEX passes_customer ON passes (customer_id);

CREATE TABLE transactions (
    id text COLLATE "C" PRIMARY KEY,
    customer_id bigint NOT NULL,
    date bigint,
    offer_id text COLLATE "C",
    subscription_id bigint, pass_id bigint,
    amount double precision, currency text COLLATE "C",
    status text COLLATE "C" NOT NULL,
    gateway text COLLATE "C", payment_method text COLLATE "C",
    external_payment_id text COLLATE "C", rejected_reason text COLLATE "C",
    refunded_amount double precision NOT NULL DEFAULT 0,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL,
    offer_period text COLLATE "C"
);
-- A customer's latest transaction: date DESC (NULLs last, as SQLite), id DESC.
CREATE INDEX transactions_customer ON transactions (customer_id, date ASC NULLS FIRST, id);
CREATE INDEX transactions_external_nocase ON transactions (lower(external_payment_id));

CREATE TABLE payment_details (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    gateway text COLLATE "C", method text COLLATE "C",
    active bigint NOT NULL DEFAULT 1,
    variant text COLLATE "C", last4 text COLLATE "C", expiry text COLLATE "C",
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
CREATE INDEX payment_details_customer ON payment_details (customer_id);
CREATE INDEX payment_details_last4 ON payment_details (last4);

CREATE TABLE emails (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    type text COLLATE "C" NOT NULL, status text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
CREATE INDEX emails_customer ON emails (customer_id, created_at);

CREATE TABLE notes (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    author text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint,
    deleted_at bigint,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL,
    local bigint NOT NULL DEFAULT 0
);
CREATE INDEX notes_customer ON notes (customer_id, created_at);

CREATE TABLE history (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    date bigint NOT NULL,
    editor text COLLATE "C",
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
CREATE INDEX history_customer ON history (customer_id, date);

CREATE TABLE offers (
    id text COLLATE "C" PRIMARY KEY,
    type text COLLATE "C" NOT NULL,
    title text COLLATE "C" NOT NULL,
    active bigint NOT NULL,
    price double precision, currency text COLLATE "C",
    version bigint,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL,
    billing_period text COLLATE "C"
);
CREATE TABLE localizations (
    id text COLLATE "C" PRIMARY KEY,
    offer_id text COLLATE "C" NOT NULL,
    country_code text COLLATE "C" NOT NULL,
    title text COLLATE "C", price double precision, currency text COLLATE "C",
    active bigint NOT NULL
);
CREATE INDEX localizations_offer ON localizations (offer_id);

CREATE TABLE season_groups (
    id text COLLATE "C" PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
CREATE TABLE campaigns (
    id bigint PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    status text COLLATE "C",
    raw bytea NOT NULL,
    synced_at bigint NOT NULL
);
-- SQLite's key is COLLATE NOCASE: here the key is the code as sent and a unique index on its
-- ASCII lower case keeps two spellings of one code out (an upsert names it as its conflict
-- target: ON CONFLICT (lower(code))).
CREATE TABLE campaign_codes (
    code text COLLATE "C" PRIMARY KEY,
    campaign_id bigint NOT NULL
);
CREATE UNIQUE INDEX campaign_codes_nocase ON campaign_codes (lower(code));

CREATE TABLE sync_checkpoints (
    entity text COLLATE "C" PRIMARY KEY,
    since bigint NOT NULL DEFAULT 0,
    full_since bigint,
    updated_at bigint NOT NULL
);
CREATE TABLE sync_runs (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    mode text COLLATE "C" NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint,
    ok bigint,
    counts text COLLATE "C",
    message text COLLATE "C"
);
CREATE TABLE quarantine (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entity text COLLATE "C" NOT NULL,
    record_key text COLLATE "C",
    source text COLLATE "C" NOT NULL,
    reason text COLLATE "C" NOT NULL,
    payload text COLLATE "C" NOT NULL,
    received_at bigint NOT NULL,
    resolved_at bigint
);
CREATE INDEX quarantine_open ON quarantine (resolved_at, entity, record_key);

CREATE TABLE outbox (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    idempotency_key text COLLATE "C" NOT NULL UNIQUE,
    action text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    customer_id bigint,
    payload text COLLATE "C" NOT NULL,
    base text COLLATE "C",
    agent text COLLATE "C",
    status text COLLATE "C" NOT NULL DEFAULT 'pending',
    attempts bigint NOT NULL DEFAULT 0,
    last_error text COLLATE "C",
    response text COLLATE "C",
    created_at bigint NOT NULL,
    sent_at bigint
);
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_customer ON outbox (customer_id);

CREATE TABLE audit (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    agent text COLLATE "C",
    role text COLLATE "C",
    action text COLLATE "C" NOT NULL,
    target text COLLATE "C",
    customer_id bigint,
    before text COLLATE "C",
    after text COLLATE "C",
    outcome text COLLATE "C" NOT NULL,
    detail text COLLATE "C",
    db_user text COLLATE "C" NOT NULL DEFAULT current_user,
    host text COLLATE "C",
    pid bigint
);
CREATE INDEX audit_customer ON audit (customer_id, at);

CREATE TABLE webhook_events (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    received_at bigint NOT NULL,
    topic text COLLATE "C",
    data text COLLATE "C",
    signature_ok bigint,
    processed_at bigint,
    error text COLLATE "C",
    source text COLLATE "C",
    body_sha256 text COLLATE "C",
    delivery_id text COLLATE "C",
    result text COLLATE "C"
);

CREATE TABLE segment_customer_facts (
    id bigint PRIMARY KEY, country text COLLATE "C", n_act bigint NOT NULL,
    stop_to_max bigint, apass_exp_max bigint, n_paused bigint NOT NULL,
    n_subs bigint NOT NULL, n_passes bigint NOT NULL, s_status text COLLATE "C",
    s_expires_at bigint, s_in_trial bigint, last_login_at bigint, registered_at bigint,
    currency text COLLATE "C", mrr_act bigint NOT NULL, trial_n bigint NOT NULL,
    trial_to_min bigint, trial_to_max bigint, mrr_trial bigint NOT NULL,
    s_channel text COLLATE "C", s_period text COLLATE "C", s_price bigint, s_mrr bigint,
    s_currency text COLLATE "C", s_started_at bigint, s_renewals bigint, s_revenue bigint,
    s_offer_key text COLLATE "C", n_term bigint NOT NULL, n_stopped bigint NOT NULL,
    stop_to_min bigint, ppass_exp_max bigint, revenue bigint NOT NULL, n_txn bigint NOT NULL,
    latest_sub bigint, top_rev_sub bigint, lp_id bigint, lp_offer text COLLATE "C",
    lp_end bigint
);
CREATE TABLE segment_customer_text (
    id bigint PRIMARY KEY, email_cf text COLLATE "C", first_cf text COLLATE "C",
    last_cf text COLLATE "C", locale_cf text COLLATE "C", ext_id_cf text COLLATE "C",
    reject_cf text COLLATE "C", lpm_cf text COLLATE "C", s_offer_cf text COLLATE "C",
    s_coupon_cf text COLLATE "C", s_pm_cf text COLLATE "C", external_data text COLLATE "C",
    s_props text COLLATE "C"
);
CREATE TABLE segment_facts_dirty (customer_id bigint PRIMARY KEY);

CREATE TABLE exports (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    path text COLLATE "C" NOT NULL UNIQUE,
    kind text COLLATE "C" NOT NULL,
    segment text COLLATE "C",
    created_at bigint NOT NULL
);

CREATE TABLE row_counts (name text COLLATE "C" PRIMARY KEY, n bigint NOT NULL);

CREATE TABLE segments (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    name_key text COLLATE "C" NOT NULL UNIQUE,
    kind text COLLATE "C" NOT NULL,
    format bigint NOT NULL,
    definition text COLLATE "C" NOT NULL,
    tags text COLLATE "C" NOT NULL DEFAULT '[]',
    version bigint NOT NULL,
    members bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    updated_by text COLLATE "C",
    last_count bigint,
    last_run_at bigint,
    last_run_ms double precision,
    owner text COLLATE "C" NOT NULL DEFAULT current_user
);
CREATE TABLE segment_versions (
    segment_id bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    format bigint NOT NULL,
    definition text COLLATE "C" NOT NULL,
    saved_at bigint NOT NULL,
    saved_by text COLLATE "C",
    members bigint NOT NULL,
    gained bigint NOT NULL,
    lost bigint NOT NULL,
    PRIMARY KEY (segment_id, version)
);
CREATE TABLE segment_members (
    segment_id bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id bigint NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX segment_members_customer ON segment_members (customer_id);
CREATE TABLE segment_member_changes (
    segment_id bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    customer_id bigint NOT NULL,
    change bigint NOT NULL,
    PRIMARY KEY (segment_id, version, customer_id)
);
CREATE TABLE segment_schedules (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    segment_id bigint NOT NULL REFERENCES segments (id),
    format text COLLATE "C" NOT NULL,
    columns text COLLATE "C" NOT NULL,
    directory text COLLATE "C" NOT NULL,
    at_times text COLLATE "C",
    every_seconds bigint,
    tz text COLLATE "C" NOT NULL DEFAULT 'UTC',
    created_at bigint NOT NULL,
    created_by text COLLATE "C",
    last_slot bigint,
    last_run_at bigint,
    last_file text COLLATE "C",
    last_rows bigint,
    last_error text COLLATE "C"
);
CREATE INDEX segment_schedules_segment ON segment_schedules (segment_id);

CREATE TABLE offer_drafts (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    offer_id text COLLATE "C",
    target text COLLATE "C" NOT NULL,
    op text COLLATE "C" NOT NULL,
    changes text COLLATE "C" NOT NULL,
    base_version bigint,
    base text COLLATE "C",
    status text COLLATE "C" NOT NULL DEFAULT 'draft',
    server text COLLATE "C",
    server_version bigint,
    last_error text COLLATE "C",
    agent text COLLATE "C",
    idempotency_key text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX offer_drafts_offer ON offer_drafts (offer_id, status);

CREATE TABLE segment_sub_facts (
    customer_id bigint NOT NULL, id bigint NOT NULL, status text COLLATE "C",
    in_trial bigint, started_at bigint, expires_at bigint, period text COLLATE "C",
    price bigint, currency text COLLATE "C", channel text COLLATE "C", renewals bigint,
    mrr bigint, revenue bigint NOT NULL, offer_key text COLLATE "C",
    offer_cf text COLLATE "C", coupon_cf text COLLATE "C", pm_cf text COLLATE "C",
    props text COLLATE "C",
    PRIMARY KEY (customer_id, id)
);
CREATE UNIQUE INDEX segment_sub_facts_id ON segment_sub_facts (id);

CREATE TABLE import_files (
    sha256 text COLLATE "C" NOT NULL,
    format text COLLATE "C" NOT NULL,
    tz text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    status text COLLATE "C" NOT NULL,
    byte_offset bigint NOT NULL,
    line bigint NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    quarantined bigint NOT NULL DEFAULT 0,
    counts text COLLATE "C" NOT NULL DEFAULT '{}',
    started_at bigint NOT NULL,
    finished_at bigint,
    PRIMARY KEY (sha256, format, tz)
);
CREATE TABLE import_pending_emails (
    email text COLLATE "C" PRIMARY KEY,
    source text COLLATE "C" NOT NULL,
    added_at bigint NOT NULL,
    customer_id bigint,
    resolved_at bigint,
    error text COLLATE "C"
);
CREATE INDEX import_pending_emails_open ON import_pending_emails (resolved_at);

-- Never-fetched customers first, then the oldest fetched (NULLs first, as SQLite).
CREATE TABLE customer_fetch_state (
    customer_id bigint PRIMARY KEY,
    status text COLLATE "C" NOT NULL,
    fetched_at bigint,
    attempted_at bigint NOT NULL,
    message text COLLATE "C",
    full_pending bigint NOT NULL DEFAULT 0
);
CREATE INDEX customer_fetch_state_order
    ON customer_fetch_state (fetched_at ASC NULLS FIRST, customer_id);

CREATE TABLE observed_changes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    entity text COLLATE "C" NOT NULL,
    record_key text COLLATE "C" NOT NULL,
    field text COLLATE "C" NOT NULL,
    before text COLLATE "C",
    after text COLLATE "C",
    seen_at bigint NOT NULL
);
CREATE INDEX observed_changes_customer ON observed_changes (customer_id, seen_at, id);

CREATE TABLE webhook_replay (
    key text COLLATE "C" PRIMARY KEY,
    event_id bigint,
    received_at bigint NOT NULL
);
CREATE INDEX webhook_replay_age ON webhook_replay (received_at);
CREATE TABLE webhook_refusals (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    reason text COLLATE "C" NOT NULL,
    size bigint,
    source text COLLATE "C",
    body_sha256 text COLLATE "C",
    detail text COLLATE "C"
);
CREATE TABLE webhook_counters (
    name text COLLATE "C" PRIMARY KEY,
    count bigint NOT NULL DEFAULT 0,
    last_at bigint
);

CREATE TABLE exchange_rates (
    currency text COLLATE "C" PRIMARY KEY,
    per_eur double precision NOT NULL,
    rate_date text COLLATE "C" NOT NULL,
    source text COLLATE "C",
    imported_at bigint
);

CREATE TABLE playbook_versions (
    version bigint PRIMARY KEY,
    body text COLLATE "C" NOT NULL,
    saved_at bigint NOT NULL,
    saved_by text COLLATE "C"
);

CREATE TABLE raw_dictionaries (
    id bigint PRIMARY KEY,
    entity text COLLATE "C" NOT NULL,
    data bytea NOT NULL,
    sha256 text COLLATE "C" NOT NULL
);

CREATE TABLE bulk_runs (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    token text COLLATE "C" NOT NULL UNIQUE,
    action text COLLATE "C" NOT NULL,
    params text COLLATE "C" NOT NULL,
    segment_name text COLLATE "C",
    segment_definition text COLLATE "C" NOT NULL,
    agent text COLLATE "C",
    role text COLLATE "C",
    status text COLLATE "C" NOT NULL,
    control text COLLATE "C",
    members bigint NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    finished_at bigint,
    note text COLLATE "C",
    owner text COLLATE "C" NOT NULL DEFAULT current_user
);
CREATE TABLE bulk_members (
    run_id bigint NOT NULL REFERENCES bulk_runs (id),
    seq bigint NOT NULL,
    customer_id bigint NOT NULL,
    subscription_id bigint,
    status text COLLATE "C" NOT NULL,
    rule text COLLATE "C",
    reason text COLLATE "C",
    outbox_id bigint,
    settled_at bigint,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX bulk_members_status ON bulk_members (run_id, status, seq);
CREATE INDEX bulk_members_customer ON bulk_members (customer_id);
CREATE INDEX bulk_members_outbox ON bulk_members (outbox_id);

INSERT INTO row_counts (name, n) VALUES ('customers', 0);
"""

# SQLite's triggers, with the same names and effects, as statement triggers over transition
# tables (one statement per sync page, not one per row): every customer whose records change
# is marked for the segment facts, a changed or removed customer's casefolded text leaves with
# it, and row_counts keeps the customer count. An upsert fires the INSERT trigger for the rows
# it inserted and the UPDATE trigger for the rows it updated, as SQLite's do.
TRIGGERS = """
CREATE FUNCTION srm_customers_dirty_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT DISTINCT id FROM new_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_customers_dirty_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT id FROM new_rows UNION SELECT id FROM old_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_customers_dirty_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT DISTINCT id FROM old_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_customers_text_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM segment_customer_text WHERE id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
CREATE FUNCTION srm_customers_count_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    SELECT count(*) INTO k FROM new_rows;
    IF k > 0 THEN
        UPDATE row_counts SET n = n + k WHERE name = 'customers';
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_customers_count_down() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    SELECT count(*) INTO k FROM old_rows;
    IF k > 0 THEN
        UPDATE row_counts SET n = n - k WHERE name = 'customers';
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_children_dirty_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT DISTINCT customer_id FROM new_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_children_dirty_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_children_dirty_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_facts_dirty (customer_id)
        SELECT DISTINCT customer_id FROM old_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER segment_dirty_customers_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_dirty_new();
CREATE TRIGGER segment_dirty_customers_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_dirty_both();
CREATE TRIGGER segment_dirty_customers_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_dirty_old();
CREATE TRIGGER segment_text_customers_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_text_drop();
CREATE TRIGGER segment_text_customers_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_text_drop();
CREATE TRIGGER row_counts_customers_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_count_up();
CREATE TRIGGER row_counts_customers_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_customers_count_down();
"""

_CHILD_TRIGGERS = """
CREATE TRIGGER segment_dirty_{t}_insert AFTER INSERT ON {t}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_children_dirty_new();
CREATE TRIGGER segment_dirty_{t}_update AFTER UPDATE ON {t}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_children_dirty_both();
CREATE TRIGGER segment_dirty_{t}_delete AFTER DELETE ON {t}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION srm_children_dirty_old();
"""
TRIGGERS += "".join(
    _CHILD_TRIGGERS.format(t=table) for table in ("subscriptions", "passes", "transactions")
)

# Indexes only the PostgreSQL store has (the parity test allows exactly these).
PG_ONLY_INDEXES: frozenset[str] = frozenset(
    {"customer_search_doc", "customer_search_state", "campaign_codes_nocase", "change_log_at"}
)

# -- [writer] who writes the store now (storage/writer.py): the advisory lock is the lock, this
# row names its holder for the second writer's message (SQLite V10's twin).
WRITER_V10 = """
CREATE TABLE store_writers (
    what text COLLATE "C" PRIMARY KEY,
    pid bigint NOT NULL,
    host text COLLATE "C" NOT NULL,
    db_user text COLLATE "C",
    started_at bigint NOT NULL,
    backend_pid bigint
);
"""

# [changes] The statement triggers that log srm's own tables' changes (V11 below).
_CHANGE_TRIGGERS: dict[str, str] = {
    "insert": """
CREATE TRIGGER change_log_{t}_insert AFTER INSERT ON {t}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {f}();""",
    "update": """
CREATE TRIGGER change_log_{t}_update AFTER UPDATE ON {t}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {f}();""",
    "delete": """
CREATE TRIGGER change_log_{t}_delete AFTER DELETE ON {t}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {f}();""",
}

# Version 11: each part's block (SQLite V11's twin where SQLite has it too).
V11 = """
-- [claims] outbox claims with leases (actions/outbox.py claim; SQLite V11's twin): a pusher
-- claims pending rows with FOR UPDATE SKIP LOCKED, writing its token, name and lease end;
-- its settle is fenced by the token. The audit's host and pid columns are in BASE already.
ALTER TABLE outbox ADD COLUMN claim_token text COLLATE "C";
ALTER TABLE outbox ADD COLUMN claimed_by text COLLATE "C";
ALTER TABLE outbox ADD COLUMN lease_until bigint;
CREATE INDEX outbox_pending_customer ON outbox (customer_id, id) WHERE status = 'pending';
-- [requests] work an agent's push asks of the writer (storage/requests.py; SQLite V11's twin
-- plus requested_by, the asking login, which the server fills and a client cannot forge).
CREATE TABLE store_requests (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('refresh', 'forget')),
    customer_id bigint NOT NULL,
    outbox_id bigint,
    requested_at bigint NOT NULL,
    personal text COLLATE "C",
    done_at bigint,
    error text COLLATE "C",
    requested_by text COLLATE "C" DEFAULT current_user
);
CREATE INDEX store_requests_waiting ON store_requests (customer_id, kind)
    WHERE done_at IS NULL;

-- [changes] what changed, for open consoles (storage/changes.py; PostgreSQL only): one row per
-- statement on srm's own tables (statement triggers) and per page the writer commits, naming
-- the customers (NULL: more than 1,000, i.e. any), then NOTIFY srm_changes. The functions run
-- as their owner (SECURITY DEFINER, search_path pinned) so an agent's insert can log its row
-- without any right on change_log; only the writer may call srm_log_change itself.
CREATE TABLE change_log (
    seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL DEFAULT CAST(extract(epoch FROM clock_timestamp()) AS bigint),
    kind text COLLATE "C" NOT NULL,
    customer_ids bigint[],
    source text COLLATE "C" NOT NULL DEFAULT session_user
);
CREATE INDEX change_log_at ON change_log (at);
CREATE FUNCTION srm_log_change(what text, ids bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    logged bigint;
BEGIN
    INSERT INTO change_log (kind, customer_ids)
        VALUES (what, CASE WHEN cardinality(ids) > 1000 THEN NULL ELSE ids END)
        RETURNING seq INTO logged;
    PERFORM pg_notify('srm_changes', logged::text);
END $$;
CREATE FUNCTION srm_changes_of_customers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    hits bigint;
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*), array_agg(DISTINCT customer_id) FILTER (WHERE customer_id IS NOT NULL)
            INTO hits, ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*), array_agg(DISTINCT customer_id) FILTER (WHERE customer_id IS NOT NULL)
            INTO hits, ids FROM old_rows;
    ELSIF TG_TABLE_NAME = 'outbox' THEN
        -- A pusher's claim or lease extension changes nothing an agent sees: not logged.
        SELECT count(*), array_agg(DISTINCT nw.customer_id)
            FILTER (WHERE nw.customer_id IS NOT NULL)
            INTO hits, ids FROM new_rows nw JOIN old_rows od ON od.id = nw.id
            WHERE (nw.status, nw.attempts, nw.last_error, nw.response, nw.sent_at,
                   nw.idempotency_key, nw.base, nw.payload)
                IS DISTINCT FROM (od.status, od.attempts, od.last_error, od.response,
                   od.sent_at, od.idempotency_key, od.base, od.payload);
    ELSE
        SELECT count(*), array_agg(DISTINCT customer_id) FILTER (WHERE customer_id IS NOT NULL)
            INTO hits, ids
            FROM (SELECT customer_id FROM new_rows UNION ALL SELECT customer_id FROM old_rows) c;
    END IF;
    IF hits > 0 THEN
        PERFORM srm_log_change(TG_TABLE_NAME, coalesce(ids, '{}'));
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION srm_changes_of_table() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    hits bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO hits FROM old_rows;
    ELSE
        SELECT count(*) INTO hits FROM new_rows;
    END IF;
    IF hits > 0 THEN
        PERFORM srm_log_change(TG_TABLE_NAME, '{}');
    END IF;
    RETURN NULL;
END $$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION srm_log_change(text, bigint[]) SET search_path = %I, pg_temp',
        current_schema());
    EXECUTE format('ALTER FUNCTION srm_changes_of_customers() SET search_path = %I, pg_temp',
        current_schema());
    EXECUTE format('ALTER FUNCTION srm_changes_of_table() SET search_path = %I, pg_temp',
        current_schema());
END $$;
REVOKE ALL ON FUNCTION srm_log_change(text, bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION srm_changes_of_customers() FROM PUBLIC;
REVOKE ALL ON FUNCTION srm_changes_of_table() FROM PUBLIC;
"""
# [changes] The triggers of the tables CHANGE_LOGGED names.
V11 += "".join(
    _CHANGE_TRIGGERS[op].format(t=table, f=function)
    for table, function, ops in CHANGE_LOGGED
    for op in ops
)

# Version -> the DDL that takes a store from the version before it (the first: from empty).
PG_MIGRATIONS: dict[int, str] = {9: BASE + TRIGGERS, 10: WRITER_V10, 11: V11}
# The SQLite SCHEMA_VERSION this DDL matches (the parity test fails when SQLite moves alone).
PG_SCHEMA_VERSION: int = max(PG_MIGRATIONS)


# -- applying ------------------------------------------------------------------------------


def _where(conn: psycopg.Connection) -> str:
    """The database named in messages: its name and host (never a password)."""
    info = conn.info
    return f"the database {info.dbname} on {info.host or 'localhost'}"


def stored_version(conn: psycopg.Connection) -> int:
    """The srm schema version the database holds: 0 for an empty one. CacheError (one line)
    for one holding tables named like srm's but no version, or an unreadable version."""
    from srm_tui.storage.cache import CacheError

    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
        found = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p', 'v') "
            "AND relname = ANY(%s) AND pg_table_is_visible(oid)",
            (sorted(ALL_TABLES),),
        ).fetchone()[0]
        if found:
            raise CacheError(
                f"{_where(conn)} holds tables named like srm's but no srm schema version: "
                "not an srm store (use an empty database)"
            )
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not str(row[0]).isdigit():
        raise CacheError(
            f"{_where(conn)} has a meta table without an srm schema version: "
            "not an srm store (use an empty database)"
        )
    return int(row[0])


def apply(conn: psycopg.Connection) -> int:
    """Create the srm schema on an empty database or bring an older one up to
    PG_SCHEMA_VERSION, in one transaction holding the schema's advisory lock (so concurrent
    runs apply each step once); running it again changes nothing. Also installs the payload
    dictionaries the store lacks. Returns the version now held. A database at a newer version
    is refused with CacheError (one line), unchanged. On a connection already inside a
    transaction the work joins it (a savepoint) and commits with it."""
    from srm_tui.storage.cache import CacheError

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        version = stored_version(conn)
        if version > PG_SCHEMA_VERSION:
            raise CacheError(
                f"{_where(conn)} holds a store written by a newer srm (schema {version}, "
                f"this srm knows {PG_SCHEMA_VERSION}); upgrade srm"
            )
        for step in sorted(PG_MIGRATIONS):
            if step <= version:
                continue
            conn.execute(PG_MIGRATIONS[step])
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(step),),
            )
            version = step
        _install_dictionaries(conn)
    return version


def _install_dictionaries(conn: psycopg.Connection) -> None:
    """Copy the payload dictionaries srm ships that the store lacks into raw_dictionaries,
    so the store says how to read its compressed records (as a SQLite cache does)."""
    from srm_tui.storage import payload

    have = {r[0] for r in conn.execute("SELECT id FROM raw_dictionaries")}
    for ident, entity in sorted(payload.DICTIONARIES.items()):
        if ident in have:
            continue
        data = payload.dictionary(ident)
        conn.execute(
            "INSERT INTO raw_dictionaries (id, entity, data, sha256) VALUES (%s, %s, %s, %s)",
            (ident, entity, data, hashlib.sha256(data).hexdigest()),
        )
