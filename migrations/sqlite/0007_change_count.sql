-- 0007 change count: one number that moves with every change a reader may see (plans, their charts, the archived
-- copies of chart images), whichever process made it, so that a reader's cached answers know when they stand.
CREATE TABLE change_count (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL
);

INSERT INTO change_count (id, count) VALUES (1, 0);

CREATE TRIGGER plans_inserted_count AFTER INSERT ON plans BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER plans_updated_count AFTER UPDATE ON plans BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER plans_deleted_count AFTER DELETE ON plans BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER charts_inserted_count AFTER INSERT ON charts BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER charts_updated_count AFTER UPDATE ON charts BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER charts_deleted_count AFTER DELETE ON charts BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER chart_image_links_inserted_count AFTER INSERT ON chart_image_links BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER chart_image_links_updated_count AFTER UPDATE ON chart_image_links BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
CREATE TRIGGER chart_image_links_deleted_count AFTER DELETE ON chart_image_links BEGIN UPDATE change_count SET count = count + 1 WHERE id = 1; END;
