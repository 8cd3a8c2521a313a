/*
description: >
  One row per item per source payload and day, with the identity of the work it describes.
materialized: view
depends_on: [raw.entries]
columns:
  paper_id: >
    Identity of the work, strongest rule first: arxiv:<id without version>, doi:<doi>,
    src:<source>:<hash of the source's guid>, title:<hash of title and first-author surname>.
*/
SELECT
    entries.*,
    CASE
        WHEN entries.arxiv_id IS NOT NULL THEN 'arxiv:' || entries.arxiv_id
        WHEN entries.doi IS NOT NULL THEN 'doi:' || entries.doi
        WHEN entries.guid IS NOT NULL AND entries.guid <> ''
            THEN 'src:' || entries.source_id || ':' || left(md5(entries.guid), 16)
        ELSE 'title:' || left(md5(entries.title_key), 16)
    END AS paper_id
FROM raw.entries AS entries
