-- 0004 chart images: copies of the image files attached to plans, because the links Discord gives for attachments
-- expire. Each file is kept once, under the SHA-256 of its bytes; a chart finds its copy through its source key (its
-- URL without the query, which Discord re-signs in every payload).

CREATE TABLE chart_images (
    digest       TEXT PRIMARY KEY,     -- SHA-256 of the bytes, 64 lowercase hex digits
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    stored_at    TEXT NOT NULL
);

CREATE TABLE chart_image_links (
    source_key TEXT PRIMARY KEY,       -- the chart's URL without query and fragment
    digest     TEXT NOT NULL REFERENCES chart_images (digest),
    linked_at  TEXT NOT NULL
);
