"""Radar matching, one paper at a time: which of a day's papers fit a radar, with a score and the reasons.

The daily pipeline ranks with radar_rank.RadarRanker, which shares the work across radars and
adds BM25 and the semantic side. This matcher stays as the plain reference implementation of
the query language, and as the baseline of bench/radar_speed.py.

The score is lexical and explainable: every query term that hits adds its field weight times
(1 + ln(count)), so a term in the title counts three times one in the abstract. Filters on
categories, sources and authors narrow the candidates before the query runs.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from hub_pipeline.lib.config import RadarConfig
from hub_pipeline.lib.radar_query import Hit, Node, evaluate, parse_query

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0, "authors": 2.0, "categories": 0.5}
FIELD_LABELS = {"title": "title", "abstract": "abstract", "authors": "author", "categories": "category"}


@dataclass(slots=True)
class Candidate:
    """A paper listed on the day, as the matcher needs it."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    source_ids: list[str]


@dataclass(slots=True)
class Match:
    radar_id: str
    paper_id: str
    score: float
    rank: int
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class AuthorName:
    """A name as "surname, given": "Li, Wei", "Wei Li" and "W. Li" share surname and initial."""

    surname: str
    given_names: str  # the given names' letters, without spaces, hyphens or dots: "xiaoxiang"
    initials: str  # the first letter of each given name: "xx" for "Xiao Xiang" and "X. X."
    initials_only: bool  # the given names are written as initials ("W." or "X. X.")

    @property
    def key(self) -> tuple[str, str]:
        return self.surname, self.given_names[:1]

    def same_person(self, other: AuthorName) -> bool:
        """Surnames agree, and so do the given names: in full, or by initials where one side has only those.

        "W. Li" is "Wei Li" and "Weiwei Li"; "Wei Li" is not "Weiwei Li"; "X. X. Zhu" is "Xiao Xiang
        Zhu" but not "Xinghao Zhu".
        """
        if self.key != other.key:
            return False
        if self.initials_only and other.initials_only:
            shorter, longer = sorted((self.initials, other.initials), key=len)
            return longer.startswith(shorter)
        if self.initials_only or other.initials_only:
            # The written initials must begin the full name's: "X." fits "Xiao Xiang", "X. X." does not fit "Xinghao".
            written, full = (self, other) if self.initials_only else (other, self)
            return full.initials.startswith(written.initials)
        return self.given_names == other.given_names


@functools.lru_cache(maxsize=65536)  # an author appears on many papers
def author_name(name: str) -> AuthorName:
    folded = _fold(name)
    if "," in folded:
        surname, _, given = folded.partition(",")
    else:
        parts = folded.split()
        surname, given = (parts[-1], " ".join(parts[:-1])) if parts else ("", "")
    surname = re.sub(r"[^a-z0-9\u3400-\u9fff-]", "", surname)
    tokens = [token for token in re.split(r"[^a-z0-9\u3400-\u9fff]+", given) if token]
    initials_only = bool(tokens) and all(len(token) == 1 for token in tokens)
    return AuthorName(surname, "".join(tokens), "".join(token[0] for token in tokens), initials_only)


def author_key(name: str) -> tuple[str, str]:
    """Reduce "Li, Wei", "Wei Li" and "W. Li" to the same (surname, first initial) pair."""
    return author_name(name).key


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().strip()


def _reasons(hits: Iterable[Hit]) -> list[str]:
    reasons = []
    for hit in hits:
        label = FIELD_LABELS[hit.field]
        suffix = f" ({hit.count}x)" if hit.count > 1 else ""
        reasons.append(f'{label}: "{hit.term}"{suffix}')
    return sorted(set(reasons))


def _score(hits: Iterable[Hit]) -> float:
    total = sum(FIELD_WEIGHTS[hit.field] * (1.0 + math.log(hit.count)) for hit in hits)
    return round(total, 4)


def _passes_filters(radar: RadarConfig, paper: Candidate, followed: list[AuthorName]) -> bool:
    if radar.categories and not set(radar.categories) & set(paper.categories):
        return False
    if radar.sources and not set(radar.sources) & set(paper.source_ids):
        return False
    if followed and not any(person.same_person(author_name(name)) for name in paper.authors for person in followed):
        return False
    return True


def match_radar(radar: RadarConfig, papers: Iterable[Candidate], query: Node | None = None) -> list[Match]:
    """Match one radar against the day's candidate papers; return its top matches, ranked."""
    tree = query or parse_query(radar.query)
    followed = [author_name(name) for name in radar.authors]
    scored: list[tuple[float, str, list[str]]] = []
    for paper in papers:
        if not _passes_filters(radar, paper, followed):
            continue
        texts = {
            "title": paper.title.lower(),
            "abstract": paper.abstract.lower(),
            "authors": "; ".join(paper.authors).lower(),
            "categories": " ".join(paper.categories).lower(),
        }
        matched, hits = evaluate(tree, texts)
        if not matched or not hits:
            continue
        scored.append((_score(hits), paper.paper_id, _reasons(hits)))

    scored.sort(key=lambda item: (-item[0], item[1]))
    return [
        Match(radar.id, paper_id, score, rank, reasons)
        for rank, (score, paper_id, reasons) in enumerate(scored[: radar.max_papers], start=1)
    ]
