-- 0010 subscription ids: the id of a removed webhook subscription is never given to a new one (AUTOINCREMENT), so
-- that an id an operator's script kept never names another receiver. SQLite cannot add AUTOINCREMENT to a table:
-- both webhook tables are made anew and their rows copied with their ids (the deliveries first leave the old table
-- of subscriptions, which is then dropped without touching them).
CREATE TABLE webhook_subscriptions_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    events          INTEGER NOT NULL,
    secret          TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    disabled_at     TEXT,
    disabled_reason TEXT
);
INSERT INTO webhook_subscriptions_new (id, url, events, secret, created_at, disabled_at, disabled_reason)
    SELECT id, url, events, secret, created_at, disabled_at, disabled_reason FROM webhook_subscriptions;

CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions_new (id) ON DELETE CASCADE,
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
INSERT INTO webhook_deliveries_new (id, message_id, subscription_id, event_type, occurred_at, plan, status, attempts,
        next_attempt_at, lease_until, last_attempt_at, last_status, last_error)
    SELECT id, message_id, subscription_id, event_type, occurred_at, plan, status, attempts, next_attempt_at,
        lease_until, last_attempt_at, last_status, last_error
    FROM webhook_deliveries;

DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
ALTER TABLE webhook_subscriptions_new RENAME TO webhook_subscriptions;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, id);
