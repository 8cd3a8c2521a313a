/*
description: >
  One row per relation between a work in the warehouse and another work: a preprint and the
  journal article it became (both directions), and the other Crossref relations. Built from
  bioRxiv/medRxiv's published DOI, arXiv's DOI and journal reference, and Crossref relations.
  A DOI prefix alone never makes a link (10.1101 is bioRxiv's and Cold Spring Harbor's).
materialized: table
depends_on: [staging.entries, intermediate.paper_latest_entry]
tests:
  unique: [[paper_id, relation, related_key]]
  not_null: [paper_id, relation, related_key]
columns:
  paper_id: The work in the warehouse (papers.paper_id).
  relation: >
    published_as (paper_id is a preprint, the related work its published article), preprint
    (paper_id is the article, the related work its preprint), or another Crossref relation
    type as Crossref names it (is-version-of, is-supplement-to, ...).
  related_key: doi:<related DOI>, else ref:<journal reference>, else paper:<related paper_id>.
  related_doi: DOI of the related work, lower-case.
  related_paper_id: The related work's paper_id when it is in the warehouse too.
  related_journal: Journal of the related work, from its own record, else the journal reference.
  related_link: Link to the related work (https://doi.org/<doi>), when its DOI is known.
  journal_ref: Citation of the published version as the authors gave it (arXiv journal_ref).
  evidence: What stated the relation, e.g. bioRxiv published DOI, arXiv DOI, Crossref is-preprint-of.
  source_ids: Sources whose entries stated it.
*/
WITH stated AS (
    -- A preprint names its article: bioRxiv/medRxiv "published", arXiv DOI or journal_ref.
    SELECT
        paper_id,
        'published_as' AS relation,
        published_doi AS related_doi,
        journal_ref,
        CASE
            WHEN arxiv_id IS NOT NULL AND published_doi IS NOT NULL THEN 'arXiv DOI'
            WHEN arxiv_id IS NOT NULL THEN 'arXiv journal_ref'
            WHEN published_doi IS NOT NULL THEN coalesce(journal, source_kind) || ' published DOI'
            ELSE 'journal reference'
        END AS evidence,
        source_id
    FROM staging.entries
    WHERE published_doi IS NOT NULL OR (journal_ref IS NOT NULL AND journal_ref <> '')

    UNION ALL

    -- Crossref relations, stored as "<relation type>:<doi>".
    SELECT
        paper_id,
        CASE split_part(relation, ':', 1)
            WHEN 'is-preprint-of' THEN 'published_as'
            WHEN 'has-preprint' THEN 'preprint'
            ELSE split_part(relation, ':', 1)
        END AS relation,
        substr(relation, strpos(relation, ':') + 1) AS related_doi,
        NULL AS journal_ref,
        'Crossref ' || split_part(relation, ':', 1) AS evidence,
        source_id
    FROM (
        SELECT paper_id, source_id, unnest(relation_dois) AS relation
        FROM staging.entries
        WHERE len(relation_dois) > 0
    )
),

doi_owner AS (
    SELECT work_doi AS doi, min(paper_id) AS paper_id
    FROM staging.entries
    WHERE work_doi IS NOT NULL
    GROUP BY work_doi
),

resolved AS (
    SELECT stated.*, doi_owner.paper_id AS related_paper_id
    FROM stated
    LEFT JOIN doi_owner ON doi_owner.doi = stated.related_doi
    WHERE doi_owner.paper_id IS DISTINCT FROM stated.paper_id
),

both_directions AS (
    SELECT paper_id, relation, related_doi, related_paper_id, journal_ref, evidence, source_id
    FROM resolved

    UNION ALL

    -- The other side of a preprint-article pair, when both works are in the warehouse.
    SELECT
        resolved.related_paper_id AS paper_id,
        CASE resolved.relation WHEN 'published_as' THEN 'preprint' ELSE 'published_as' END AS relation,
        own.work_doi AS related_doi,
        resolved.paper_id AS related_paper_id,
        resolved.journal_ref,
        resolved.evidence,
        resolved.source_id
    FROM resolved
    LEFT JOIN (
        SELECT paper_id, min(work_doi) AS work_doi FROM staging.entries GROUP BY paper_id
    ) AS own ON own.paper_id = resolved.paper_id
    WHERE resolved.related_paper_id IS NOT NULL AND resolved.relation IN ('published_as', 'preprint')
)

SELECT
    links.paper_id,
    links.relation,
    coalesce('doi:' || links.related_doi, 'ref:' || links.journal_ref, 'paper:' || links.related_paper_id) AS related_key,
    links.related_doi,
    any_value(links.related_paper_id) AS related_paper_id,
    coalesce(any_value(related.journal), min(links.journal_ref)) AS related_journal,
    'https://doi.org/' || links.related_doi AS related_link,
    min(links.journal_ref) AS journal_ref,
    list_sort(list_distinct(list(links.evidence))) AS evidence,
    list_sort(list_distinct(list(links.source_id))) AS source_ids
FROM both_directions AS links
LEFT JOIN intermediate.paper_latest_entry AS related ON related.paper_id = links.related_paper_id
GROUP BY links.paper_id, links.relation, links.related_doi, coalesce('doi:' || links.related_doi, 'ref:' || links.journal_ref, 'paper:' || links.related_paper_id)
ORDER BY links.paper_id, links.relation, related_key
