/*
description: >
  One row per item per source payload and day, with the work it describes as the identity
  step decided it (intermediate.paper_identity). For arXiv records that only a backfill saw
  (OAI-PMH or the query API), the day is derived from the v1 submission time; where a daily
  arXiv RSS feed also listed the paper as new, the feed's day wins.
materialized: view
depends_on: [raw.entries, intermediate.paper_identity]
columns:
  paper_id: >
    Identity of the work, strongest rule first: arxiv:<id without version>, doi:<doi without
    a preprint version>, url:<hash of the stable link>, src:<source>:<hash of the guid>,
    title:<hash of title and first-author surname>. Entries merged by title and authors take
    the id of the work they joined.
  arxiv_id: arXiv id, also when the source gave only an arXiv DOI or link.
  work_doi: DOI of the entry's own work, preprint version removed; 10.48550/arxiv.<id> for arXiv.
  version: Version the entry describes (arXiv version, bioRxiv vN), when known.
  published_doi: DOI of the journal article the preprint became.
  identity_rule: arxiv, doi, link, guid, title or fuzzy.
  identity_confidence: 1.0 for a shared identifier, the matcher's confidence for fuzzy.
  loaded_day: The day partition the entry was loaded for (raw.entries.day).
  derived_day: >
    The day a backfill derived for an arXiv record (raw.entries.day) when an RSS day replaced
    it; NULL otherwise.
*/
WITH rss_days AS (
    SELECT arxiv_id, min(day) AS rss_day
    FROM raw.entries
    WHERE source_kind = 'arxiv_rss' AND arxiv_id IS NOT NULL AND announce_type = 'new'
    GROUP BY arxiv_id
)

SELECT
    entries.* REPLACE (
        CASE
            WHEN entries.source_kind IN ('arxiv_oai', 'arxiv_api') AND rss_days.rss_day IS NOT NULL
                THEN rss_days.rss_day
            ELSE entries.day
        END AS day,
        identity.arxiv_id AS arxiv_id,
        identity.published_doi AS published_doi
    ),
    entries.day AS loaded_day,
    identity.paper_id,
    identity.work_doi,
    identity.version,
    identity.identity_rule,
    identity.identity_confidence,
    CASE
        WHEN entries.source_kind IN ('arxiv_oai', 'arxiv_api') AND rss_days.rss_day <> entries.day
            THEN entries.day
    END AS derived_day
FROM raw.entries AS entries
INNER JOIN intermediate.paper_identity AS identity
    ON identity.day = entries.day
    AND identity.source_id = entries.source_id
    AND identity.item_index = entries.item_index
LEFT JOIN rss_days
    ON entries.source_kind IN ('arxiv_oai', 'arxiv_api') AND rss_days.arxiv_id = identity.arxiv_id
