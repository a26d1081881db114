-- 0005 search (PostgreSQL; as the SQLite migration of the same number): the tickers each plan mentions and a
-- full-text index of plan texts.
--
-- `plans.tickers` holds a plan's tickers in the order of their first mention, separated by spaces; `plan_tickers`
-- holds the same, one row each. `plans.words` holds the words of the text (runs of letters and digits, lower case,
-- with their positions) as a `tsvector` the application builds, so that words match exactly as the application's
-- own rule says, whatever the database's text search configuration. All three are written with the text, in the
-- same transaction; the store fills them for plans that lack them when it opens (see `derived_indexes`).

ALTER TABLE plans ADD COLUMN tickers text NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN words tsvector;

CREATE TABLE plan_tickers (
    plan_id bigint NOT NULL REFERENCES plans (id),
    ticker  text   COLLATE "C" NOT NULL,
    PRIMARY KEY (plan_id, ticker)
);

-- The plans mentioning a ticker.
CREATE INDEX plan_tickers_by_ticker ON plan_tickers (ticker, plan_id);

-- Plans by their words.
CREATE INDEX plans_by_words ON plans USING gin (words);

-- Indexes derived from plan texts by the application, and the fingerprint of the rules they were built with: a store
-- opened with other rules (a changed stoplist) builds the index again.
CREATE TABLE derived_indexes (
    name        text        COLLATE "C" PRIMARY KEY,
    fingerprint text        NOT NULL,
    built_at    timestamptz NOT NULL
);
