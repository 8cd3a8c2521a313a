"""Text helpers shared by the briefing writers: sentence extraction, shortening, terms."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Some payloads still carry arXiv's RSS description prefix in front of the abstract.
_ARXIV_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "fig.", "eq.", "approx.", "resp.")
_INLINE_MATH = re.compile(r"\$[^$]*\$")
# Web and code addresses ("https://github.com/MedAITech/x", "www.example.org"): their parts
# are not wording, and "github com" would otherwise be a theme.
_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|io|net|edu|ai)(?:/\S*)?", re.IGNORECASE)
# Bigrams never span punctuation, so each chunk between these marks is tokenized alone.
_CHUNK_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”]|\s-\s|\s–\s|\s—\s")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")

# English function words plus words that every abstract uses and no theme is named by.
STOPWORDS = frozenset(
    """
    a about above across after again against all almost along also although among an and
    another any are around as at be because been before being below between both but by can
    could did do does doing done down during each either enough especially even ever every
    few for from further had has have having here how however if in into is it its itself
    just least less let like made make makes making many may might more most much must my
    neither no nor not now of off often on once one only onto or other others our out over
    own per rather same several should since so some such than that the their them then there
    these they this those though through thus to too toward towards under until up upon us
    using via was we well were what when where whether which while who whom whose why will
    with within without would yet you your
    paper papers work works propose proposed proposes present presents presented introduce
    introduces introduced approach approaches method methods result results show shows shown
    demonstrate demonstrates demonstrated novel new based use used uses existing recent
    recently first second two three four five achieve achieves achieved achieving effective
    effectively efficient efficiently significant significantly state-of-the-art art
    performance task tasks framework frameworks experiment experiments experimental extensive
    study studies problem problems address addresses aim aims various different specific
    high low large small improve improves improved improving key provide provides including
    include includes further furthermore moreover additionally specifically particular
    respectively compared comparison outperform outperforms outperforming superior code
    available publicly dataset datasets benchmark benchmarks evaluate evaluated evaluation
    leverage leverages leveraging enable enables enabling remain remains challenge
    challenges challenging potential important crucial critical lack limited limitation
    limitations via due way ways able across given thereby thus yet etc et al
    """.split()
)


def clean_abstract(abstract: str) -> str:
    """Collapse whitespace and drop a leftover arXiv "Announce Type" prefix."""
    return " ".join(_ARXIV_PREFIX.sub("", abstract).split())


def shorten(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters at a word boundary, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def first_sentence(abstract: str, max_chars: int = 240) -> str:
    """Return the first sentence of an abstract, shortened to ``max_chars``."""
    text = clean_abstract(abstract)
    sentence = text
    for match in _SENTENCE_END.finditer(text):
        candidate = text[: match.end()]
        if candidate.lower().endswith(_ABBREVIATIONS):
            continue
        sentence = candidate
        break
    return shorten(sentence, max_chars)


def normalize_word(word: str) -> str:
    """Lower-case a word and fold a plain English plural, so "LLMs" and "LLM" count as one term."""
    lowered = word.lower()
    if len(lowered) > 4 and lowered.endswith("ies"):
        return lowered[:-3] + "y"
    if len(lowered) > 3 and lowered.endswith("s") and not lowered.endswith(("ss", "us", "is", "as")):
        return lowered[:-1]
    return lowered


@dataclass(slots=True)
class DocumentTerms:
    """The unigram and bigram terms of one paper, with the surface forms they were seen in."""

    terms: set[str] = field(default_factory=set)
    title_terms: set[str] = field(default_factory=set)
    surface: Counter[tuple[str, str]] = field(default_factory=Counter)


def extract_terms(title: str, abstract: str) -> DocumentTerms:
    """Collect non-stopword unigrams (3+ letters) and bigrams of a paper's title and abstract."""
    result = DocumentTerms()
    for part, is_title in ((title, True), (clean_abstract(abstract), False)):
        for chunk in _CHUNK_BREAK.split(_ADDRESS.sub(" ", _INLINE_MATH.sub(" ", part))):
            words = _WORD.findall(chunk)
            for index, word in enumerate(words):
                _add_term(result, [word], is_title)
                if index + 1 < len(words):
                    _add_term(result, [word, words[index + 1]], is_title)
    return result


def _add_term(result: DocumentTerms, words: list[str], is_title: bool) -> None:
    keys = [normalize_word(word) for word in words]
    for word, key in zip(words, keys):
        if word.lower() in STOPWORDS or key in STOPWORDS or len(key) < 3 or key.isdigit():
            return
    key = " ".join(keys)
    result.terms.add(key)
    if is_title:
        result.title_terms.add(key)
    result.surface[(key, " ".join(words))] += 1
