-- 0007 change count (PostgreSQL; as the SQLite migration of the same number): one number that moves with every
-- change a reader may see (plans, their charts, the archived copies of chart images), whichever process made it, so
-- that a reader's cached answers know when they stand.
CREATE TABLE change_count (
    id    integer PRIMARY KEY CHECK (id = 1),
    count bigint NOT NULL
);

INSERT INTO change_count (id, count) VALUES (1, 0);

CREATE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_count SET count = count + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER plans_count AFTER INSERT OR UPDATE OR DELETE ON plans FOR EACH STATEMENT EXECUTE FUNCTION count_change();
CREATE TRIGGER charts_count AFTER INSERT OR UPDATE OR DELETE ON charts FOR EACH STATEMENT EXECUTE FUNCTION count_change();
CREATE TRIGGER chart_image_links_count AFTER INSERT OR UPDATE OR DELETE ON chart_image_links
    FOR EACH STATEMENT EXECUTE FUNCTION count_change();
