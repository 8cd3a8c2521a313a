"""Identity resolution: which entries describe the same work, and the paper id of each work.

Entries that share an identifier (arXiv id, the work's DOI, a stable link, the source's guid)
are one work, strongest identifier first. Entries left without a strong identifier are then
compared by title and authors with rapidfuzz. A confident match merges and stores its
confidence. An ambiguous match, or a match between works whose identifiers differ, becomes a
row of paper_match_candidates and is never merged.

NOTE: every run resolves all entries of all days again (about 0.1 ms per entry with an
identifier, 1.5 ms per weak entry, see bench/RESULTS.md), so a long history makes the step
slower; resolving only the new day against stored clusters would remove that.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl
from rapidfuzz import fuzz, process

from hub_pipeline.lib.identifiers import (
    ARXIV_DOI_PREFIX,
    arxiv_id_from_doi,
    arxiv_id_from_link,
    canonical_doi,
    doi_from_preprint_link,
    is_preprint_doi,
    normalize_link,
    split_preprint_doi,
)
from hub_pipeline.lib.normalize import clean_text, fold_text, normalize_doi, split_arxiv_id, surname

logger = logging.getLogger(__name__)

IDENTITY_SCHEMA = {
    "day": pl.Date,
    "source_id": pl.Utf8,
    "item_index": pl.Int32,
    "paper_id": pl.Utf8,
    "identity_rule": pl.Utf8,
    "identity_confidence": pl.Float64,
    "arxiv_id": pl.Utf8,
    "work_doi": pl.Utf8,
    "version": pl.Int32,
    "published_doi": pl.Utf8,
    "link_key": pl.Utf8,
}
ALIAS_SCHEMA = {"alias_id": pl.Utf8, "paper_id": pl.Utf8}
CANDIDATE_SCHEMA = {
    "paper_id_a": pl.Utf8,
    "paper_id_b": pl.Utf8,
    "title_a": pl.Utf8,
    "title_b": pl.Utf8,
    "title_score": pl.Float64,
    "author_score": pl.Float64,
    "confidence": pl.Float64,
    "reason": pl.Utf8,
}

# Thresholds of the title-and-author matcher, checked on the labelled pairs in
# tests/data/identity_pairs.csv (bench/identity_pairs.py). Near-equal titles are not enough to
# merge: series and companion papers differ in one word ("Bounded" and "Unbounded", "Part I"
# and "Part II", "complete" and "incomplete"), so a merge needs titles that are equal once
# case, accents, punctuation and spacing are folded away.
SAME_AUTHORS = 0.5  # share of one side's surnames found among the other side's names
POSSIBLE_TITLE = 80.0  # rapidfuzz ratio of the folded titles (0-100) that makes a candidate
MIN_TITLE_WORDS = 4  # shorter titles ("Editorial", "Research highlights") never merge


# --- the matcher ------------------------------------------------------------------------------


_MINUS_SIGN = re.compile(r"\^\{?-\}?|\u2212")


@dataclass(slots=True, frozen=True)
class WorkText:
    """The text of one work that the matcher compares."""

    title: str
    authors: tuple[str, ...]

    @property
    def folded_title(self) -> str:
        return _fold_title(self.title)


@lru_cache(maxsize=100_000)
def _fold_title(title: str) -> str:
    # Folding drops signs, but "O^-" and "O^{+}" name different cases in mathematics.
    text = _MINUS_SIGN.sub(" minus ", clean_text(title)).replace("+", " plus ").replace("±", " plusminus ")
    return fold_text(text)


@dataclass(slots=True, frozen=True)
class MatchResult:
    decision: str  # "same", "possible" or "different"
    title_score: float
    author_score: float
    confidence: float


def _name_tokens(authors: Sequence[str]) -> set[str]:
    tokens: set[str] = set()
    for author in authors:
        tokens.update(word for word in fold_text(author.replace(",", " ")).split() if len(word) > 1)
    return tokens


def _surnames(authors: Sequence[str]) -> list[str]:
    names = [fold_text(surname(author)).replace(" ", "") for author in authors]
    return [name for name in names if name]


def author_score(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of one list's surnames found among all name words of the other, the larger way.

    Comparing surnames with whole names tolerates "Surname, Initials" against "Given Surname"
    and names written in either order. Returns 0.0 when either list is empty.
    """
    surnames_a, surnames_b = _surnames(a), _surnames(b)
    if not surnames_a or not surnames_b:
        return 0.0
    tokens_a, tokens_b = _name_tokens(a), _name_tokens(b)
    tokens_a |= set(surnames_a)
    tokens_b |= set(surnames_b)
    share_a = sum(name in tokens_b for name in surnames_a) / len(surnames_a)
    share_b = sum(name in tokens_a for name in surnames_b) / len(surnames_b)
    return max(share_a, share_b)


def compare(a: WorkText, b: WorkText) -> MatchResult:
    """Decide whether two records without a shared identifier describe the same work.

    "same" needs titles of at least MIN_TITLE_WORDS words that are equal once folded, and
    overlapping authors on both sides. "possible" marks pairs a person should look at: similar titles
    with some shared author, or equal titles with authors missing on one side.
    """
    title_a, title_b = a.folded_title, b.folded_title
    if not title_a or not title_b:
        return MatchResult("different", 0.0, 0.0, 0.0)
    title = float(fuzz.ratio(title_a, title_b))
    authors = author_score(a.authors, b.authors)
    confidence = round(0.75 * title / 100 + 0.25 * authors, 3)
    long_enough = min(len(title_a.split()), len(title_b.split())) >= MIN_TITLE_WORDS
    has_authors = bool(a.authors) and bool(b.authors)
    equal_titles = title_a.replace(" ", "") == title_b.replace(" ", "")

    if equal_titles and authors >= SAME_AUTHORS and long_enough:
        return MatchResult("same", title, authors, confidence)
    if title >= POSSIBLE_TITLE and (authors > 0 or not has_authors):
        return MatchResult("possible", title, authors, confidence)
    if equal_titles:
        return MatchResult("possible", title, authors, confidence)
    return MatchResult("different", title, authors, confidence)


# --- per-entry identifiers ---------------------------------------------------------------------


def _short_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class _Entry:
    row: int
    day: Any
    source_id: str
    item_index: int
    has_abstract: bool
    arxiv_id: str | None
    work_doi: str | None
    version: int | None
    published_doi: str | None
    link_key: str | None
    keys: list[str] = field(default_factory=list)
    natural_id: str = ""
    rule: str = ""


def _version_number(label: Any) -> int | None:
    text = str(label or "").strip().lower().lstrip("v")
    return int(text) if text.isdigit() else None


# The raw.entries columns _read_entry reads; converting only these to Python saves a third of its time.
_READ_COLUMNS = (
    "day", "source_id", "item_index", "has_abstract", "abstract", "link", "arxiv_id", "arxiv_version",
    "doi", "version_label", "published_doi",
)


def _read_entry(position: int, row: dict[str, Any]) -> _Entry:
    """Derive the identifiers of one raw.entries row."""
    raw_doi = normalize_doi(row.get("doi"))
    link = row.get("link")

    arxiv = split_arxiv_id(row.get("arxiv_id")) if row.get("arxiv_id") else None
    arxiv_id = arxiv[0] if arxiv else arxiv_id_from_doi(raw_doi)
    version = row.get("arxiv_version") or _version_number(row.get("version_label"))
    # The link is read for an arXiv id or version only when the row lacks one (parsing it is
    # most of this function's time, and most rows have both).
    link_arxiv = arxiv_id_from_link(link) if arxiv_id is None or version is None else None
    if arxiv_id is None and link_arxiv:
        arxiv_id = link_arxiv[0]

    published = normalize_doi(row.get("published_doi"))
    if arxiv_id:
        work_doi = ARXIV_DOI_PREFIX + arxiv_id
        # The DOI an author puts on an arXiv record is the journal article's, not the preprint's.
        if raw_doi and not arxiv_id_from_doi(raw_doi):
            published = published or raw_doi
        if version is None and link_arxiv and link_arxiv[0] == arxiv_id:
            version = link_arxiv[1]
    else:
        work_doi = canonical_doi(raw_doi)
        preprint = split_preprint_doi(raw_doi)
        from_link = doi_from_preprint_link(link)
        if work_doi is None and from_link:
            work_doi = canonical_doi(from_link[0])
        if version is None:
            version = (preprint[1] if preprint else None) or (from_link[1] if from_link else None)

    return _Entry(
        row=position,
        day=row["day"],
        source_id=sys.intern(row["source_id"]),
        item_index=row["item_index"],
        has_abstract=bool(row["has_abstract"] if "has_abstract" in row else row.get("abstract")),
        arxiv_id=arxiv_id,
        work_doi=work_doi,
        version=version,
        published_doi=published if published != work_doi else None,
        link_key=normalize_link(link),
    )


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    return frame[name] if name in frame.columns else pl.Series(name, [None] * frame.height, dtype=pl.Utf8)


def _assign_keys(entries: list[_Entry], guids: pl.Series, title_keys: pl.Series) -> None:
    """Give each entry its identity keys, strongest first, and the id it would have alone.

    A link counts only when no other item of the same payload has it, because some feeds
    point every item at the journal's home page. The guid counts only without a link, so a
    journal feed that changes its guids between days still keys the item by its link.
    """
    # Counted only for the links of entries without an arXiv id, the only ones keyed by link.
    link_uses: dict[tuple[Any, str, str], int] = {
        (entry.day, entry.source_id, entry.link_key): 0 for entry in entries if entry.link_key and not entry.arxiv_id
    }
    for entry in entries:
        if entry.link_key:
            place = (entry.day, entry.source_id, entry.link_key)
            if place in link_uses:
                link_uses[place] += 1

    # guid and title key are read per entry only when it has no stronger key, as a list of
    # each would hold a string per entry.
    for entry in entries:
        stable_link = entry.link_key if entry.link_key and link_uses.get((entry.day, entry.source_id, entry.link_key)) == 1 else None
        if entry.arxiv_id:
            key = f"arxiv:{entry.arxiv_id}"
            entry.keys.append(key)
            entry.natural_id, entry.rule = key, "arxiv"
        if entry.work_doi:
            entry.keys.append(f"doi:{entry.work_doi}")
            if not entry.natural_id:
                entry.natural_id, entry.rule = f"doi:{entry.work_doi}", "doi"
        if stable_link and not entry.arxiv_id:
            entry.keys.append(f"url:{stable_link}")
            if not entry.natural_id:
                entry.natural_id, entry.rule = f"url:{_short_hash(stable_link)}", "link"
        guid = "" if entry.natural_id else (guids[entry.row] or "").strip()
        if not entry.natural_id and guid:
            entry.keys.append(f"guid:{entry.source_id}:{guid}")
            entry.natural_id, entry.rule = f"src:{entry.source_id}:{_short_hash(guid)}", "guid"
        if not entry.natural_id:
            key = title_keys[entry.row] or ""
            entry.keys.append(f"title:{key}")
            entry.natural_id, entry.rule = f"title:{_short_hash(key)}", "title"


# --- clusters ----------------------------------------------------------------------------------


_NO_IDS: frozenset[str] = frozenset()


class _IdSets:
    """The arXiv ids (or DOIs) of each cluster, by root: stored only for merged clusters.

    A cluster of one entry has its entry's own id, so a set per entry (about 200 bytes each,
    60 MB for a year of arXiv) is built only when asked for.
    """

    def __init__(self, entries: list[_Entry], own_id: Callable[[_Entry], str | None]) -> None:
        self._entries = entries
        self._own_id = own_id
        self._merged: dict[int, frozenset[str]] = {}

    def __getitem__(self, root: int) -> frozenset[str]:
        merged = self._merged.get(root)
        if merged is not None:
            return merged
        identifier = self._own_id(self._entries[root])
        return frozenset((identifier,)) if identifier else _NO_IDS

    def __setitem__(self, root: int, ids: frozenset[str]) -> None:
        self._merged[root] = ids


class _Clusters:
    """Union-find over entries that refuses to join two different arXiv ids or two DOIs."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.parent = list(range(len(entries)))
        self.arxiv = _IdSets(entries, lambda e: e.arxiv_id)
        self.dois = _IdSets(entries, lambda e: e.work_doi if not e.arxiv_id else None)

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def conflict(self, a: int, b: int) -> str | None:
        ra, rb = self.find(a), self.find(b)
        if self.arxiv[ra] and self.arxiv[rb] and self.arxiv[ra] != self.arxiv[rb]:
            return "different arXiv ids"
        if self.dois[ra] and self.dois[rb] and self.dois[ra] != self.dois[rb]:
            return "different DOIs"
        return None

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.arxiv[ra] |= self.arxiv[rb]
        self.dois[ra] |= self.dois[rb]


@dataclass(slots=True)
class Resolution:
    """The outcome of resolving every entry: one identity row per entry, aliases, candidates."""

    identity: pl.DataFrame
    aliases: pl.DataFrame
    candidates: pl.DataFrame
    fuzzy_merges: int = 0


def _representative(members: list[_Entry]) -> _Entry:
    """Pick the entry whose text stands for the cluster: highest version, latest day, abstract."""
    return max(
        members,
        key=lambda e: (e.version or 0, str(e.day), e.has_abstract, -e.item_index),
    )


def _blocks(text: WorkText) -> list[str]:
    words = [word for word in text.folded_title.split() if len(word) > 2]
    keys = []
    if len(words) >= 2:
        keys.append("t:" + " ".join(words[:3]))
    surnames = _surnames(text.authors)
    if surnames:
        keys.append("a:" + surnames[0])
    return keys


def resolve(entries_frame: pl.DataFrame) -> Resolution:
    """Assign a paper id to every raw.entries row; return identities, aliases and candidates."""
    # Rows are read one at a time: a list of every row as a dict would double the step's memory.
    read = [name for name in _READ_COLUMNS if name in entries_frame.columns]
    entries = [_read_entry(position, row) for position, row in enumerate(entries_frame.select(read).iter_rows(named=True))]
    _assign_keys(entries, _column(entries_frame, "guid"), _column(entries_frame, "title_key"))

    clusters = _Clusters(entries)
    first_holder: dict[str, int] = {}
    conflicts: list[tuple[int, int, str]] = []
    for entry in entries:
        for key in entry.keys:
            holder = first_holder.setdefault(key, entry.row)
            if holder == entry.row:
                continue
            reason = clusters.conflict(holder, entry.row)
            if reason:
                conflicts.append((holder, entry.row, f"share {key.split(':', 1)[0]} but have {reason}"))
            else:
                clusters.union(holder, entry.row)

    fuzzy_confidence: dict[int, float] = {}
    candidates: list[tuple[int, int, MatchResult, str]] = []
    titles, author_lists = entries_frame["title"], entries_frame["authors"]

    def text_of(row: int) -> WorkText:
        names = author_lists[row]
        return WorkText(titles[row] or "", tuple(names.to_list() if isinstance(names, pl.Series) else names or ()))

    merges = _match_weak_clusters(entries, clusters, fuzzy_confidence, candidates, text_of)
    texts = _texts(entries, clusters, text_of, {clusters.find(item) for a, b, _ in conflicts for item in (a, b)}) if conflicts else {}
    for a, b, reason in conflicts:
        result = compare(texts[clusters.find(a)], texts[clusters.find(b)])
        candidates.append((a, b, result, reason))

    return _build_frames(entries, clusters, fuzzy_confidence, candidates, merges, text_of)


def _members(entries: list[_Entry], clusters: _Clusters) -> dict[int, list[_Entry]]:
    members: dict[int, list[_Entry]] = defaultdict(list)
    for entry in entries:
        members[clusters.find(entry.row)].append(entry)
    return members


def _texts(
    entries: list[_Entry], clusters: _Clusters, text_of: Callable[[int], WorkText], roots: set[int] | None = None
) -> dict[int, WorkText]:
    """Return the text of each cluster's representative entry (of the clusters of ``roots``
    when given), by cluster root."""
    texts = {}
    if roots is not None:
        entries = [entry for entry in entries if clusters.find(entry.row) in roots]
    for root, group in _members(entries, clusters).items():
        chosen = _representative(group)
        texts[root] = text_of(chosen.row)
    return texts


def _kind(clusters: _Clusters, root: int) -> str:
    if clusters.arxiv[root]:
        return "arxiv"
    if clusters.dois[root]:
        return "doi"
    return "weak"


def _is_preprint(clusters: _Clusters, item: int) -> bool:
    return any(is_preprint_doi(doi) for doi in clusters.dois[clusters.find(item)])


def _match_weak_clusters(
    entries: list[_Entry],
    clusters: _Clusters,
    fuzzy_confidence: dict[int, float],
    candidates: list[tuple[int, int, MatchResult, str]],
    text_of: Callable[[int], WorkText],
) -> int:
    """Merge each cluster without arXiv id or DOI into the one work it matches by text.

    Also records as candidates the pairs of a preprint (arXiv id or preprint DOI) and an
    article DOI whose text matches: they may be one work's preprint and article, which stay
    two records.
    """
    members = _members(entries, clusters)
    if all(_kind(clusters, root) == "arxiv" for root in members):
        return 0
    texts = _texts(entries, clusters, text_of)
    blocks: dict[str, list[int]] = defaultdict(list)
    for root, text in texts.items():
        for key in _blocks(text):
            blocks[key].append(root)

    merges = 0
    for root in sorted(texts, key=lambda r: members[r][0].natural_id):
        if clusters.find(root) != root:
            continue  # already merged into a work matched earlier
        kind = _kind(clusters, root)
        if kind == "arxiv":
            continue
        block_mates = {other for key in _blocks(texts[root]) for other in blocks[key] if other != root}
        # compare() calls nothing below POSSIBLE_TITLE a candidate, so rapidfuzz can drop those
        # pairs first, in C; blocks of common surnames hold thousands of works.
        close = process.extract(
            texts[root].folded_title,
            {other: texts[other].folded_title for other in block_mates},
            scorer=fuzz.ratio,
            score_cutoff=POSSIBLE_TITLE,
            limit=None,
        )
        same: list[tuple[int, MatchResult]] = []
        for other in sorted(key for _, _, key in close):
            other_kind = _kind(clusters, clusters.find(other))
            if kind == "doi" and other_kind == "weak":
                continue  # the weak cluster compares itself with this one
            if kind == "doi" and other_kind == "doi" and _is_preprint(clusters, root) == _is_preprint(clusters, other):
                continue  # two articles, or two preprints, are told apart by their DOIs alone
            result = compare(texts[root], texts[other])
            if result.decision == "same" and kind == "weak":
                same.append((other, result))
            elif result.decision == "same":
                candidates.append((root, other, result, "same title and authors but different identifiers"))
            elif result.decision == "possible":
                candidates.append((root, other, result, "similar title or authors; not merged"))
        if not same:
            continue
        targets = {clusters.find(other) for other, _ in same}
        if len(targets) > 1:
            for other, result in same:
                candidates.append((root, other, result, "matches more than one work; not merged"))
            continue
        # NOTE: a journal item without DOI that is the published version of an arXiv preprint
        # joins the preprint here, because title and authors cannot tell the two apart.
        other, result = max(same, key=lambda pair: pair[1].confidence)
        if clusters.conflict(root, other):
            candidates.append((root, other, result, "matches a work with different identifiers; not merged"))
            continue
        for entry in members[root]:
            fuzzy_confidence[entry.row] = result.confidence
        clusters.union(root, other)
        merges += 1
    return merges


def _paper_id(group: list[_Entry], clusters: _Clusters, root: int) -> str:
    if clusters.arxiv[root]:
        return "arxiv:" + min(clusters.arxiv[root])
    if clusters.dois[root]:
        return "doi:" + min(clusters.dois[root])
    earliest = min(group, key=lambda e: (str(e.day), e.source_id, e.item_index))
    return earliest.natural_id


def _build_frames(
    entries: list[_Entry],
    clusters: _Clusters,
    fuzzy_confidence: dict[int, float],
    candidates: list[tuple[int, int, MatchResult, str]],
    merges: int,
    text_of: Callable[[int], WorkText],
) -> Resolution:
    members = _members(entries, clusters)
    paper_ids = {root: _paper_id(group, clusters, root) for root, group in members.items()}

    identity_columns: dict[str, list] = {name: [] for name in IDENTITY_SCHEMA}
    aliases: set[tuple[str, str]] = set()
    for entry in entries:
        paper_id = paper_ids[clusters.find(entry.row)]
        fuzzy = entry.row in fuzzy_confidence
        for name, value in (
            ("day", entry.day),
            ("source_id", entry.source_id),
            ("item_index", entry.item_index),
            ("paper_id", paper_id),
            ("identity_rule", "fuzzy" if fuzzy else entry.rule),
            ("identity_confidence", fuzzy_confidence.get(entry.row, 1.0)),
            ("arxiv_id", entry.arxiv_id),
            ("work_doi", entry.work_doi),
            ("version", entry.version),
            ("published_doi", entry.published_doi),
            ("link_key", entry.link_key),
        ):
            identity_columns[name].append(value)
        if entry.natural_id != paper_id:
            aliases.add((entry.natural_id, paper_id))

    texts = _texts(entries, clusters, text_of, {clusters.find(item) for a, b, _, _ in candidates for item in (a, b)}) if candidates else {}
    candidate_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for a, b, result, reason in candidates:
        id_a, id_b = paper_ids[clusters.find(a)], paper_ids[clusters.find(b)]
        if id_a == id_b:
            continue
        text_a, text_b = texts[clusters.find(a)], texts[clusters.find(b)]
        if id_b < id_a:
            id_a, id_b, text_a, text_b = id_b, id_a, text_b, text_a
        candidate_rows.setdefault(
            (id_a, id_b),
            {
                "paper_id_a": id_a,
                "paper_id_b": id_b,
                "title_a": text_a.title,
                "title_b": text_b.title,
                "title_score": result.title_score,
                "author_score": result.author_score,
                "confidence": result.confidence,
                "reason": reason,
            },
        )

    return Resolution(
        identity=pl.DataFrame(identity_columns, schema=IDENTITY_SCHEMA),
        aliases=pl.DataFrame(sorted(aliases), schema=ALIAS_SCHEMA, orient="row"),
        candidates=pl.DataFrame(
            [candidate_rows[key] for key in sorted(candidate_rows)], schema=CANDIDATE_SCHEMA
        ),
        fuzzy_merges=merges,
    )


def resolve_rows(rows: Iterable[dict[str, Any]]) -> Resolution:
    """Resolve plain dict rows (tests and benchmarks); see resolve()."""
    return resolve(pl.DataFrame(list(rows)))
