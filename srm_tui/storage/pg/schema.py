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
    }
)
ALL_TABLES: frozenset[str] = VENDOR_TABLES | SRM_TABLES | DERIVED_TABLES
TABLE_KINDS: dict[str, str] = {
    **{name: "vendor" for name in VENDOR_TABLES},
    **{name: "srm" for name in SRM_TABLES},
    **{name: "derived" for name in DERIVED_TABLES},
}

# Columns only the PostgreSQL store has: who owns a segment or bulk run (row-level security
# binds an agent's writes to its own), and who wrote an audit row from where (db_user is the
# connection's role, which a client cannot forge; host and pid are the client's, written by srm).
PG_ONLY_COLUMNS: dict[str, tuple[str, ...]] = {
    "segments": ("owner",),
    "bulk_runs": ("owner",),
    "audit": ("db_user", "host", "pid"),
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
)
