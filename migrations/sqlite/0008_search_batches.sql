-- 0008 search batches: the full-text index of plan texts (`plans_fts`) is written once per transaction instead of
-- once per plan. FTS5 moves the terms it holds in memory to a new segment of the index at every savepoint (and every
-- statement journal) that follows a change of the index in a transaction; the store's group commit, a savepoint per
-- write, made one segment per plan, and merging them cost more than the rest of a plan's write. The triggers now
-- queue each change of a plan's text in `plans_fts_pending`; the store applies the queue, in order, in the same
-- transaction just before each commit (`search::apply_pending_words`), so that a commit always leaves the index in
-- step with the texts and the queue empty.

CREATE TABLE plans_fts_pending (
    seq     INTEGER PRIMARY KEY,
    command TEXT,              -- 'delete' takes the text out of the index; NULL adds it
    plan_id INTEGER NOT NULL,
    text    TEXT    NOT NULL
);

DROP TRIGGER plans_fts_after_insert;
DROP TRIGGER plans_fts_after_text_update;
DROP TRIGGER plans_fts_after_delete;

CREATE TRIGGER plans_fts_after_insert AFTER INSERT ON plans BEGIN
    INSERT INTO plans_fts_pending (command, plan_id, text) VALUES (NULL, new.id, new.text);
END;

CREATE TRIGGER plans_fts_after_text_update AFTER UPDATE OF text ON plans WHEN old.text IS NOT new.text BEGIN
    INSERT INTO plans_fts_pending (command, plan_id, text) VALUES ('delete', old.id, old.text);
    INSERT INTO plans_fts_pending (command, plan_id, text) VALUES (NULL, new.id, new.text);
END;

CREATE TRIGGER plans_fts_after_delete AFTER DELETE ON plans BEGIN
    INSERT INTO plans_fts_pending (command, plan_id, text) VALUES ('delete', old.id, old.text);
END;
