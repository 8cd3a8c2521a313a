/*
description: >
  One row per work: the sighting whose text represents it, the highest version first (arXiv
  or bioRxiv version), then the latest day, then a sighting with an abstract. The feed's raw
  title and summary stay in raw.entries: copying them would double what this table writes.
  Built in passes over disjoint sets of works, so the window over every sighting's full row
  fits DuckDB's memory limit however long the history is.
materialized: table
rows_per_pass: 200000
depends_on: [staging.entries]
tests:
  unique: [paper_id]
  not_null: [paper_id, title]
*/
SELECT * EXCLUDE (preference, raw_title, raw_summary)
FROM (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY paper_id
            ORDER BY version DESC NULLS LAST, day DESC, (abstract <> '') DESC, source_id, item_index
        ) AS preference
    FROM staging.entries
    WHERE hash(paper_id) % $passes = $pass
)
WHERE preference = 1
