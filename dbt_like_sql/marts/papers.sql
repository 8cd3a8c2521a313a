/*
description: >
  One row per work, whatever the number of versions, cross-lists and sources that listed it.
  Text comes from its highest version; categories, identifiers and sources gather every
  sighting. A preprint that became a journal article names the article (see paper_links).
materialized: table
depends_on: [staging.entries, intermediate.paper_sightings, intermediate.paper_latest_entry, main.paper_links]
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
  versions: Every version number seen, sorted.
  doi: DOI of the work itself, lower-case, without prefix or preprint version (10.48550/arxiv.<id> for arXiv).
  dois: Every DOI of the work itself that any sighting gave, sorted.
  other_ids: "Weaker identifiers of the work: stable links (url:...) and source guids (guid:<source>:...)."
  link: Link to the work's landing page.
  journal: Journal or server.
  source_ids: Every source that listed the work.
  identity_rule: "The strongest identifier its entries share: arxiv, doi, link, guid or title; fuzzy when any entry joined by title and authors."
  identity_confidence: Lowest confidence of any entry's assignment (1.0 when all share identifiers).
  published_doi: DOI of the journal article this preprint became, when known.
  published_link: Link to that article (https://doi.org/<doi>).
  published_journal: Journal of that article, from its own record or the journal reference.
  first_announced_day: Day the work was first listed.
  latest_announced_day: Day the work was last listed.
  listing_count: Number of sightings (rows in paper_listings).
metrics:
  # new_papers: works first announced in the window; a re-run of the same days counts them again.
  new_papers: >
    SELECT count(*) FROM main.papers
    WHERE first_announced_day >= $window_start AND first_announced_day < $window_end
  updated_papers: >
    SELECT count(DISTINCT paper_id) FROM staging.entries
    WHERE day >= $window_start AND day < $window_end
      AND paper_id IN (SELECT paper_id FROM main.papers WHERE first_announced_day < $window_start)
  papers_total: SELECT count(*) FROM main.papers
*/
WITH published AS (
    -- One published version per preprint: one known in the warehouse first, then one with a DOI.
    SELECT paper_id, related_doi, related_link, related_journal
    FROM main.paper_links
    WHERE relation = 'published_as'
    QUALIFY row_number() OVER (
        PARTITION BY paper_id
        ORDER BY related_paper_id IS NOT NULL DESC, related_doi IS NOT NULL DESC, related_key
    ) = 1
)

SELECT
    latest.paper_id,
    latest.title,
    latest.abstract,
    latest.authors,
    sightings.categories,
    sightings.arxiv_id,
    sightings.latest_version,
    sightings.versions,
    sightings.dois[1] AS doi,
    sightings.dois,
    sightings.other_ids,
    latest.link,
    latest.journal,
    sightings.source_ids,
    sightings.identity_rule,
    sightings.identity_confidence,
    published.related_doi AS published_doi,
    published.related_link AS published_link,
    published.related_journal AS published_journal,
    sightings.first_announced_day,
    sightings.latest_announced_day,
    sightings.listing_count
FROM intermediate.paper_latest_entry AS latest
INNER JOIN intermediate.paper_sightings AS sightings USING (paper_id)
LEFT JOIN published USING (paper_id)

