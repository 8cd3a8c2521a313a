"""Grounding check: a briefing may cite only papers of the day's set.

Works on the plain dict shape a model returns:
``{headline, themes: [{title, text, paper_ids}], cross_domain: [{title, text, paper_ids}],
reading_list: [{paper_id, why}], updates: [{paper_id, note}]}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# An arXiv version suffix: a model that cites "2503.14603v2" means the paper arxiv:2503.14603.
_ARXIV_VERSION = re.compile(r"v\d+$")


class _CitationResolver:
    """Map the ways a model writes a paper id to the day's canonical ids, and count the misses."""

    def __init__(self, allowed_ids: Iterable[str]) -> None:
        self.allowed = list(dict.fromkeys(allowed_ids))
        self.by_key: dict[str, str] = {paper_id.lower(): paper_id for paper_id in self.allowed}
        # Ids without their scheme ("2503.14603" for "arxiv:2503.14603"), kept only when unambiguous.
        bare: dict[str, list[str]] = {}
        for paper_id in self.allowed:
            _, colon, rest = paper_id.partition(":")
            if colon and rest:
                bare.setdefault(rest.lower(), []).append(paper_id)
        for key, ids in bare.items():
            if len(ids) == 1:
                self.by_key.setdefault(key, ids[0])
        # Schemes of the day's ids plus the usual ones, so an invented "doi:..." is found in a day
        # of arXiv papers. URL schemes are left out because links in text are not citations.
        schemes = {i.partition(":")[0].lower() for i in self.allowed if ":" in i} | {"arxiv", "doi"}
        schemes -= {"http", "https"}
        self.id_in_text = re.compile(
            r"\b(?:" + "|".join(re.escape(s) for s in sorted(schemes)) + r"):[^\s\]\)\}>,;，。；、]+",
            re.IGNORECASE,
        )
        self.cited: list[str] = []
        self.removed: list[str] = []

    def resolve(self, raw: object) -> str | None:
        """Return the canonical id a citation refers to, or None after recording it as removed."""
        candidate = str(raw).strip().strip("[]()").strip()
        key = candidate.lower()
        paper_id = self.by_key.get(key)
        looks_like_arxiv = key.startswith("arxiv:") or ":" not in key
        if paper_id is None and looks_like_arxiv:
            paper_id = self.by_key.get(_ARXIV_VERSION.sub("", key))
        if paper_id is None:
            if candidate and candidate not in self.removed:
                self.removed.append(candidate)
            return None
        if paper_id not in self.cited:
            self.cited.append(paper_id)
        return paper_id

    def clean_text(self, value: object) -> str:
        """Drop ids of papers outside the set that a model wrote into free text."""
        text = "" if value is None else str(value)

        def replace(match: re.Match[str]) -> str:
            token = match.group(0).rstrip(".")
            trailing = match.group(0)[len(token) :]
            return match.group(0) if self.resolve(token) is not None else trailing

        cleaned = self.id_in_text.sub(replace, text)
        if cleaned != text:
            # Brackets that held only a removed id would otherwise stay behind as "[]" or "()".
            cleaned = re.sub(r"\[\s*\]|\(\s*\)|（\s*）", "", cleaned)
            cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).replace(" .", ".").strip()
        return cleaned


def check_citations(
    briefing: Mapping[str, Any], allowed_ids: Iterable[str]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Remove every citation of a paper outside ``allowed_ids`` from a briefing dict.

    Returns the cleaned copy, the ids still cited (first appearance first) and the removed ids
    (each once). Themes left without a valid paper and reading-list items with a removed id
    are dropped, because every claim must rest on a paper of the day's set.
    """
    resolver = _CitationResolver(allowed_ids)
    headline = resolver.clean_text(briefing.get("headline"))

    themes = _groups(resolver, briefing.get("themes"), min_papers=1)
    # A cross-domain link joins at least two papers; one left after the check links nothing.
    cross_domain = _groups(resolver, briefing.get("cross_domain"), min_papers=2)

    reading_list = []
    listed: set[str] = set()
    for item in briefing.get("reading_list") or []:
        paper_id = resolver.resolve(item.get("paper_id"))
        if paper_id is None or paper_id in listed:
            continue
        listed.add(paper_id)
        reading_list.append({"paper_id": paper_id, "why": resolver.clean_text(item.get("why"))})

    updates = []
    noted: set[str] = set()
    for item in briefing.get("updates") or []:
        paper_id = resolver.resolve(item.get("paper_id"))
        if paper_id is None or paper_id in noted:
            continue
        noted.add(paper_id)
        updates.append({"paper_id": paper_id, "note": resolver.clean_text(item.get("note"))})

    cleaned = {
        "headline": headline,
        "themes": themes,
        "cross_domain": cross_domain,
        "reading_list": reading_list,
        "updates": updates,
    }
    return cleaned, resolver.cited, resolver.removed


def _groups(resolver: _CitationResolver, groups: object, min_papers: int) -> list[dict[str, Any]]:
    """Check the papers of themes or cross-domain links; drop a group left with too few papers."""
    kept = []
    for group in groups or []:
        paper_ids = []
        for raw in group.get("paper_ids") or []:
            paper_id = resolver.resolve(raw)
            if paper_id is not None and paper_id not in paper_ids:
                paper_ids.append(paper_id)
        text = resolver.clean_text(group.get("text"))
        if len(paper_ids) >= min_papers:
            kept.append({"title": str(group.get("title") or "").strip(), "text": text, "paper_ids": paper_ids})
    return kept
