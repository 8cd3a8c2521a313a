/*
description: >
  One row per item per source payload and day, with the work it describes as the identity
  step decided it (intermediate.paper_identity).
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
*/
SELECT
    entries.* REPLACE (
        identity.arxiv_id AS arxiv_id,
        identity.published_doi AS published_doi
    ),
    identity.paper_id,
    identity.work_doi,
    identity.version,
    identity.identity_rule,
    identity.identity_confidence
FROM raw.entries AS entries
INNER JOIN intermediate.paper_identity AS identity USING (day, source_id, item_index)
