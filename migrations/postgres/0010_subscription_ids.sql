-- 0010 subscription ids (PostgreSQL): nothing changes here. SQLite's step makes a removed webhook subscription's id
-- never given again; PostgreSQL's identity columns never give a number twice already. The step is kept so that one
-- version number means one schema on both.
SELECT 1;
