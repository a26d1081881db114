-- 0005 search: the tickers each plan mentions and a full-text index of plan texts, so that "what did the coaches say
-- about NVDA this month" and "which plans talk about a gap fill" are indexed queries.
--
-- `plans.tickers` holds a plan's tickers in the order of their first mention, separated by spaces (read with the
-- plan); `plan_tickers` holds the same, one row each, to find plans by ticker. Both are written with the text, in the
-- same transaction. Tickers are extracted by the application (its stoplist is configuration), so this migration only
-- makes room: the store fills them when it opens (see `derived_indexes`).

ALTER TABLE plans ADD COLUMN tickers TEXT NOT NULL DEFAULT '';

CREATE TABLE plan_tickers (
    plan_id INTEGER NOT NULL REFERENCES plans (id),
    ticker  TEXT    NOT NULL,
    PRIMARY KEY (plan_id, ticker)
) WITHOUT ROWID;

-- The plans mentioning a ticker.
CREATE INDEX plan_tickers_by_ticker ON plan_tickers (ticker, plan_id);

-- Indexes derived from plan texts by the application, and the fingerprint of the rules they were built with: a store
-- opened with other rules (a changed stoplist) builds the index again.
CREATE TABLE derived_indexes (
    name        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    built_at    TEXT NOT NULL
);

-- Words of plan texts: case and diacritics ignored, any script. The plans table is the content; triggers keep the
-- index in step with every insert, text change and removal, in the writer's transaction.
CREATE VIRTUAL TABLE plans_fts USING fts5 (
    text,
    content = 'plans',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO plans_fts (rowid, text) SELECT id, text FROM plans;

CREATE TRIGGER plans_fts_after_insert AFTER INSERT ON plans BEGIN
    INSERT INTO plans_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER plans_fts_after_text_update AFTER UPDATE OF text ON plans WHEN old.text IS NOT new.text BEGIN
    INSERT INTO plans_fts (plans_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO plans_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER plans_fts_after_delete AFTER DELETE ON plans BEGIN
    INSERT INTO plans_fts (plans_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
