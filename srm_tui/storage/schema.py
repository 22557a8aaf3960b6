"""The cache's schema as forward migrations.

``MIGRATIONS[i]`` takes a cache from ``user_version`` i to i + 1. A migration is only ever
appended, never edited, so a cache written by any older srm opens in a newer one.

Over 400 lines: the migrations are appended, never edited (above), so the file grows with
every schema version; each block is the SQL of one version.
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

# Segments: per-customer and per-subscription facts (srm_tui.storage.facts fills them), and
# triggers that note every customer whose records change so the facts are settled before a
# segment runs, whatever wrote the change.
V3 = """
CREATE TABLE segment_customer_facts (
    id INTEGER PRIMARY KEY, country TEXT, n_act INTEGER NOT NULL, stop_to_max INTEGER,
    apass_exp_max INTEGER, n_paused INTEGER NOT NULL, n_subs INTEGER NOT NULL,
    n_passes INTEGER NOT NULL, s_status TEXT, s_expires_at INTEGER, s_in_trial INTEGER,
    last_login_at INTEGER, registered_at INTEGER, currency TEXT, mrr_act INTEGER NOT NULL,
    trial_n INTEGER NOT NULL, trial_to_min INTEGER, trial_to_max INTEGER,
    mrr_trial INTEGER NOT NULL, s_channel TEXT, s_period TEXT, s_price INTEGER,
    s_mrr INTEGER, s_currency TEXT, s_started_at INTEGER, s_renewals INTEGER,
    s_revenue INTEGER, s_offer_key TEXT, n_term INTEGER NOT NULL,
    n_stopped INTEGER NOT NULL, stop_to_min INTEGER, ppass_exp_max INTEGER,
    revenue INTEGER NOT NULL, n_txn INTEGER NOT NULL, latest_sub INTEGER,
    top_rev_sub INTEGER, lp_id INTEGER, lp_offer TEXT, lp_end INTEGER
);
CREATE TABLE segment_customer_text (
    id INTEGER PRIMARY KEY, email_cf TEXT, first_cf TEXT, last_cf TEXT, locale_cf TEXT,
    ext_id_cf TEXT, reject_cf TEXT, lpm_cf TEXT, s_offer_cf TEXT, s_coupon_cf TEXT,
    s_pm_cf TEXT, external_data TEXT, s_props TEXT
);
CREATE TABLE segment_sub_facts (
    customer_id INTEGER NOT NULL, id INTEGER NOT NULL, status TEXT, in_trial INTEGER,
    started_at INTEGER, expires_at INTEGER, period TEXT, price INTEGER, currency TEXT,
    channel TEXT, renewals INTEGER, mrr INTEGER NOT NULL, revenue INTEGER NOT NULL,
    offer_key TEXT, offer_cf TEXT, coupon_cf TEXT, pm_cf TEXT, props TEXT,
    PRIMARY KEY (customer_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX segment_sub_facts_id ON segment_sub_facts (id);
CREATE TABLE segment_facts_dirty (customer_id INTEGER PRIMARY KEY);

CREATE TRIGGER segment_dirty_customers_insert AFTER INSERT ON customers BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.id);
END;
CREATE TRIGGER segment_dirty_customers_update AFTER UPDATE ON customers BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.id);
END;
CREATE TRIGGER segment_dirty_customers_delete AFTER DELETE ON customers BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.id);
END;
-- Casefolded names and emails leave with the row they came from (anonymization, pruning)
-- in the same transaction; the next refresh writes them again from what the row holds.
CREATE TRIGGER segment_text_customers_update AFTER UPDATE ON customers BEGIN
    DELETE FROM segment_customer_text WHERE id = OLD.id;
END;
CREATE TRIGGER segment_text_customers_delete AFTER DELETE ON customers BEGIN
    DELETE FROM segment_customer_text WHERE id = OLD.id;
END;

CREATE TRIGGER segment_dirty_subscriptions_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_subscriptions_update AFTER UPDATE ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_subscriptions_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;

CREATE TRIGGER segment_dirty_passes_insert AFTER INSERT ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_passes_update AFTER UPDATE ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_passes_delete AFTER DELETE ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;

CREATE TRIGGER segment_dirty_transactions_insert AFTER INSERT ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_transactions_update AFTER UPDATE ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_transactions_delete AFTER DELETE ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
"""

# Files srm wrote with personal data in them (segment exports), so that anonymizing a
# customer can tell the agent which of them still hold the customer's values.
V4 = """
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    segment TEXT,
    created_at INTEGER NOT NULL
);
"""

# Row counts kept by triggers, so the console shows "1,000,000 cached" and can jump to the
# end without counting a million rows at every start (count(*) costs ~40 ms there). Writers
# insert with INSERT ... ON CONFLICT (an update path does not fire the insert trigger).
V5 = """
CREATE TABLE row_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO row_counts (name, n) SELECT 'customers', count(*) FROM customers;
CREATE TRIGGER row_counts_customers_insert AFTER INSERT ON customers BEGIN
    UPDATE row_counts SET n = n + 1 WHERE name = 'customers';
END;
CREATE TRIGGER row_counts_customers_delete AFTER DELETE ON customers BEGIN
    UPDATE row_counts SET n = n - 1 WHERE name = 'customers';
END;
"""

# Saved segments (srm_tui.segments.store): each save a version, with the members it gained
# and lost; static segments' members; scheduled exports of a segment.
V6 = """
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    format INTEGER NOT NULL,
    definition TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL,
    members INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT,
    last_count INTEGER,
    last_run_at INTEGER,
    last_run_ms REAL
);
CREATE TABLE segment_versions (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    format INTEGER NOT NULL,
    definition TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    saved_by TEXT,
    members INTEGER NOT NULL,
    gained INTEGER NOT NULL,
    lost INTEGER NOT NULL,
    PRIMARY KEY (segment_id, version)
);
CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_customer ON segment_members (customer_id);
CREATE TABLE segment_member_changes (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    change INTEGER NOT NULL,
    PRIMARY KEY (segment_id, version, customer_id)
) WITHOUT ROWID;
CREATE TABLE segment_schedules (
    id INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL REFERENCES segments (id),
    format TEXT NOT NULL,
    columns TEXT NOT NULL,
    directory TEXT NOT NULL,
    at_times TEXT,
    every_seconds INTEGER,
    tz TEXT NOT NULL DEFAULT 'UTC',
    created_at INTEGER NOT NULL,
    created_by TEXT,
    last_slot INTEGER,
    last_run_at INTEGER,
    last_file TEXT,
    last_rows INTEGER,
    last_error TEXT
);
CREATE INDEX segment_schedules_segment ON segment_schedules (segment_id);
"""

# Offer edits kept as drafts until they are pushed: the version each was based on (sent as
# If-Match), the values it started from, and after a 412 the server's values beside it.
V7 = """
CREATE TABLE offer_drafts (
    id INTEGER PRIMARY KEY,
    offer_id TEXT,
    target TEXT NOT NULL,
    op TEXT NOT NULL,
    changes TEXT NOT NULL,
    base_version INTEGER,
    base TEXT,
    status TEXT NOT NULL DEFAULT 'draft',
    server TEXT,
    server_version INTEGER,
    last_error TEXT,
    agent TEXT,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX offer_drafts_offer ON offer_drafts (offer_id, status);
"""

# The vendor round: what srm keeps itself when it talks to the vendor's published API
# (imports, the API profile, local notes, webhook receipts, rates, ...). One migration for the
# round; each part adds its tables in its own block below.
V8 = """
-- [models] derived fields of vendor records
-- The vendor's records lack what the sandbox adds (CONTRACT section 5): a subscription's
-- created_at holds its start (createdAt, else dateFrom) and may be unknown; a transaction
-- from a webhook may lack its date, offer, amount or currency. The three tables are rebuilt
-- with those columns nullable (SQLite cannot drop NOT NULL in place), with their indexes
-- and segment triggers. period_derived / created_derived mark values srm derived (the
-- record had none), recomputed when offers or transactions arrive; offers.billing_period is
-- the offer's billingCycle in the API's period words; transactions.offer_period the
-- MediaStore offerPeriod in those words.
CREATE TABLE subscriptions_v8 (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    date_from INTEGER, date_to INTEGER,
    in_trial INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER,
    period TEXT,
    price REAL, currency TEXT,
    gateway TEXT, payment_method TEXT, coupon_code TEXT,
    renewals INTEGER NOT NULL DEFAULT 0,
    external_properties TEXT,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    period_derived INTEGER NOT NULL DEFAULT 0
);
INSERT INTO subscriptions_v8 (id, customer_id, offer_id, status, date_from, date_to, in_trial,
    created_at, period, price, currency, gateway, payment_method, coupon_code, renewals,
    external_properties, raw, synced_at, period_derived)
SELECT id, customer_id, offer_id, status, date_from, date_to, in_trial, created_at, period,
    price, currency, gateway, payment_method, coupon_code, renewals, external_properties, raw,
    synced_at, period IS NULL FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v8 RENAME TO subscriptions;
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);
CREATE INDEX subscriptions_period_derived ON subscriptions (offer_id) WHERE period_derived = 1;

CREATE TABLE passes_v8 (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    offer_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER,
    expires_at INTEGER,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    created_derived INTEGER NOT NULL DEFAULT 0
);
INSERT INTO passes_v8 (id, customer_id, offer_id, offer_type, status, created_at, expires_at,
    raw, synced_at)
SELECT id, customer_id, offer_id, offer_type, status, created_at, expires_at, raw, synced_at
FROM passes;
DROP TABLE passes;
ALTER TABLE passes_v8 RENAME TO passes;
CREATE INDEX passes_customer ON passes (customer_id);

CREATE TABLE transactions_v8 (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    date INTEGER,
    offer_id TEXT,
    subscription_id INTEGER, pass_id INTEGER,
    amount REAL, currency TEXT,
    status TEXT NOT NULL,
    gateway TEXT, payment_method TEXT,
    external_payment_id TEXT, rejected_reason TEXT,
    refunded_amount REAL NOT NULL DEFAULT 0,
    raw TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    offer_period TEXT
) WITHOUT ROWID;
INSERT INTO transactions_v8 (id, customer_id, date, offer_id, subscription_id, pass_id, amount,
    currency, status, gateway, payment_method, external_payment_id, rejected_reason,
    refunded_amount, raw, synced_at)
SELECT id, customer_id, date, offer_id, subscription_id, pass_id, amount, currency, status,
    gateway, payment_method, external_payment_id, rejected_reason, refunded_amount, raw,
    synced_at FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_v8 RENAME TO transactions;
CREATE INDEX transactions_customer ON transactions (customer_id, date);
CREATE INDEX transactions_external ON transactions (external_payment_id);

ALTER TABLE offers ADD COLUMN billing_period TEXT;

-- A subscription whose period is unknown has no MRR (null, not 0): the segment facts' mrr
-- becomes nullable, its rows kept.
CREATE TABLE segment_sub_facts_v8 (
    customer_id INTEGER NOT NULL, id INTEGER NOT NULL, status TEXT, in_trial INTEGER,
    started_at INTEGER, expires_at INTEGER, period TEXT, price INTEGER, currency TEXT,
    channel TEXT, renewals INTEGER, mrr INTEGER, revenue INTEGER NOT NULL,
    offer_key TEXT, offer_cf TEXT, coupon_cf TEXT, pm_cf TEXT, props TEXT,
    PRIMARY KEY (customer_id, id)
) WITHOUT ROWID;
INSERT INTO segment_sub_facts_v8 SELECT * FROM segment_sub_facts;
DROP TABLE segment_sub_facts;
ALTER TABLE segment_sub_facts_v8 RENAME TO segment_sub_facts;
CREATE UNIQUE INDEX segment_sub_facts_id ON segment_sub_facts (id);

CREATE TRIGGER segment_dirty_subscriptions_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_subscriptions_update AFTER UPDATE ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_subscriptions_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;

CREATE TRIGGER segment_dirty_passes_insert AFTER INSERT ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_passes_update AFTER UPDATE ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_passes_delete AFTER DELETE ON passes BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;

CREATE TRIGGER segment_dirty_transactions_insert AFTER INSERT ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
END;
CREATE TRIGGER segment_dirty_transactions_update AFTER UPDATE ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT NEW.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = NEW.customer_id);
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;
CREATE TRIGGER segment_dirty_transactions_delete AFTER DELETE ON transactions BEGIN
    INSERT INTO segment_facts_dirty (customer_id) SELECT OLD.customer_id
        WHERE NOT EXISTS (SELECT 1 FROM segment_facts_dirty WHERE customer_id = OLD.customer_id);
END;

-- [import] ChurnIQ and id-list imports: files, checkpoints, kept columns
-- One row per file imported (identity: sha256 of its content, the format and the zone its
-- times were read in). byte_offset/line say where the next batch starts; they commit with
-- each batch's records, so a killed import resumes after its last committed batch. A file
-- whose status is 'done' is not read again. Unknown columns stay in each record's raw JSON
-- under "churniq".
CREATE TABLE import_files (
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    tz TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    byte_offset INTEGER NOT NULL,
    line INTEGER NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (sha256, format, tz)
) WITHOUT ROWID;
-- Emails from id lists, waiting for the sync to find their customer (GET /customers?email=).
-- email is casefolded; source is FILE:LINE of its first mention; customer_id and
-- resolved_at are set once the customer is known (at import when the cache already has it);
-- error says why a lookup failed.
CREATE TABLE import_pending_emails (
    email TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    customer_id INTEGER,
    resolved_at INTEGER,
    error TEXT
) WITHOUT ROWID;
CREATE INDEX import_pending_emails_open ON import_pending_emails (resolved_at);

-- [profile] API profile, per-customer fetch state, srm's own notes
-- The vendor cannot list customers: each known one is refreshed through its published calls,
-- never-fetched first, then oldest-fetched first. A row commits with the customer's records.
-- status: pending (to fetch, e.g. an imported id), ok, gone (the API answered 404), refused
-- (another 4xx), failed (an unreadable answer); gone and refused wait for a full sync.
-- full_pending: still to do in the unfinished `srm sync --full` (set for all when one starts).
CREATE TABLE customer_fetch_state (
    customer_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    fetched_at INTEGER,
    attempted_at INTEGER NOT NULL,
    message TEXT,
    full_pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX customer_fetch_state_order ON customer_fetch_state (fetched_at, customer_id);

-- [actions] srm's own notes, changes seen in the vendor's records
-- A note srm keeps itself (the vendor publishes no notes API): never sent, never pruned.
ALTER TABLE notes ADD COLUMN local INTEGER NOT NULL DEFAULT 0;
-- What changed in a subscription or pass between two copies the API sent (sync, webhooks,
-- fetches): the vendor keeps no change history a publisher can read, so srm writes its own.
CREATE TABLE observed_changes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    entity TEXT NOT NULL,
    record_key TEXT NOT NULL,
    field TEXT NOT NULL,
    before TEXT,
    after TEXT,
    seen_at INTEGER NOT NULL
);
CREATE INDEX observed_changes_customer ON observed_changes (customer_id, seen_at);

-- [webhooks] receipts, refusals, replay window
-- Where an accepted delivery came from and what applying it did (its data stays in `data`).
ALTER TABLE webhook_events ADD COLUMN source TEXT;
ALTER TABLE webhook_events ADD COLUMN body_sha256 TEXT;
ALTER TABLE webhook_events ADD COLUMN delivery_id TEXT;
ALTER TABLE webhook_events ADD COLUMN result TEXT;
-- Deliveries seen within the replay window: 'b:' + sha256(signature, body), 'd:' + the
-- sender's delivery id. A key found again means a repeat: acknowledged, not applied.
CREATE TABLE webhook_replay (
    key TEXT PRIMARY KEY,
    event_id INTEGER,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webhook_replay_age ON webhook_replay (received_at);
-- A refused delivery is kept only as a bounded summary, never its body; the newest
-- thousand are kept, the counters below keep every one.
CREATE TABLE webhook_refusals (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER,
    source TEXT,
    body_sha256 TEXT,
    detail TEXT
);
CREATE TABLE webhook_counters (
    name TEXT PRIMARY KEY,
    count INTEGER NOT NULL DEFAULT 0,
    last_at INTEGER
) WITHOUT ROWID;

-- [hardening] safe files, read-only review

-- [search] identifiers match without case (CONTRACT section 6): NOCASE indexes serve
-- `external_id = ? COLLATE NOCASE` and the external order id lookup.
CREATE INDEX customers_external_id_nocase ON customers (external_id COLLATE NOCASE);
CREATE INDEX transactions_external_nocase ON transactions (external_payment_id COLLATE NOCASE);

-- [money] exchange rates, reporting currency: the table `srm rates import` last stored
-- (units per EUR, one row per currency, all of one ECB date); empty means srm's shipped table.
CREATE TABLE exchange_rates (
    currency TEXT PRIMARY KEY,
    per_eur REAL NOT NULL,
    rate_date TEXT NOT NULL,
    source TEXT,
    imported_at INTEGER
) WITHOUT ROWID;
-- The list's transaction count is the summary's: captured or refunded (paid) ones only.
UPDATE customers SET transactions = (SELECT count(*) FROM transactions t
    WHERE t.customer_id = customers.id AND t.status IN ('captured', 'refunded'))
WHERE transactions > 0;

-- [vendorfix] a price derived from the offer (CONTRACT section 5 style)
-- price_derived = 1: the record has no nextPaymentPrice of its own (the vendor publishes
-- none); price and currency then hold its offer's price, recomputed when offers arrive.
ALTER TABLE subscriptions ADD COLUMN price_derived INTEGER NOT NULL DEFAULT 0;
UPDATE subscriptions SET price_derived = 1 WHERE price IS NULL;
CREATE INDEX subscriptions_price_derived ON subscriptions (offer_id) WHERE price_derived = 1;
"""

V9 = """
-- [playbook] retention playbook: every saved version kept (the report names the version that
-- picked an offer; a save names the version it was based on, so a concurrent save is refused).
CREATE TABLE playbook_versions (
    version INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    saved_by TEXT
);

-- [lean] a lean cache (issue 16): payloads compressed, the indexes no query uses dropped
-- Each record's raw is its JSON deflated with its table's dictionary, the dictionary's id in
-- the first byte (srm_tui/storage/payload.py); the dictionaries srm ships are copied here,
-- so a cache says how to read itself. Rows written before stay plain JSON (readable as they
-- are) until the cache's next open compresses them, chunk by chunk, each chunk committed
-- with the place it reached (meta payload_convert), so a cut-short conversion resumes.
CREATE TABLE raw_dictionaries (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    data BLOB NOT NULL,
    sha256 TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('payload_convert', '{}')
    ON CONFLICT(key) DO UPDATE SET value = '{}';
-- SQL no longer reads raw: a subscription's own nextPaymentCurrency, which the derived
-- currency read from raw, is a flag (1: the record names none, currency holds its offer's).
ALTER TABLE subscriptions ADD COLUMN currency_derived INTEGER NOT NULL DEFAULT 0;
UPDATE subscriptions SET currency_derived = 1
    WHERE json_extract(raw, '$.nextPaymentCurrency') IS NULL;
-- No query plan names these (bench/bench_cache_size.py, tests/unit/test_lean_indexes.py):
-- the NOCASE twins serve every external id lookup, zip: searches the search index, and the
-- derive statements filter on an expression of offer_id that the partial indexes cannot serve.
DROP INDEX IF EXISTS transactions_external;
DROP INDEX IF EXISTS customers_external_id;
DROP INDEX IF EXISTS customers_post_code;
DROP INDEX IF EXISTS subscriptions_period_derived;
DROP INDEX IF EXISTS subscriptions_price_derived;

-- [bulk] bulk actions over a segment: a run is frozen at start (its definition and its
-- members, one transaction); a member is queued with its outbox entry in one transaction
-- (outbox_id), so a run killed anywhere and resumed sends nothing twice. control is what
-- the agent asked between batches (pause, cancel).
CREATE TABLE bulk_runs (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    segment_name TEXT,
    segment_definition TEXT NOT NULL,
    agent TEXT,
    role TEXT,
    status TEXT NOT NULL,
    control TEXT,
    members INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    note TEXT
);
CREATE TABLE bulk_members (
    run_id INTEGER NOT NULL REFERENCES bulk_runs (id),
    seq INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    subscription_id INTEGER,
    status TEXT NOT NULL,
    rule TEXT,
    reason TEXT,
    outbox_id INTEGER,
    settled_at INTEGER,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX bulk_members_status ON bulk_members (run_id, status, seq);
CREATE INDEX bulk_members_customer ON bulk_members (customer_id);
CREATE INDEX bulk_members_outbox ON bulk_members (outbox_id);
"""

V10 = """
-- [writer] who writes the store's vendor data now (storage/writer.py): one row per kind of
-- writer ('sync', 'webhooks'), made when one starts and removed when it ends, so a second one
-- can name the process that holds the store (a row left by a killed one is taken over once
-- its process is gone). On PostgreSQL the lock itself is an advisory lock; this row names it.
CREATE TABLE store_writers (
    what TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    db_user TEXT,
    started_at INTEGER NOT NULL,
    backend_pid INTEGER
);
"""

V11 = """
-- [claims] outbox claims with leases (actions/outbox.py claim): a pusher takes a pending row
-- by writing a fresh claim_token, who it is (claimed_by) and until when (lease_until, epoch
-- seconds); its settle is fenced by the token, so the answer of a pusher whose lease ran out
-- and was taken over is dropped. Only a customer's earliest pending row is claimable (the
-- partial index serves that test). The audit also says from where: the host and process.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
CREATE INDEX outbox_pending_customer ON outbox (customer_id, id) WHERE status = 'pending';
ALTER TABLE audit ADD COLUMN host TEXT;
ALTER TABLE audit ADD COLUMN pid INTEGER;
-- [requests] work an agent's push asks of the team store's writer (storage/requests.py): a
-- 'refresh' of a customer after the API took an action, a 'forget' after an anonymization
-- (personal: the values the push saw, dropped once served). Served by srm sync (--watch).
-- A SQLite cache refreshes inline and leaves it empty; the twin keeps the schemas equal.
CREATE TABLE store_requests (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('refresh', 'forget')),
    customer_id INTEGER NOT NULL,
    outbox_id INTEGER,
    requested_at INTEGER NOT NULL,
    personal TEXT,
    done_at INTEGER,
    error TEXT
);
CREATE INDEX store_requests_waiting ON store_requests (customer_id, kind)
    WHERE done_at IS NULL;
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11]
SCHEMA_VERSION = len(MIGRATIONS)
