-- 0002 history names the posting message: the chat message that posted a plan (on `created` entries) or re-posted
-- it over the author's earlier plan (on that `edited` entry). A plan's own `message_id` is its current source (edits
-- and deletion of that message follow the plan); these tell that an earlier message was handled already, so a
-- message delivered twice never posts twice.

ALTER TABLE plan_history ADD COLUMN message_id INTEGER;

-- Entries written before this migration: a plan's creation was posted by the message the plan still names.
UPDATE plan_history
SET message_id = (SELECT plans.message_id FROM plans WHERE plans.id = plan_history.plan_id)
WHERE action = 'created';

CREATE INDEX plan_history_by_message ON plan_history (message_id) WHERE message_id IS NOT NULL;
