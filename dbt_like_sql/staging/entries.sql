/*
description: >
  One row per item per source payload and day, with the identity of the work it describes.
  For arXiv records that only a backfill saw (OAI-PMH or the query API), the day is derived
  from the v1 submission time; where a daily arXiv RSS feed also listed the paper as new,
  the feed's day wins.
materialized: view
depends_on: [raw.entries]
columns:
  paper_id: >
    Identity of the work, strongest rule first: arxiv:<id without version>, doi:<doi>,
    src:<source>:<hash of the source's guid>, title:<hash of title and first-author surname>.
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
        END AS day
    ),
    CASE
        WHEN entries.arxiv_id IS NOT NULL THEN 'arxiv:' || entries.arxiv_id
        WHEN entries.doi IS NOT NULL THEN 'doi:' || entries.doi
        WHEN entries.guid IS NOT NULL AND entries.guid <> ''
            THEN 'src:' || entries.source_id || ':' || left(md5(entries.guid), 16)
        ELSE 'title:' || left(md5(entries.title_key), 16)
    END AS paper_id,
    CASE
        WHEN entries.source_kind IN ('arxiv_oai', 'arxiv_api') AND rss_days.rss_day <> entries.day
            THEN entries.day
    END AS derived_day
FROM raw.entries AS entries
LEFT JOIN rss_days
    ON entries.source_kind IN ('arxiv_oai', 'arxiv_api') AND rss_days.arxiv_id = entries.arxiv_id
