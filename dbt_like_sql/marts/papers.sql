/*
description: >
  One row per work, whatever the number of versions, cross-lists and sources that listed it.
  Text comes from its highest version; categories and sources gather every sighting.
materialized: table
depends_on: [staging.entries, intermediate.paper_latest_entry]
tests:
  unique: [paper_id]
  not_null: [paper_id, title, first_announced_day]
columns:
  paper_id: Identity of the work (see staging.entries.paper_id).
  title: Title of the latest version.
  abstract: Abstract of the latest version; empty when no source gave one.
  authors: Authors of the latest version, in order.
  categories: Every category any sighting gave, sorted.
  arxiv_id: arXiv id without version.
  latest_version: Highest version seen.
  doi: DOI, lower-case, without prefix.
  link: Link to the work's landing page.
  journal: Journal or server.
  source_ids: Every source that listed the work.
  first_announced_day: Day the work was first listed.
  latest_announced_day: Day the work was last listed.
  listing_count: Number of sightings (rows in paper_listings).
metrics:
  new_papers: >
    SELECT count(*) FROM main.papers
    WHERE first_announced_day >= $window_start AND first_announced_day < $window_end
  updated_papers: >
    SELECT count(DISTINCT paper_id) FROM staging.entries
    WHERE day >= $window_start AND day < $window_end
      AND paper_id IN (SELECT paper_id FROM main.papers WHERE first_announced_day < $window_start)
  papers_total: SELECT count(*) FROM main.papers
*/
WITH sightings AS (
    SELECT
        paper_id,
        list_sort(list_distinct(flatten(list(categories)))) AS categories,
        list_sort(list_distinct(list(source_id))) AS source_ids,
        min(day) AS first_announced_day,
        max(day) AS latest_announced_day,
        count(*) AS listing_count,
        max(arxiv_version) AS latest_version,
        min(doi) AS doi
    FROM staging.entries
    GROUP BY paper_id
)

SELECT
    latest.paper_id,
    latest.title,
    latest.abstract,
    latest.authors,
    sightings.categories,
    latest.arxiv_id,
    sightings.latest_version,
    sightings.doi,
    latest.link,
    latest.journal,
    sightings.source_ids,
    sightings.first_announced_day,
    sightings.latest_announced_day,
    sightings.listing_count
FROM intermediate.paper_latest_entry AS latest
INNER JOIN sightings USING (paper_id)
ORDER BY latest.paper_id
