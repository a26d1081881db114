-- 0008 search batches (PostgreSQL; the SQLite migration of the same number queues changes of plan texts for its
-- FTS5 index and applies them once per transaction). PostgreSQL's index of plan texts (a GIN index over the `words`
-- tsvector the application writes with each plan) needs no queue: this step keeps the two backends' version numbers
-- in step.
SELECT 1;
