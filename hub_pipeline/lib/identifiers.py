"""Canonical identifiers of works: arXiv ids, preprint DOIs without versions, stable links.

Pure functions over strings and over the parsed fields of API records: the bioRxiv/medRxiv
API, Crossref works, the arXiv API, OAI-PMH and the Kaggle snapshot. Every parser calls them,
so all sources state a work's identifiers the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hub_pipeline.lib.normalize import clean_text, find_doi, normalize_doi, split_arxiv_id

# arXiv registers a DataCite DOI for every paper: 10.48550/arXiv.<id>.
ARXIV_DOI_PREFIX = "10.48550/arxiv."

# Preprint servers whose DOIs carry the version, and how to split it off. 10.1101 is shared
# with Cold Spring Harbor's journals (10.1101/gr..., 10.1101/gad...), so only the preprint
# shapes count: a six-digit number (2013-2019) or yyyy.mm.dd.number (from December 2019).
# bioRxiv moved to the prefix 10.64898 in 2026 with the same suffix shape.
_PREPRINT_DOI_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bioRxiv/medRxiv", re.compile(r"^(?P<work>10\.(?:1101|64898)/(?:\d{6}|\d{4}\.\d{2}\.\d{2}\.\d{6,8}))(?:v(?P<version>\d+))?$")),
    ("ESS Open Archive", re.compile(r"^(?P<work>10\.1002/essoar\.\d+)(?:\.(?P<version>\d+))?$")),
    ("Preprints.org", re.compile(r"^(?P<work>10\.20944/preprints\d{6}\.\d{4})(?:\.v(?P<version>\d+))?$")),
    ("Research Square", re.compile(r"^(?P<work>10\.21203/rs\.3\.rs-\d+)(?:/v(?P<version>\d+))?$")),
    ("SSRN", re.compile(r"^(?P<work>10\.2139/ssrn\.\d+)$")),
    ("arXiv", re.compile(r"^(?P<work>10\.48550/arxiv\.\S+?)(?:v(?P<version>\d+))?$")),
)

_VERSION_IN_PATH = re.compile(r"v(\d+)(?:\.full(?:\.pdf|-text)?)?/?$", re.IGNORECASE)
_BIORXIV_CGI = re.compile(r"/cgi/content/(?:short|abstract|full)/(\d{6,})v\d+", re.IGNORECASE)
_PREPRINT_HOSTS = ("biorxiv.org", "medrxiv.org")
# The suffix a bioRxiv or medRxiv link adds to the DOI: the version and the full-text page.
_LINK_SUFFIX = re.compile(r"(?:v\d+)?(?:\.full(?:\.pdf|-text)?)?$", re.IGNORECASE)

# Query parameters that name the feed or the visit, not the item. Any other query parameter is
# kept, because some publishers identify an article by it (?id=..., ?doi=...).
_TRACKING_PARAMETERS = frozenset(
    "rss af utm_source utm_medium utm_campaign utm_content utm_term cmp feed feedtype".split()
)


def split_preprint_doi(doi: str | None) -> tuple[str, int | None] | None:
    """Split a preprint server's DOI into the work's DOI and the version it names.

    Returns None for any DOI that is not a known preprint shape, so journal DOIs under the
    same prefix (10.1101/gr.279524.124 of Genome Research) are never taken for preprints.
    """
    normalized = normalize_doi(doi)
    if normalized is None:
        return None
    for _, rule in _PREPRINT_DOI_RULES:
        match = rule.match(normalized)
        if match:
            version = match.groupdict().get("version")
            return match.group("work"), int(version) if version else None
    return None


def is_preprint_doi(doi: str | None) -> bool:
    return split_preprint_doi(doi) is not None


def canonical_doi(doi: str | None) -> str | None:
    """Return the DOI of the work: normalized, with a preprint server's version removed."""
    normalized = normalize_doi(doi)
    if normalized is None:
        return None
    preprint = split_preprint_doi(normalized)
    return preprint[0] if preprint else normalized


def arxiv_id_from_doi(doi: str | None) -> str | None:
    """Return the arXiv id of an arXiv DataCite DOI (10.48550/arXiv.2406.12345), else None."""
    normalized = normalize_doi(doi)
    if normalized is None or not normalized.startswith(ARXIV_DOI_PREFIX):
        return None
    identifier = split_arxiv_id(normalized[len(ARXIV_DOI_PREFIX) - len("arxiv.") :])
    return identifier[0] if identifier else None


def arxiv_id_from_link(link: str | None) -> tuple[str, int | None] | None:
    """Return (arXiv id, version) of an arxiv.org abs or pdf link, else None."""
    if not link:
        return None
    parts = urlsplit(link.strip())
    host = parts.netloc.lower()
    if not (host == "arxiv.org" or host.endswith(".arxiv.org")):
        return None
    return split_arxiv_id(parts.path)


def doi_from_preprint_link(link: str | None) -> tuple[str, int | None] | None:
    """Read the DOI and version from a bioRxiv or medRxiv link.

    Handles current links (/content/10.1101/2020.03.20.000141v2) and the old cgi links of
    the RSS feeds (/cgi/content/short/743294v1), whose number is the DOI suffix.
    """
    if not link:
        return None
    parts = urlsplit(link.strip())
    host = parts.netloc.lower()
    if not any(host == h or host.endswith("." + h) for h in _PREPRINT_HOSTS):
        return None
    version_match = _VERSION_IN_PATH.search(parts.path)
    version = int(version_match.group(1)) if version_match else None
    old = _BIORXIV_CGI.search(parts.path)
    if old:
        return f"10.1101/{old.group(1)}", version
    doi = find_doi(link)
    if doi is None:
        return None
    return canonical_doi(_LINK_SUFFIX.sub("", doi)), version


def version_label_from_link(link: str | None) -> str | None:
    """Return the "vN" a preprint link ends with (bioRxiv, medRxiv, arXiv), else None."""
    if not link:
        return None
    match = _VERSION_IN_PATH.search(urlsplit(link.strip()).path)
    return f"v{match.group(1)}" if match else None


def normalize_link(link: str | None) -> str | None:
    """Reduce an item link to a stable form that names the article, not the visit.

    Lower-cases the scheme and host, drops "www.", the fragment, a trailing slash and the
    feed's tracking parameters (?rss=1, ?af=R, utm_*), and treats http and https as one.
    Returns None for anything that is not an http(s) link.
    """
    if not link:
        return None
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.lower()
    if host.startswith("www."):
        host = host[4:]
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and pair.split("=", 1)[0].lower() not in _TRACKING_PARAMETERS
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


# --- identifiers stated by API records --------------------------------------------------------


@dataclass(slots=True)
class WorkIdentifiers:
    """Identifiers one record states about its work, in the form raw.entries stores them."""

    doi: str | None = None  # DOI of the record's own work, normalized, preprint version removed
    version_label: str | None = None  # the version the record describes, e.g. "v2"
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    published_doi: str | None = None  # DOI of the journal article a preprint became
    journal_ref: str | None = None  # citation of the published version, as the author wrote it
    relation_dois: list[str] = field(default_factory=list)  # "<crossref relation>:<doi>"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def biorxiv_api_identifiers(record: Mapping[str, Any]) -> WorkIdentifiers:
    """Read a record of api.biorxiv.org/details (bioRxiv or medRxiv) into its identifiers.

    "published" holds the journal article's DOI once the preprint is published, and "NA"
    before that.
    """
    version = _text(record.get("version"))
    published = _text(record.get("published"))
    return WorkIdentifiers(
        doi=canonical_doi(_text(record.get("doi"))),
        version_label=f"v{version}" if version and version.isdigit() else version,
        published_doi=normalize_doi(published) if published and published.upper() != "NA" else None,
    )


# Crossref relation types that link a preprint and its article (the others are kept verbatim).
PREPRINT_OF = "is-preprint-of"
HAS_PREPRINT = "has-preprint"


def crossref_identifiers(work: Mapping[str, Any]) -> WorkIdentifiers:
    """Read a Crossref work (one item of api.crossref.org/works) into its identifiers.

    Every relation whose target is a DOI becomes "<relation type>:<doi>", e.g.
    "is-preprint-of:10.1029/2020ms002386". Relations to other id types are left out.
    """
    relations: list[str] = []
    for relation_type, targets in sorted((work.get("relation") or {}).items()):
        for target in targets or []:
            if not isinstance(target, Mapping) or str(target.get("id-type", "")).lower() != "doi":
                continue
            doi = normalize_doi(str(target.get("id", "")))
            if doi:
                relations.append(f"{relation_type}:{doi}")
    doi = normalize_doi(_text(work.get("DOI")))
    preprint = split_preprint_doi(doi)
    return WorkIdentifiers(
        doi=preprint[0] if preprint else doi,
        version_label=f"v{preprint[1]}" if preprint and preprint[1] else None,
        relation_dois=sorted(set(relations)),
    )


def arxiv_metadata_identifiers(
    identifier: str | None, *, doi: str | None = None, journal_ref: str | None = None
) -> WorkIdentifiers:
    """Read arXiv metadata into identifiers: the id with its version, DOI and journal reference.

    Serves the arXiv API (<id>, <arxiv:doi>, <arxiv:journal_ref>), OAI-PMH (<id>, <doi>,
    <journal-ref>) and the Kaggle snapshot ("id", "doi", "journal-ref"). The DOI an author
    gives on arXiv is the published article's, so it becomes published_doi, never the work's
    DOI. Several DOIs separated by spaces keep the first.
    """
    split = split_arxiv_id(identifier)
    published = None
    for candidate in (doi or "").split():
        published = normalize_doi(candidate)
        if published:
            break
    arxiv_id = split[0] if split else None
    if published and arxiv_id_from_doi(published):
        published = None
    return WorkIdentifiers(
        doi=f"{ARXIV_DOI_PREFIX}{arxiv_id}" if arxiv_id else None,
        arxiv_id=arxiv_id,
        arxiv_version=split[1] if split else None,
        version_label=f"v{split[1]}" if split and split[1] else None,
        published_doi=published,
        journal_ref=_text(journal_ref),
    )
