"""The cache's schema as forward migrations.

``MIGRATIONS[i]`` takes a cache from ``user_version`` i to i + 1. A migration is only ever
appended, never edited, so a cache written by any older srm opens in a newer one.
"""

from __future__ import annotations

V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT, email_lc TEXT, first_name TEXT, last_name TEXT,
    country TEXT, currency TEXT, locale TEXT,
    registered_at INTEGER, last_login_at INTEGER,
    external_id TEXT, external_data TEXT,
    address TEXT, city TEXT, state TEXT, post_code TEXT, birth_date TEXT, company TEXT,
    anonymized INTEGER NOT NULL DEFAULT 0,
    transactions INTEGER NOT NULL DEFAULT 0,
    last_payment_method TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX customers_email ON customers (email_lc);
CREATE INDEX customers_external_id ON customers (external_id);
CREATE INDEX customers_registered ON customers (registered_at, id);
CREATE INDEX customers_last_login ON customers (last_login_at, id);
CREATE INDEX customers_transactions ON customers (transactions, id);
CREATE INDEX customers_payment_method ON customers (last_payment_method, id);
CREATE INDEX customers_country ON customers (country);
CREATE INDEX customers_currency ON customers (currency);
CREATE INDEX customers_post_code ON customers (post_code);
CREATE INDEX customers_birth_date ON customers (birth_date);

-- Search: a contentless FTS5 index of folded text (written by storage.records, which folds
-- accents and letters such as Ł or ø the same way as queries, so "lukasz" finds "Łukasz").
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    email, name, company, address, city, state, post_code,
    content='', tokenize="unicode61 remove_diacritics 2", prefix='2 3'
);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    date_from INTEGER, date_to INTEGER,
    in_trial INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    period TEXT,
    price REAL, currency TEXT,
    gateway TEXT, payment_method TEXT, coupon_code TEXT,
    renewals INTEGER NOT NULL DEFAULT 0,
    external_properties TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE passes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    offer_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX passes_customer ON passes (customer_id);

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    date INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    subscription_id INTEGER, pass_id INTEGER,
    amount REAL NOT NULL, currency TEXT NOT NULL,
    status TEXT NOT NULL,
    gateway TEXT, payment_method TEXT,
    external_payment_id TEXT, rejected_reason TEXT,
    refunded_amount REAL NOT NULL DEFAULT 0,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX transactions_customer ON transactions (customer_id, date);
CREATE INDEX transactions_external ON transactions (external_payment_id);

CREATE TABLE payment_details (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    gateway TEXT, method TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    variant TEXT, last4 TEXT, expiry TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX payment_details_customer ON payment_details (customer_id);
CREATE INDEX payment_details_last4 ON payment_details (last4);

CREATE TABLE emails (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    type TEXT NOT NULL, status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX emails_customer ON emails (customer_id, created_at);

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER,
    deleted_at INTEGER,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX notes_customer ON notes (customer_id, created_at);

CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    date INTEGER NOT NULL,
    editor TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX history_customer ON history (customer_id, date);

CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    active INTEGER NOT NULL,
    price REAL, currency TEXT,
    version INTEGER,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE TABLE localizations (
    id TEXT PRIMARY KEY,
    offer_id TEXT NOT NULL,
    country_code TEXT NOT NULL,
    title TEXT, price REAL, currency TEXT,
    active INTEGER NOT NULL
);
CREATE INDEX localizations_offer ON localizations (offer_id);

CREATE TABLE season_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);
CREATE TABLE campaign_codes (
    code TEXT PRIMARY KEY COLLATE NOCASE,
    campaign_id INTEGER NOT NULL
);

-- Sync: one checkpoint per entity, committed in the same transaction as the page it ends.
CREATE TABLE sync_checkpoints (
    entity TEXT PRIMARY KEY,
    since INTEGER NOT NULL DEFAULT 0,
    full_since INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    ok INTEGER,
    counts TEXT,
    message TEXT
);
-- Records (or whole pages) the API sent that could not be read: kept with the reason.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    record_key TEXT,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX quarantine_open ON quarantine (resolved_at, entity, record_key);

-- Actions waiting for the API; each is sent exactly once under its idempotency key.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    customer_id INTEGER,
    payload TEXT NOT NULL,
    base TEXT,
    agent TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    response TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_customer ON outbox (customer_id);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    agent TEXT,
    role TEXT,
    action TEXT NOT NULL,
    target TEXT,
    customer_id INTEGER,
    before TEXT,
    after TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_customer ON audit (customer_id, at);

CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    topic TEXT,
    data TEXT,
    signature_ok INTEGER,
    processed_at INTEGER,
    error TEXT
);
"""

# The audit log also says why: the rule that refused, the API's answer, the outbox entry.
V2 = """
ALTER TABLE audit ADD COLUMN detail TEXT;
"""

MIGRATIONS: list[str] = [V1, V2]
SCHEMA_VERSION = len(MIGRATIONS)
