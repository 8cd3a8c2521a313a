"""Offline briefing writer: an extractive briefing per radar and day, without a language model.

The headline counts the matched papers per field. Themes group papers that share a term of
their titles and abstracts, or a term the radar matched on. The reading list takes the top
papers by score, each with the first sentence of its abstract.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date

from hub_pipeline.lib.briefing.i18n import format_date, text
from hub_pipeline.lib.briefing.text import (
    DocumentTerms,
    extract_terms,
    first_sentence,
    normalize_word,
    shorten,
)
from hub_pipeline.lib.models import Briefing, BriefingPaper, BriefingTheme, Language, RadarInfo, ReadingItem
from hub_pipeline.lib.radar_query import FIELDS
from hub_pipeline.lib.radar_rank import (
    NO_QUERY_TERM_REASON,
    OFF_TOPIC_REASON,
    OLD_NO_QUERY_TERM_REASON,
    ON_TOPIC_REASON,
    SEED_PAPER_REASON,
)

GENERATOR = "offline"
PROMPT_VERSION = "offline-5"
MAX_THEMES = 4
MAX_CROSS_DOMAIN = 2
MAX_FIELDS_IN_LINK = 3
MAX_READING_ITEMS = 10
MAX_FIELDS_IN_HEADLINE = 5
MAX_TITLES_IN_THEME = 5
WHY_SENTENCE_CHARS = 240
THEME_TITLE_CHARS = 90
# Two themes whose paper sets overlap this much (Jaccard index) tell the reader the same thing.
MAX_THEME_OVERLAP = 0.5

# Reasons as the radar matcher writes them, e.g. 'title: "diffusion"' or 'abstract: "LLM" (2x)'.
_REASON = re.compile(r'^\s*(title|abstract|author|category)\s*:\s*"([^"]+)"(.*)$')
# Reasons of the semantic side, as radar_rank writes them (its _reasons and _semantic_reasons).
_FOLLOWED_AUTHOR = re.compile(r'^followed author: "([^"]+)"(?: \(filter "([^"]+)"\))?$')
_SIMILARITY = r"\(similarity (-?\d+\.\d+)\)"
_NEAR_DESCRIPTION = re.compile(rf"^close to the radar description {_SIMILARITY}$")
_NEAREST_SEED = re.compile(rf"^nearest seed: (.+) {_SIMILARITY}$")
_NEAR_NEGATIVE = re.compile(rf"^closer to negative example (\S+) {_SIMILARITY}$")
_MODEL_CHECK = re.compile(rf"^({re.escape(ON_TOPIC_REASON)}|{re.escape(OFF_TOPIC_REASON)})(?: \((.*)\))?$", re.DOTALL)
# Query syntax around a matched term, which a theme name must not show: a field scope
# ("ti:diffusion"), quotes, and the glossary's English aliases that radar_rank appends
# ("扩散模型 (diffusion model / diffusion models)"). A trailing "*" is handled apart.
_SCOPE = re.compile(rf"^(?:{'|'.join(FIELDS)}):", re.IGNORECASE)
_QUOTES = re.compile(r"[\"“”]")
_GLOSSARY_ALIASES = re.compile(r"\s*\([^()]*\)$")


def write_offline(radar: RadarInfo, day: date, papers: list[BriefingPaper]) -> Briefing:
    """Write the extractive briefing of one radar for one day from its matched papers."""
    language = radar.language
    # The radar's rank, not its score: a model check moves papers judged off topic to the end.
    ranked = sorted(papers, key=lambda paper: (paper.rank, -paper.score, paper.paper_id))

    headline = _headline(language, radar.name, day, ranked)
    themes = _themes(language, ranked)
    cross_domain = _cross_domain(language, ranked)
    reading_list = [
        ReadingItem(paper_id=paper.paper_id, why=_why(language, paper))
        for paper in ranked[:MAX_READING_ITEMS]
    ]
    updates = [ReadingItem(paper_id=paper.paper_id, why=update_note(language, paper)) for paper in ranked if paper.is_update]

    cited_ids: list[str] = []
    grouped = [i for group in themes + cross_domain for i in group.paper_ids]
    for paper_id in grouped + [item.paper_id for item in reading_list + updates]:
        if paper_id not in cited_ids:
            cited_ids.append(paper_id)

    return Briefing(
        radar_id=radar.radar_id,
        radar_name=radar.name,
        day=day,
        language=language,
        generator=GENERATOR,
        model=None,
        prompt_version=PROMPT_VERSION,
        headline=headline,
        themes=themes,
        reading_list=reading_list,
        input_ids=[paper.paper_id for paper in papers],
        cited_ids=cited_ids,
        removed_ids=[],
        cross_domain=cross_domain,
        updates=updates,
    )


def update_note(language: Language, paper: BriefingPaper) -> str:
    """Return the note of an update: the new version, and where the preprint was published.

    Only papers the radar reported before (``is_update``) are updates. A first match that is
    already published says so in its reading-list entry instead.
    """
    notes = []
    if paper.version is not None:
        notes.append(text(language, "update_note", version=paper.version))
    else:
        notes.append(text(language, "update_note_no_version"))
    if paper.published_journal:
        # A citation such as "..., July 2008." already ends the sentence.
        published = text(language, "published_note", journal=paper.published_journal)
        notes.append(published if published.endswith((".", "。")) else published + text(language, "full_stop"))
    elif paper.published_link:
        notes.append(text(language, "published_note_no_journal"))
    return ("" if language == "zh-CN" else " ").join(notes)


def paper_field(paper: BriefingPaper) -> str:
    """Return the field a paper is counted under: its listing's feed category, else its source label.

    This is the category the reading list shows in the source label ("arXiv (cs.CL)"), which is
    the primary category when the paper was announced as new in its own feed.
    """
    return paper.feed_category or paper.source_label


def _headline(language: Language, radar_name: str, day: date, ranked: list[BriefingPaper]) -> str:
    """Write the headline: the day's papers counted per field.

    The offline label is left to the Markdown footer, so it appears once. The file, the site
    page, the feed and deliveries (also when cut to a chat's size limit) keep that footer.
    """
    day_text = format_date(language, day)
    if not ranked:
        return text(language, "headline_none", radar=radar_name, date=day_text)

    field_counts = Counter(paper_field(paper) for paper in ranked)
    ordered = sorted(field_counts.items(), key=lambda item: (-item[1], item[0]))
    field_texts = [
        text(language, "field_count", field=name, count=count) for name, count in ordered[:MAX_FIELDS_IN_HEADLINE]
    ]
    fields = text(language, "list_separator").join(field_texts)
    if len(ordered) > MAX_FIELDS_IN_HEADLINE:
        fields += text(language, "more_fields", count=len(ordered) - MAX_FIELDS_IN_HEADLINE)

    sentences = [text(language, "headline_matched", count=len(ranked), radar=radar_name, fields=fields, date=day_text)]
    updates = sum(paper.is_update for paper in ranked)
    if updates:
        sentences.append(text(language, "headline_updates", count=updates))
    # Chinese sentences are written without a space between them.
    return ("" if language == "zh-CN" else " ").join(sentences)


def _term_index(ranked: list[BriefingPaper]) -> tuple[dict[str, DocumentTerms], dict[str, list[str]]]:
    """Return each paper's extracted terms, and for each term the papers that use it, in rank order."""
    documents = {paper.paper_id: extract_terms(paper.title, paper.abstract) for paper in ranked}
    term_papers: dict[str, list[str]] = {}
    for paper in ranked:
        for term in sorted(documents[paper.paper_id].terms):
            term_papers.setdefault(term, []).append(paper.paper_id)
    return documents, term_papers


def _themes(language: Language, ranked: list[BriefingPaper]) -> list[BriefingTheme]:
    """Group papers by shared terms, best-covered terms first, at most MAX_THEMES groups."""
    if len(ranked) < 2:
        return []

    documents, term_papers = _term_index(ranked)

    reason_papers, reason_display = _reason_terms(ranked, documents)
    for term, ids in reason_papers.items():
        _append_new(term_papers.setdefault(term, []), ids)

    candidates = []
    for term, ids in term_papers.items():
        # A term shared by every paper of a larger set names the radar itself, not a theme.
        if len(ids) < 2 or (len(ids) == len(ranked) and len(ranked) > 3):
            continue
        title_hits = sum(term in documents[i].title_terms for i in ids)
        # A single word that is rare in the titles is mostly generic wording ("error", "quality").
        if " " not in term and 2 * title_hits < len(ids) and term not in reason_papers:
            continue
        score = len(ids) * (1.5 if " " in term else 1.0) + 0.5 * title_hits
        if term in reason_papers:
            score += 2.0
        candidates.append((-score, term, ids))
    candidates.sort()

    by_id = {paper.paper_id: paper for paper in ranked}
    order = {paper.paper_id: position for position, paper in enumerate(ranked)}
    chosen: list[tuple[str, list[str]]] = []
    for _, term, ids in candidates:
        if any(_jaccard(ids, other) >= MAX_THEME_OVERLAP for _, other in chosen):
            continue
        chosen.append((term, sorted(ids, key=order.__getitem__)))
        if len(chosen) == MAX_THEMES:
            break

    themes = []
    for term, ids in chosen:
        display = reason_display.get(term) or _surface_form(term, documents.values())
        members = [by_id[i] for i in ids]
        themes.append(
            BriefingTheme(
                title=display[:1].upper() + display[1:] if language == "en" else display,
                text=_theme_text(language, display, members),
                paper_ids=ids,
            )
        )
    return themes


def _cross_domain(language: Language, ranked: list[BriefingPaper]) -> list[BriefingTheme]:
    """Link papers of different fields that share a title or abstract term, widest links first.

    Each link names one paper per field (the best ranked), at most MAX_FIELDS_IN_LINK fields,
    and no paper or set of fields appears in two links. Terms seen in a title count more than abstract wording.
    """
    fields = {paper.paper_id: paper_field(paper) for paper in ranked}
    if len(set(fields.values())) < 2:
        return []

    documents, term_papers = _term_index(ranked)

    candidates = []
    for term, ids in term_papers.items():
        # Keep the best-ranked paper of each field; ranked order is kept by the loop above.
        per_field: dict[str, str] = {}
        for paper_id in ids:
            per_field.setdefault(fields[paper_id], paper_id)
        if len(per_field) < 2:
            continue
        # A single word in most of the day's papers ("model", "data") links everything and says nothing.
        if " " not in term and 2 * len(ids) > len(ranked) and len(ranked) > 3:
            continue
        in_titles = [i for i in per_field.values() if term in documents[i].title_terms]
        # Shared wording is not a link: a single word must name two of the linked titles, a
        # two-word term at least one.
        if len(in_titles) < (1 if " " in term else 2):
            continue
        score = (len(per_field), len(in_titles), " " in term, -sum(p.rank for p in ranked if p.paper_id in per_field.values()))
        candidates.append((score, term, list(per_field.items())[:MAX_FIELDS_IN_LINK]))
    candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)

    by_id = {paper.paper_id: paper for paper in ranked}
    used: set[str] = set()
    linked_fields: set[frozenset[str]] = set()
    links = []
    for _, term, members in candidates:
        ids = [paper_id for _, paper_id in members]
        # A second link between the same fields would repeat the heading ("cs.CV × eess.IV").
        field_set = frozenset(field for field, _ in members)
        if used.intersection(ids) or field_set in linked_fields:
            continue
        used.update(ids)
        linked_fields.add(field_set)
        display = _surface_form(term, documents.values())
        parts = [
            text(language, "cross_part", field=field, title=shorten(by_id[paper_id].title, THEME_TITLE_CHARS))
            for field, paper_id in members
        ]
        joined = text(language, "list_separator").join(parts[:-1]) + text(language, "cross_joiner") + parts[-1]
        links.append(
            BriefingTheme(
                title=" × ".join(field for field, _ in members),
                text=text(language, "cross_link", term=display, parts=joined),
                paper_ids=ids,
            )
        )
        if len(links) == MAX_CROSS_DOMAIN:
            break
    return links


def _reason_terms(
    ranked: list[BriefingPaper], documents: dict[str, DocumentTerms]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Map each title or abstract term the radar matched on to the papers it matched.

    Terms are keyed and named as plain words, without query syntax. A prefix term such as
    "diffus*" becomes the term its papers use most ("diffusion"). It gets no display entry, so
    the theme is named by that term's most common spelling in the papers.
    """
    papers: dict[str, list[str]] = {}
    display: dict[str, str] = {}
    prefix_papers: dict[tuple[str, ...], list[str]] = {}
    for paper in ranked:
        for reason in paper.reasons:
            match = _REASON.match(reason)
            if match is None or match.group(1) not in ("title", "abstract"):
                continue
            words, is_prefix = _plain_words(match.group(2))
            if not words:
                continue
            if is_prefix:
                _append_new(prefix_papers.setdefault(tuple(words), []), [paper.paper_id])
                continue
            term = " ".join(normalize_word(word) for word in words)
            display.setdefault(term, " ".join(words))
            _append_new(papers.setdefault(term, []), [paper.paper_id])

    for words, ids in prefix_papers.items():
        term = _expand_prefix(list(words), [documents[i] for i in ids])
        # A prefix that matches no extracted term (only stopwords, say) names no theme.
        if term is not None:
            _append_new(papers.setdefault(term, []), ids)
    return papers, display


def _plain_words(term: str) -> tuple[list[str], bool]:
    """Return a matched query term's words without scope, quotes or aliases, and whether it ends in "*"."""
    cleaned = _GLOSSARY_ALIASES.sub("", _SCOPE.sub("", term.strip()))
    tokens = _QUOTES.sub(" ", cleaned).split()
    is_prefix = bool(tokens) and tokens[-1].endswith("*")
    words = [token.strip("'*") for token in tokens]
    return [word for word in words if word], is_prefix


def _expand_prefix(words: list[str], documents: list[DocumentTerms]) -> str | None:
    """Return the normalized term that a prefix term matches most often in the papers, or None.

    "language model*" becomes "language model" when the papers write "language models".
    """
    head = [normalize_word(word) for word in words[:-1]]
    stem = words[-1].lower()
    counts: Counter[str] = Counter()
    for document in documents:
        for (key, _), count in document.surface.items():
            parts = key.split()
            if len(parts) == len(words) and parts[:-1] == head and parts[-1].startswith(stem):
                counts[key] += count
    if not counts:
        return None
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _append_new(ids: list[str], new_ids: list[str]) -> None:
    ids.extend(paper_id for paper_id in new_ids if paper_id not in ids)


def _surface_form(term: str, documents: Iterable[DocumentTerms]) -> str:
    """Return the spelling of a normalized term seen most often in the papers."""
    counts: Counter[str] = Counter()
    for document in documents:
        for (key, surface), count in document.surface.items():
            if key == term:
                counts[surface] += count
    if not counts:
        return term
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _theme_text(language: Language, term: str, members: list[BriefingPaper]) -> str:
    titles = [shorten(paper.title, THEME_TITLE_CHARS) for paper in members[:MAX_TITLES_IN_THEME]]
    listed = text(language, "title_separator").join(titles)
    if len(members) > MAX_TITLES_IN_THEME:
        listed += text(language, "more_titles", count=len(members) - MAX_TITLES_IN_THEME)
    sentences = [text(language, "theme_text", count=len(members), term=term, titles=listed)]

    # Fields of the listings the reading list shows: two cs.CV papers make no cross-domain theme,
    # but a cs.CV paper next to a Nature article does.
    fields = list(dict.fromkeys(paper_field(paper) for paper in members))
    if len(fields) > 1:
        sentences.append(text(language, "cross_domain", fields=text(language, "list_separator").join(fields)))
    return ("" if language == "zh-CN" else " ").join(sentences)


def _why(language: Language, paper: BriefingPaper) -> str:
    marker = ""
    if paper.is_update and paper.version is not None:
        marker = text(language, "update_marker", version=paper.version)
    elif paper.is_update:
        marker = text(language, "update_marker_no_version")

    sentences = [first_sentence(paper.abstract, WHY_SENTENCE_CHARS)]
    if paper.reasons:
        reasons = text(language, "title_separator").join(localize_reason(language, r) for r in paper.reasons)
        sentences.append(text(language, "reasons", reasons=reasons))
    return marker + " ".join(sentence for sentence in sentences if sentence)


def localize_reason(language: Language, reason: str) -> str:
    """Word a match reason, a field hit or a semantic one, in ``language``.

    Query terms, paper ids and seed titles stay as they are. A reason of no known form is
    returned unchanged.
    """
    match = _REASON.match(reason)
    if match is not None:
        label = text(language, f"reason_{match.group(1)}")
        return f'{label}: "{match.group(2)}"{match.group(3)}'

    if reason in (NO_QUERY_TERM_REASON, OLD_NO_QUERY_TERM_REASON):
        return text(language, "reason_no_query_term")
    if match := _FOLLOWED_AUTHOR.match(reason):
        if match.group(2) is None:
            return text(language, "reason_followed_author", author=match.group(1))
        return text(language, "reason_followed_author_form", author=match.group(1), name=match.group(2))
    if reason == SEED_PAPER_REASON:
        return text(language, "reason_seed_paper")
    if match := _NEAR_DESCRIPTION.match(reason):
        return text(language, "reason_near_description", similarity=match.group(1))
    if match := _NEAREST_SEED.match(reason):
        return text(language, "reason_nearest_seed", seed=match.group(1), similarity=match.group(2))
    if match := _NEAR_NEGATIVE.match(reason):
        return text(language, "reason_near_negative", paper=match.group(1), similarity=match.group(2))
    if match := _MODEL_CHECK.match(reason):
        verdict = "reason_on_topic" if match.group(1) == ON_TOPIC_REASON else "reason_off_topic"
        if match.group(2) is None:
            return text(language, verdict)
        return text(language, f"{verdict}_why", why=match.group(2))
    return reason


def _jaccard(first: list[str], second: list[str]) -> float:
    a, b = set(first), set(second)
    return len(a & b) / len(a | b)
