/*
description: >
  One row per work with what all its sightings say together: categories, sources, versions,
  identifiers, first and last day, number of listings, and how its identity was decided. A
  table of its own so that papers joins two tables; aggregating and joining in one query ran
  out of DuckDB's memory limit on a year of arXiv. Built in passes over disjoint sets of
  works, because DuckDB keeps list aggregates in memory: one pass over a year of arXiv needed
  about 300 MB.
materialized: table
rows_per_pass: 150000
depends_on: [staging.entries]
tests:
  unique: [paper_id]
  not_null: [paper_id, first_announced_day, listing_count]
columns:
  paper_id: Identity of the work (see staging.entries.paper_id).
  categories: Every category any sighting gave, sorted.
  source_ids: Every source that listed the work.
  first_announced_day: Day the work was first listed.
  latest_announced_day: Day the work was last listed.
  listing_count: Number of sightings.
  latest_version: Highest version seen.
  versions: Every version number seen, sorted.
  arxiv_id: arXiv id without version.
  dois: Every DOI of the work itself that any sighting gave, sorted.
  other_ids: "Weaker identifiers of the work: stable links (url:...) and source guids (guid:<source>:...)."
  identity_rule: "The strongest identifier its entries share: arxiv, doi, link, guid or title; fuzzy when any entry joined by title and authors."
  identity_confidence: Lowest confidence of any entry's assignment (1.0 when all share identifiers).
*/
SELECT
    paper_id,
    list_sort(list_distinct(flatten(list(categories)))) AS categories,
    list_sort(list_distinct(list(source_id))) AS source_ids,
    min(day) AS first_announced_day,
    max(day) AS latest_announced_day,
    count(*) AS listing_count,
    max(version) AS latest_version,
    list_sort(list_distinct(list(version) FILTER (WHERE version IS NOT NULL))) AS versions,
    min(arxiv_id) AS arxiv_id,
    list_sort(list_distinct(list(work_doi) FILTER (WHERE work_doi IS NOT NULL))) AS dois,
    list_sort(list_distinct(
        list(
            CASE
                WHEN link IS NOT NULL AND arxiv_id IS NULL AND work_doi IS NULL THEN 'url:' || link
                WHEN guid IS NOT NULL AND guid <> '' AND arxiv_id IS NULL AND work_doi IS NULL
                    THEN 'guid:' || source_id || ':' || guid
            END
        ) FILTER (WHERE arxiv_id IS NULL AND work_doi IS NULL AND (link IS NOT NULL OR guid <> ''))
    )) AS other_ids,
    CASE
        WHEN bool_or(identity_rule = 'fuzzy') THEN 'fuzzy'
        ELSE arg_min(
            identity_rule,
            CASE identity_rule WHEN 'arxiv' THEN 1 WHEN 'doi' THEN 2 WHEN 'link' THEN 3 WHEN 'guid' THEN 4 ELSE 5 END
        )
    END AS identity_rule,
    min(identity_confidence) AS identity_confidence
FROM staging.entries
WHERE hash(paper_id) % $passes = $pass
GROUP BY paper_id
