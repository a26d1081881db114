-- 0001 initial: plans, their charts and history, and runtime status shared between processes.
--
-- Timestamps are UTC text in one fixed-width form with microseconds (`2025-11-09T20:36:52.274074Z`),
-- so that text order is time order. Trading dates are `YYYY-MM-DD`. Discord ids (snowflakes) are 64-bit integers.
-- `import_key` is set only on rows imported from the predecessor's database, so that importing twice adds nothing.
-- The migrations runner records each applied file in `schema_migrations`; it creates that table itself.

CREATE TABLE plans (
    id           INTEGER PRIMARY KEY,
    coach        TEXT    NOT NULL CHECK (length(coach) BETWEEN 1 AND 16),
    trading_date TEXT    NOT NULL CHECK (trading_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    text         TEXT    NOT NULL,
    author_id    INTEGER,
    author_name  TEXT    NOT NULL,
    guild_id     INTEGER,
    channel_id   INTEGER,
    channel_name TEXT,
    message_id   INTEGER,
    version      INTEGER NOT NULL CHECK (version >= 1),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    deleted_at   TEXT,
    import_key   TEXT    UNIQUE
);

-- One active plan per coach and date; soft-deleted plans do not count, so a deleted plan can be posted again.
CREATE UNIQUE INDEX plans_one_active_per_coach_date ON plans (coach, trading_date) WHERE deleted_at IS NULL;
-- All plans of a date (and, through both columns, every plan of a coach and date, deleted or not).
CREATE INDEX plans_by_date ON plans (trading_date, coach);
-- A user's plans, newest date first.
CREATE INDEX plans_by_author ON plans (author_id, trading_date);
-- The plan posted by a chat message (message edited or deleted in Discord).
CREATE INDEX plans_by_message ON plans (message_id);

CREATE TABLE charts (
    id           INTEGER PRIMARY KEY,
    plan_id      INTEGER NOT NULL REFERENCES plans (id),
    position     INTEGER NOT NULL CHECK (position >= 0),
    url          TEXT    NOT NULL,
    filename     TEXT,
    content_type TEXT,
    kind         TEXT    NOT NULL CHECK (kind IN ('attachment', 'link')),
    added_at     TEXT    NOT NULL,
    import_key   TEXT    UNIQUE
);

-- A plan's charts in order; a position is used once per plan.
CREATE UNIQUE INDEX charts_by_plan ON charts (plan_id, position);

-- `coach` and `trading_date` are copied from the plan when the entry is written (a plan's coach and date never
-- change), so that a coach's history can be read newest first from an index without visiting the plans.
CREATE TABLE plan_history (
    id           INTEGER PRIMARY KEY,
    plan_id      INTEGER NOT NULL REFERENCES plans (id),
    coach        TEXT    NOT NULL,
    trading_date TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    action       TEXT    NOT NULL CHECK (action IN ('created', 'edited', 'charts_changed', 'deleted', 'restored')),
    text_before  TEXT,
    text_after   TEXT,
    actor_id     INTEGER,
    actor_name   TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    import_key   TEXT    UNIQUE
);

-- A plan's entries; one entry per version, so two writers can never both record the same version.
CREATE UNIQUE INDEX plan_history_by_plan ON plan_history (plan_id, version);
-- A coach's history newest first, over every date or one date.
CREATE INDEX plan_history_by_coach ON plan_history (coach, at DESC, id DESC);
CREATE INDEX plan_history_by_coach_date ON plan_history (coach, trading_date, at DESC, id DESC);

-- Values one process records for others, e.g. the bot's connection state read by the API's health check.
CREATE TABLE runtime_status (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
