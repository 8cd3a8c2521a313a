/*
description: >
  One row per sighting: a work listed by one source (a category or subject feed) on one
  announcement day, with the announce type and version the source gave.
materialized: partitioned
partition_column: announced_day
depends_on: [staging.entries]
tests:
  unique: [[source_id, announced_day, item_index]]
  not_null: [paper_id, source_id, announced_day]
columns:
  paper_id: The work listed (papers.paper_id).
  announced_day: Announcement day of the listing.
  source_id: Source that listed it (sources.yaml id).
  source_label: Badge text of the source, e.g. arXiv (cs.CL).
  feed_category: Category or subject of the feed that listed it.
  announce_type: "arXiv announce type: new, cross, replace or replace-cross; NULL for other sources."
  version: Version listed, when the source gives one.
  guid: Item guid as the source gave it.
  link: Item link.
  payload_sha256: Raw payload the listing was parsed from.
  item_index: Position of the item in that payload.
metrics:
  listings: >
    SELECT count(*) FROM main.paper_listings
    WHERE announced_day >= $window_start AND announced_day < $window_end
  papers_listed: >
    SELECT count(DISTINCT paper_id) FROM main.paper_listings
    WHERE announced_day >= $window_start AND announced_day < $window_end
  merged_duplicates: >
    SELECT count(*) - count(DISTINCT paper_id) FROM main.paper_listings
    WHERE announced_day >= $window_start AND announced_day < $window_end
*/
SELECT
    paper_id,
    day AS announced_day,
    source_id,
    source_label,
    feed_category,
    announce_type,
    version,
    guid,
    link,
    payload_sha256,
    item_index
FROM staging.entries
WHERE day >= $window_start AND day < $window_end
