-- 0004 chart images (PostgreSQL; as the SQLite migration of the same number): copies of the image files attached to
-- plans, each kept once under the SHA-256 of its bytes; a chart finds its copy through its source key (its URL
-- without the query, which Discord re-signs in every payload).

CREATE TABLE chart_images (
    digest       text        COLLATE "C" PRIMARY KEY,  -- SHA-256 of the bytes, 64 lowercase hex digits
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    bytes        bytea       NOT NULL,
    stored_at    timestamptz NOT NULL
);

CREATE TABLE chart_image_links (
    source_key text        COLLATE "C" PRIMARY KEY,    -- the chart's URL without query and fragment
    digest     text        COLLATE "C" NOT NULL REFERENCES chart_images (digest),
    linked_at  timestamptz NOT NULL
);
