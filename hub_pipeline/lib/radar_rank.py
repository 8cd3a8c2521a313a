"""Rank many radars over many papers at once: BM25 on the query's terms plus a semantic score.

The per-paper matcher in ``matching.py`` runs every radar's regular expressions on every paper
in Python, which is fine for a day of a few hundred papers and a handful of radars but grows as
papers x radars. Here the work is shared instead:

1. Every field of every paper is folded once (lower case, every run of non-word characters
   becomes one space, a space at each end), so a word boundary is a space.
2. Every query term of every radar becomes a few literal patterns on that folded text. A word
   gets its English plural endings (" model ", " models ", " modeles "), a prefix loses the
   closing space (" diffus"), and a phrase keeps single spaces. A Chinese term stays bare, so
   it matches as a substring. The English phrases of a radar's glossary are added for it.
3. One Aho-Corasick pass per field (polars ``str.extract_many``) finds all patterns of all
   radars in all papers; the hits become a sparse papers x terms count matrix.
4. Each radar's boolean query is then evaluated on whole columns of booleans, and its lexical
   score is a sparse product of BM25 weights (k1 = 1.2, b = 0.75, per field, weighted by field),
   summed over the branches each matched paper met when an AND sits inside an OR.
5. The semantic score is a matrix product of paper embeddings with the radar's seed,
   description and negative embeddings.

Reasons (terms and fields that hit, the followed author, the nearest seed and its similarity,
or that the paper is one of the radar's seeds) are built only for the papers a radar keeps.
A term is named, and counts in the BM25 sum, only when the query matched through it, as in
``radar_query.evaluate``: under ``(diffusion AND protein*) OR "flow matching"``, "diffusion"
does nothing for a paper without proteins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse

from hub_pipeline.lib.config import RadarConfig
from hub_pipeline.lib.matching import AuthorName, author_name
from hub_pipeline.lib.radar_query import FIELDS, Node, parse_query

FIELD_WEIGHTS = {"title": 2.0, "abstract": 1.0, "authors": 1.0, "categories": 0.3}
FIELD_LABELS = {"title": "title", "abstract": "abstract", "authors": "author", "categories": "category"}
TEXT_FIELDS = tuple(FIELDS.values())  # title, abstract, authors, categories
BM25_K1 = 1.2
BM25_B = 0.75
# The lexical score is squashed into [0, 1) by bm25 / (bm25 + LEXICAL_HALF): a paper whose
# weighted BM25 sum equals LEXICAL_HALF gets 0.5. One title hit of a mid-frequency term is ~6.
LEXICAL_HALF = 8.0
# Share of the semantic score in the combined score when a radar has a semantic profile.
# The query is what the reader wrote, so the semantic side mostly re-orders its matches. At
# 0.6, papers with one weak term hit that sat near a single seed outranked strong query
# matches. 0.3 was chosen on the labelled set in tests/data/radar_relevance after seeing its
# labels, and bench/RESULTS.md shows the per-day check.
SEMANTIC_SHARE = 0.3
# The semantic reason of a paper that is one of the radar's seeds, in place of its nearest seed.
SEED_PAPER_REASON = "one of this radar's seed papers"
# The reason of a paper that misses the query and is kept by min_similarity; the semantic
# reasons after it name what it is similar to. Rows from earlier versions hold the older text.
NO_QUERY_TERM_REASON = "no query term; kept for its similarity"
OLD_NO_QUERY_TERM_REASON = "no query term; close to the radar's seeds"
# The reasons radar_check adds to the papers the chat model judged, each followed by
# " (<the model's explanation>)" when it gave one.
ON_TOPIC_REASON = "model check: on topic"
OFF_TOPIC_REASON = "model check: off topic"

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NON_WORD = r"[\W_]+"


@dataclass(frozen=True, slots=True)
class SeedPaper:
    """A seed or negative paper of a radar, with the text its embedding was made from."""

    paper_id: str
    title: str


@dataclass(slots=True)
class SemanticProfile:
    """A radar's semantic side: unit vectors of its seeds (and description) and negatives."""

    positives: np.ndarray  # (k, d) float32, unit rows
    positive_labels: list[str]  # one per row: a paper id, or "description"
    negatives: np.ndarray  # (m, d) float32, unit rows; m may be 0
    negative_labels: list[str]
    titles: dict[str, str] = field(default_factory=dict)  # paper id -> title, for reasons


@dataclass(slots=True)
class RankedMatch:
    radar_id: str
    paper_id: str
    score: float
    rank: int
    reasons: list[str]
    lexical: float
    semantic: float | None


@dataclass(frozen=True, slots=True)
class _Slot:
    """One query term in one field: a column of the papers x terms matrix."""

    key: str
    field: str


@dataclass(slots=True)
class _CompiledRadar:
    radar: RadarConfig
    tree: Node
    slots: list[int]  # slot ids of the terms that count for the score (not under NOT)
    slot_terms: dict[int, str]  # slot id -> term as written, for reasons
    node_slots: dict[int, list[int]] = field(default_factory=dict)  # id(term node) -> its slot ids
    # Whether an AND sits below an OR: only then can a term hit a matched paper without counting,
    # so only then must the score and the reasons follow the query's branches.
    and_under_or: bool = False


def fold_text(expression: pl.Expr) -> pl.Expr:
    """Fold a text column the way query patterns are folded: lower case, spaces as boundaries."""
    return pl.concat_str([pl.lit(" "), expression.fill_null("").str.to_lowercase().str.replace_all(_NON_WORD, " "), pl.lit(" ")])


def _fold_term(text: str) -> str:
    return re.sub(_NON_WORD, " ", text.lower()).strip()


def term_patterns(text: str, glossary: dict[str, list[str]] | None = None) -> list[str]:
    """Literal patterns on folded text that a query term (without scope or quotes) matches."""
    patterns = _patterns_for(text)
    for alias in (glossary or {}).get(text, []):
        patterns.extend(_patterns_for(alias))
    return sorted(set(patterns))


def _patterns_for(text: str) -> list[str]:
    prefix = text.rstrip().endswith("*")
    folded = _fold_term(text.rstrip().rstrip("*"))
    if not folded:
        return []
    if _CJK.search(folded):
        return [folded]  # Chinese has no spaces between words: match as a substring
    if prefix:
        return [" " + folded]
    return [" " + folded + ending + " " for ending in ("", "s", "es")]


class PaperIndex:
    """The papers of one ranking run, folded once, with their lengths and filter columns."""

    def __init__(self, papers: pl.DataFrame) -> None:
        self.paper_ids: list[str] = papers["paper_id"].to_list()
        self.size = papers.height
        self.folded = papers.select(
            fold_text(pl.col("title")).alias("title"),
            fold_text(pl.col("abstract")).alias("abstract"),
            fold_text(pl.col("authors").list.join("; ")).alias("authors"),
            fold_text(pl.col("categories").list.join(" ")).alias("categories"),
        )
        lengths = self.folded.select(
            (pl.col(name).str.count_matches(" ") - 1).clip(lower_bound=0).alias(name) for name in TEXT_FIELDS
        )
        self.lengths = {name: lengths[name].to_numpy().astype(np.float32) for name in TEXT_FIELDS}
        self._papers = papers
        self._categories: dict[str, np.ndarray] | None = None
        self._sources: dict[str, np.ndarray] | None = None
        self._authors: dict[tuple[str, str], list[tuple[AuthorName, np.ndarray]]] | None = None

    def with_values(self, column: str, values: Sequence[str]) -> np.ndarray:
        """Return a mask of the papers whose list column ``column`` contains one of ``values``."""
        cache = {"categories": "_categories", "source_ids": "_sources"}[column]
        if getattr(self, cache) is None:
            setattr(self, cache, self._positions(column, lambda value: value))
        return self._any_of(getattr(self, cache), values)

    def authors_of(self, row: int) -> list[str]:
        return self._papers["authors"][row].to_list()

    def with_authors(self, names: Sequence[str]) -> np.ndarray:
        """Return a mask of the papers with an author who is one of ``names`` (AuthorName.same_person)."""
        if self._authors is None:
            # Each distinct name is parsed once; a long history repeats most names many times.
            grouped = (
                self._papers.select(pl.col("authors")).with_row_index("row").explode("authors")
                .drop_nulls("authors").group_by("authors").agg(pl.col("row"))
            )
            self._authors = {}
            for name, rows in zip(grouped["authors"].to_list(), grouped["row"].to_list(), strict=True):
                parsed = author_name(name)
                self._authors.setdefault(parsed.key, []).append((parsed, np.asarray(rows, dtype=np.int64)))
        mask = np.zeros(self.size, dtype=bool)
        for followed in map(author_name, names):
            for parsed, rows in self._authors.get(followed.key, []):
                if followed.same_person(parsed):
                    mask[rows] = True
        return mask

    def _positions(self, column: str, key) -> dict:
        exploded = (
            self._papers.select(pl.col(column)).with_row_index("row").explode(column).drop_nulls(column)
        )
        groups: dict = {}
        for row, value in zip(exploded["row"].to_list(), exploded[column].to_list(), strict=True):
            groups.setdefault(key(value), []).append(row)
        return {value: np.asarray(rows, dtype=np.int64) for value, rows in groups.items()}

    def _any_of(self, positions: dict, values: Sequence) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        for value in values:
            rows = positions.get(value)
            if rows is not None:
                mask[rows] = True
        return mask


class RadarRanker:
    """Compile radars once; rank them over a PaperIndex with optional paper embeddings."""

    def __init__(self, radars: Sequence[RadarConfig]) -> None:
        self._slot_ids: dict[_Slot, int] = {}
        self._slot_patterns: list[list[str]] = []
        self._slot_fields: dict[int, str] | None = None
        self.compiled = [self._compile(radar) for radar in radars]

    def _compile(self, radar: RadarConfig) -> _CompiledRadar:
        tree = parse_query(radar.query)
        compiled = _CompiledRadar(radar, tree, [], {})
        self._attach(tree, compiled, negated=False)
        compiled.slots = sorted(set(compiled.slots))
        compiled.and_under_or = _and_under_or(tree, below_or=False)
        return compiled

    def _attach(self, node: Node, compiled: _CompiledRadar, negated: bool) -> None:
        if node.kind != "term":
            for child in node.children:
                self._attach(child, compiled, negated or node.kind == "not")
            return
        glossary = compiled.radar.glossary
        patterns = term_patterns(node.term, glossary)
        key = "\x1f".join(patterns)
        ids = []
        for field_name in node.fields:
            slot = _Slot(key, field_name)
            if slot not in self._slot_ids:
                self._slot_ids[slot] = len(self._slot_patterns)
                self._slot_patterns.append(patterns)
            ids.append(self._slot_ids[slot])
            aliases = glossary.get(node.term)
            compiled.slot_terms[self._slot_ids[slot]] = f"{node.term} ({' / '.join(aliases)})" if aliases else node.term
        compiled.node_slots[id(node)] = ids
        if not negated:
            compiled.slots.extend(ids)

    def term_counts(self, index: PaperIndex) -> sparse.csc_matrix:
        """Count every slot's patterns in its field for every paper: papers x slots."""
        slots = list(self._slot_ids.items())
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for field_name in TEXT_FIELDS:
            pattern_slots: dict[str, list[int]] = {}
            for slot, slot_id in slots:
                if slot.field == field_name:
                    for pattern in self._slot_patterns[slot_id]:
                        pattern_slots.setdefault(pattern, []).append(slot_id)
            if not pattern_slots or index.size == 0:
                continue
            patterns = sorted(pattern_slots)
            hits = (
                index.folded.select(pl.col(field_name).str.extract_many(patterns, overlapping=True).alias("pattern"))
                .with_row_index("row")
                .explode("pattern")
                .drop_nulls("pattern")
                .group_by("row", "pattern")
                .len()
            )
            if hits.height == 0:
                continue
            mapping = pl.DataFrame(
                [(pattern, slot_id) for pattern, ids in pattern_slots.items() for slot_id in ids],
                schema={"pattern": pl.Utf8, "slot": pl.Int64},
                orient="row",
            )
            joined = hits.join(mapping, on="pattern").group_by("row", "slot").agg(pl.col("len").sum())
            rows.append(joined["row"].to_numpy())
            cols.append(joined["slot"].to_numpy())
            vals.append(joined["len"].to_numpy().astype(np.float32))
        shape = (index.size, len(self._slot_patterns))
        if not rows:
            return sparse.csc_matrix(shape, dtype=np.float32)
        return sparse.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape, dtype=np.float32
        )

    def bm25(self, counts: sparse.csc_matrix, index: PaperIndex) -> sparse.csc_matrix:
        """BM25 weight of every (paper, slot) hit, times the slot's field weight."""
        weights = counts.copy().tocoo()
        if weights.nnz == 0:
            return counts
        slot_fields = [slot.field for slot, _ in sorted(self._slot_ids.items(), key=lambda item: item[1])]
        field_of_col = np.asarray([TEXT_FIELDS.index(name) for name in slot_fields])
        lengths = np.stack([index.lengths[name] for name in TEXT_FIELDS])  # fields x papers
        average = np.maximum(lengths.mean(axis=1), 1.0)
        frequency = np.diff(counts.indptr).astype(np.float32)  # papers that hit each slot
        idf = np.log1p((index.size - frequency + 0.5) / (frequency + 0.5))
        field_weight = np.asarray([FIELD_WEIGHTS[name] for name in slot_fields], dtype=np.float32)
        fields = field_of_col[weights.col]
        norm = 1.0 - BM25_B + BM25_B * lengths[fields, weights.row] / average[fields]
        tf = weights.data
        weights.data = (idf[weights.col] * tf * (BM25_K1 + 1) / (tf + BM25_K1 * norm) * field_weight[weights.col]).astype(
            np.float32
        )
        return weights.tocsc()

    def rank(
        self,
        index: PaperIndex,
        embeddings: np.ndarray | None = None,
        profiles: dict[str, SemanticProfile] | None = None,
    ) -> tuple[dict[str, list[RankedMatch]], dict[str, str]]:
        """Rank every radar; return its kept matches and how it was scored ("lexical+semantic"...)."""
        counts = self.term_counts(index)
        weights = self.bm25(counts, index)
        # One sparse product gives every radar's BM25 sum: papers x radars.
        membership = sparse.csr_matrix(
            (
                np.ones(sum(len(c.slots) for c in self.compiled), dtype=np.float32),
                (
                    np.concatenate([np.asarray(c.slots, dtype=np.int64) for c in self.compiled] or [np.zeros(0, np.int64)]),
                    np.repeat(np.arange(len(self.compiled)), [len(c.slots) for c in self.compiled]),
                ),
            ),
            shape=(counts.shape[1], len(self.compiled)),
        )
        lexical_all = np.asarray((weights @ membership).todense(), dtype=np.float32) if self.compiled else None
        with_profile = [c for c in self.compiled if embeddings is not None and profiles and c.radar.id in profiles]
        semantic_all = _semantic_matrix(embeddings, [profiles[c.radar.id] for c in with_profile]) if with_profile else None
        semantic_column = {c.radar.id: column for column, c in enumerate(with_profile)}

        context = _RankContext(index, counts.tocsr(), embeddings, np.argsort(np.argsort(np.asarray(index.paper_ids))))
        weights_by_paper = weights.tocsr()
        results: dict[str, list[RankedMatch]] = {}
        modes: dict[str, str] = {}
        for position, compiled in enumerate(self.compiled):
            radar = compiled.radar
            column = semantic_column.get(radar.id)
            semantic = None if column is None or semantic_all is None else semantic_all[:, column]
            profile = profiles[radar.id] if column is not None and profiles else None
            matched = _evaluate(compiled.tree, compiled, counts, index.size)
            branches = None
            if compiled.and_under_or:
                # Only the terms of the branches a paper matched by count, in the score and the reasons.
                branches = _BranchHits.of(compiled, context.counts_by_paper, matched)
                lexical = branches.bm25(weights_by_paper, index.size)
            else:
                # Every term that hits a matched paper is one it matched by, so the plain sum is exact.
                lexical = np.where(matched, lexical_all[:, position], np.float32(0.0))
            results[radar.id] = self._rank_one(compiled, context, matched, lexical, semantic, profile, branches)
            modes[radar.id] = "lexical+semantic" if semantic is not None else "lexical"
        return results, modes

    def _rank_one(
        self,
        compiled: _CompiledRadar,
        context: "_RankContext",
        matched: np.ndarray,
        lexical_raw: np.ndarray,
        semantic: np.ndarray | None,
        profile: SemanticProfile | None,
        branches: "_BranchHits | None",
    ) -> list[RankedMatch]:
        radar = compiled.radar
        index = context.index
        allowed = np.ones(index.size, dtype=bool)
        if radar.categories:
            allowed &= index.with_values("categories", radar.categories)
        if radar.sources:
            allowed &= index.with_values("source_ids", radar.sources)
        if radar.authors:
            allowed &= index.with_authors(radar.authors)

        matched = matched & allowed
        score = combine_scores(lexical_raw, semantic, matched)
        keep = matched if semantic is None else matched | (allowed & (semantic >= radar.min_similarity))
        keep &= score >= radar.min_score
        candidates = np.flatnonzero(keep)
        if candidates.size == 0:
            return []
        # Highest score first; ties by paper id so a re-run ranks identically.
        rounded = np.round(score[candidates], 6)
        order = candidates[np.lexsort((context.id_rank[candidates], -rounded))]
        chosen = order[: radar.max_papers].tolist()
        reasons = self._reasons(compiled, chosen, context, matched, profile, branches)
        return [
            RankedMatch(
                radar_id=radar.id,
                paper_id=index.paper_ids[row],
                score=round(float(score[row]), 4),
                rank=rank,
                reasons=reasons[position],
                lexical=round(float(lexical_raw[row]), 4),
                semantic=None if semantic is None else round(float(semantic[row]), 4),
            )
            for position, (rank, row) in enumerate(enumerate(chosen, start=1))
        ]

    def _reasons(self, compiled, rows, context, matched, profile, branches) -> list[list[str]]:
        if self._slot_fields is None:
            self._slot_fields = {slot_id: slot.field for slot, slot_id in self._slot_ids.items()}
        counts = context.counts_by_paper
        wanted = set(compiled.slots)
        near = None
        seeds: set[str] = set()
        index = context.index
        if profile is not None and context.embeddings is not None:
            near = _nearest(context.embeddings[rows], profile)
            seeds = set(profile.positive_labels) - {"description"}
        out = []
        for position, row in enumerate(rows):
            reasons: list[str] = []
            if matched[row]:
                start, end = counts.indptr[row], counts.indptr[row + 1]
                hit = dict(zip(counts.indices[start:end].tolist(), counts.data[start:end].tolist(), strict=True))
                named = branches.slots_of(row) if branches is not None else wanted & hit.keys()
                for slot_id in named:
                    count = hit[slot_id]
                    suffix = f" ({int(count)}x)" if count > 1 else ""
                    label = FIELD_LABELS[self._slot_fields[slot_id]]
                    reasons.append(f'{label}: "{compiled.slot_terms[slot_id]}"{suffix}')
                reasons = sorted(set(reasons))
            else:
                reasons.append(NO_QUERY_TERM_REASON)
            if compiled.radar.authors:
                reasons.extend(_author_reasons(compiled.radar.authors, index.authors_of(row)))
            if near is not None and index.paper_ids[row] in seeds:
                # A seed is its own nearest seed (similarity 1.00), which explains nothing.
                reasons.append(SEED_PAPER_REASON)
            elif near is not None:
                reasons.extend(_semantic_reasons(near[position], profile))
            out.append(reasons)
        return out


@dataclass(slots=True)
class _RankContext:
    index: PaperIndex
    counts_by_paper: sparse.csr_matrix
    embeddings: np.ndarray | None
    id_rank: np.ndarray  # position of each paper id in sorted order, for stable ties


def _semantic_matrix(embeddings: np.ndarray, profiles: list[SemanticProfile], chunk: int = 65536) -> np.ndarray:
    """Semantic score of every paper for every profile (papers x profiles), in a few large products.

    Each profile scores closeness to its nearest positive, lowered by how much closer its
    nearest negative is (see _semantic_scores).
    """
    positives = np.vstack([p.positives for p in profiles]).astype(np.float32)
    starts = np.cumsum([0] + [p.positives.shape[0] for p in profiles[:-1]])
    with_negatives = [column for column, p in enumerate(profiles) if p.negatives.shape[0]]
    negatives = (
        np.vstack([profiles[c].negatives for c in with_negatives]).astype(np.float32) if with_negatives else None
    )
    negative_starts = np.cumsum([0] + [profiles[c].negatives.shape[0] for c in with_negatives[:-1]])
    result = np.empty((embeddings.shape[0], len(profiles)), dtype=np.float32)
    for begin in range(0, embeddings.shape[0], chunk):
        block = embeddings[begin : begin + chunk]
        positive = np.maximum.reduceat(block @ positives.T, starts, axis=1)
        if negatives is not None:
            negative = np.maximum.reduceat(block @ negatives.T, negative_starts, axis=1)
            penalty = np.maximum(negative - positive[:, with_negatives], 0.0)
            positive[:, with_negatives] -= penalty
        result[begin : begin + chunk] = positive
    return result


def combine_scores(lexical_raw: np.ndarray, semantic: np.ndarray | None, matched: np.ndarray) -> np.ndarray:
    """Combine raw BM25 sums and semantic scores into one score in [0, 1] per paper.

    BM25 is squashed as bm25 / (bm25 + LEXICAL_HALF) and counts only where the query matched.
    Without a semantic score, the squashed BM25 is the score.
    """
    lexical = lexical_raw / (lexical_raw + LEXICAL_HALF)
    if semantic is None:
        return lexical
    return (1 - SEMANTIC_SHARE) * np.where(matched, lexical, 0.0) + SEMANTIC_SHARE * np.clip(semantic, 0.0, 1.0)


def _evaluate(node: Node, compiled: _CompiledRadar, counts: sparse.csc_matrix, size: int) -> np.ndarray:
    if node.kind == "term":
        mask = np.zeros(size, dtype=bool)
        for column in compiled.node_slots[id(node)]:
            start, end = counts.indptr[column], counts.indptr[column + 1]
            mask[counts.indices[start:end]] = True
        return mask
    if node.kind == "not":
        return ~_evaluate(node.children[0], compiled, counts, size)
    masks = [_evaluate(child, compiled, counts, size) for child in node.children]
    combine = np.logical_and if node.kind == "and" else np.logical_or
    return combine.reduce(masks)


def _and_under_or(node: Node, below_or: bool) -> bool:
    if node.kind == "and" and below_or:
        return True
    return any(_and_under_or(child, below_or or node.kind == "or") for child in node.children)


@dataclass(slots=True)
class _BranchHits:
    """The (paper, term) hits that count for a radar whose query has an AND inside an OR.

    A hit counts when every branch above its term matched the paper, as in
    radar_query.evaluate: under ``(diffusion AND protein*) OR "flow matching"``, "diffusion"
    does not count for a paper without proteins. Only the matched papers are kept.
    """

    rows: np.ndarray  # the matched papers, ascending
    counted: dict[int, np.ndarray]  # slot id -> whether it counts, per paper of rows

    @classmethod
    def of(cls, compiled: _CompiledRadar, counts: sparse.csr_matrix, matched: np.ndarray) -> "_BranchHits":
        rows = np.flatnonzero(matched)
        slots = sorted({slot for ids in compiled.node_slots.values() for slot in ids})
        column = {slot: position for position, slot in enumerate(slots)}
        hits = counts[rows][:, slots].toarray() > 0
        _, counted = _branch_masks(compiled.tree, compiled, hits, column)
        return cls(rows, counted)

    def bm25(self, weights: sparse.csr_matrix, size: int) -> np.ndarray:
        """Sum each matched paper's BM25 weights over the hits that count; other papers get 0."""
        total = np.zeros(size, dtype=np.float32)
        if self.rows.size == 0:
            return total
        slots = sorted(self.counted)
        weight = weights[self.rows][:, slots].toarray()
        for position, slot in enumerate(slots):
            total[self.rows] += np.where(self.counted[slot], weight[:, position], 0.0).astype(np.float32)
        return total

    def slots_of(self, row: int) -> set[int]:
        """Return the slots that count for paper ``row``, which must be one of the matched papers."""
        position = int(np.searchsorted(self.rows, row))
        return {slot for slot, mask in self.counted.items() if mask[position]}


def _branch_masks(
    node: Node, compiled: _CompiledRadar, hits: np.ndarray, column: dict[int, int]
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Return the rows ``node`` matches and, per scoring slot under it, the rows it counts for."""
    if node.kind == "term":
        slots = {slot: hits[:, column[slot]] for slot in compiled.node_slots[id(node)]}
        matched = np.logical_or.reduce(list(slots.values())) if slots else np.zeros(hits.shape[0], dtype=bool)
        return matched, slots
    if node.kind == "not":
        return ~_branch_masks(node.children[0], compiled, hits, column)[0], {}
    results = [_branch_masks(child, compiled, hits, column) for child in node.children]
    combine = np.logical_and if node.kind == "and" else np.logical_or
    matched = combine.reduce([mask for mask, _ in results])
    slots: dict[int, np.ndarray] = {}
    for _, child_slots in results:
        for slot, mask in child_slots.items():
            counted = mask & matched
            if slot in slots:
                counted |= slots[slot]  # the same term written twice counts where either counts
            slots[slot] = counted
    return matched, slots


def _semantic_scores(embeddings: np.ndarray, profile: SemanticProfile) -> np.ndarray:
    """Closeness to the nearest positive, lowered by how much closer a negative is."""
    positive = (embeddings @ profile.positives.T).max(axis=1)
    if profile.negatives.shape[0] == 0:
        return positive
    negative = (embeddings @ profile.negatives.T).max(axis=1)
    return positive - np.maximum(negative - positive, 0.0)


def _nearest(rows: np.ndarray, profile: SemanticProfile) -> list[tuple[str, float, str | None, float]]:
    similarity = rows @ profile.positives.T
    best = similarity.argmax(axis=1)
    result = []
    negative_similarity = rows @ profile.negatives.T if profile.negatives.shape[0] else None
    for position, column in enumerate(best):
        negative_label, negative_value = None, -1.0
        if negative_similarity is not None:
            worst = int(negative_similarity[position].argmax())
            negative_label, negative_value = profile.negative_labels[worst], float(negative_similarity[position, worst])
        result.append((profile.positive_labels[column], float(similarity[position, column]), negative_label, negative_value))
    return result


def _author_reasons(followed: list[str], authors: list[str]) -> list[str]:
    """Name each author of the paper that the radar's authors filter kept it for.

    'followed author: "Lichao Mou" (filter "L. Mou")'; the filter's form is added when it differs.
    """
    reasons = []
    for author in authors:
        for name in followed:
            if author_name(name).same_person(author_name(author)):
                form = "" if name == author else f' (filter "{name}")'
                reasons.append(f'followed author: "{author}"{form}')
                break
    return reasons


def _semantic_reasons(near: tuple[str, float, str | None, float], profile: SemanticProfile) -> list[str]:
    label, value, negative_label, negative_value = near
    if label == "description":
        reasons = [f"close to the radar description (similarity {value:.2f})"]
    else:
        title = profile.titles.get(label, "")
        named = f'{label} "{_shorten(title)}"' if title else label
        reasons = [f"nearest seed: {named} (similarity {value:.2f})"]
    if negative_label is not None and negative_value > value:
        reasons.append(f"closer to negative example {negative_label} (similarity {negative_value:.2f})")
    return reasons


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
