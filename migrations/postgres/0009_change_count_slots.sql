-- 0009 change count slots (PostgreSQL): every write transaction bumped the one row of `change_count` and held that
-- row's lock until its commit (the WAL flush included), so concurrent writers (the bot's channels, API replicas)
-- waited for each other's commits. A write now bumps one of 64 rows, chosen by its transaction id; the change count
-- is the sum of the rows, which still moves with every committed change and only then.
ALTER TABLE change_count DROP CONSTRAINT change_count_id_check;
ALTER TABLE change_count ADD CONSTRAINT change_count_slot CHECK (id BETWEEN 1 AND 64);

INSERT INTO change_count (id, count) SELECT slot, 0 FROM generate_series(2, 64) AS slot;

CREATE OR REPLACE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_count SET count = count + 1 WHERE id = 1 + txid_current() % 64;
    RETURN NULL;
END
$$;
