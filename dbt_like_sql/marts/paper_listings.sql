/*
description: >
  One row per sighting: a work listed by one source (a category or subject feed) on one
  announcement day, with the announce type and version the source gave.
  A day's partition holds the sightings loaded for that day (loaded_day); a backfilled arXiv
  record whose RSS day differs is listed under the RSS day but stays in the partition it was
  loaded with, so rebuilding either day neither loses nor repeats it.
materialized: partitioned
partition_column: loaded_day
depends_on: [staging.entries]
tests:
  unique: [[source_id, loaded_day, item_index]]
  not_null: [paper_id, source_id, announced_day, loaded_day]
columns:
  paper_id: The work listed (papers.paper_id).
  announced_day: Announcement day of the listing (for a backfilled arXiv record, the RSS day when RSS listed it).
  loaded_day: Day partition the sighting was loaded for.
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
    loaded_day,
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
WHERE loaded_day >= $window_start AND loaded_day < $window_end
