-- 0002 history names the posting message (PostgreSQL; as the SQLite migration of the same number): the chat message
-- that posted a plan (on `created` entries) or re-posted it over the author's earlier plan (on that `edited` entry).

ALTER TABLE plan_history ADD COLUMN message_id bigint;

UPDATE plan_history
SET message_id = (SELECT plans.message_id FROM plans WHERE plans.id = plan_history.plan_id)
WHERE action = 'created';

CREATE INDEX plan_history_by_message ON plan_history (message_id) WHERE message_id IS NOT NULL;
