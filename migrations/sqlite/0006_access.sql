-- 0006 access: API tokens, webhook subscriptions, and the outbox of webhook deliveries.
--
-- Only a token's SHA-256 is stored; the token itself is shown once when it is made. A name belongs to one token that
-- is not revoked (a revoked token's name can be given again).
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE UNIQUE INDEX api_tokens_name_unrevoked ON api_tokens (name) WHERE revoked_at IS NULL;

-- `events` is a bit set of the events a subscription receives, so that a change selects its subscribers with one
-- bitwise test. The secret signs deliveries, so it is kept as given (whsec_...).
CREATE TABLE webhook_subscriptions (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    events          INTEGER NOT NULL,
    secret          TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    disabled_at     TEXT,
    disabled_reason TEXT
);

-- One row per event and subscription, written in the transaction of the change it announces. `plan` is the plan as
-- that change committed it (JSON), null for a test event. A worker claims due rows by setting `lease_until`; a
-- worker that dies leaves the lease to run out, and the delivery is claimed again.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_type      TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    plan            TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,
    last_attempt_at TEXT,
    last_status     INTEGER,
    last_error      TEXT
);

-- Due deliveries, for the worker.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
-- A subscription's deliveries, newest first.
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, id);
