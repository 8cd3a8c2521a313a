"""Text and identifier normalization for feed items: one value in, one normalized value out.

Everything here is a pure function over strings, so every parser shares one definition of a
clean title, an arXiv id, a DOI and the weak title-plus-author identity key.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import parse_qs, unquote, urlsplit

# --- clean_text ------------------------------------------------------------------------------

# Named or numeric character references that end in ";". html.unescape alone would also
# decode legacy references without the semicolon ("&notation" -> "¬ation"), which corrupts
# ordinary text and LaTeX alignment markers.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# Inline math as LaTeX writes it. Tags are never stripped inside these spans, so "$a<b$" or
# "$\texttt{<think>}$" survive even when they look like markup.
# NOTE: a lone "$" (a price such as "US$5") pairs with the next "$", and tags between the two
# are then kept as text.
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)

# Tags whose content is code or styling, never text for a reader.
_DROPPED_ELEMENT = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>"
    r"|<!--.*?-->"
    r"|<annotation(?:-xml)?\b[^>]*>.*?</annotation(?:-xml)?\s*>",
    re.IGNORECASE | re.DOTALL,
)

# Block-level elements separate words, but inline ones (sub, sup, i, em, ...) join them.
# So "CO<sub>2</sub>" becomes "CO2" while "</p><p>" becomes a space.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption dd div dl dt figcaption figure footer "
    "h1 h2 h3 h4 h5 h6 head header hr html li main nav ol p pre section table tbody td tfoot "
    "th thead title tr ul".split()
)
_INLINE_TAGS = frozenset(
    "a abbr acronym b bdi bdo big center cite code del dfn em font i img ins kbd mark nobr "
    "q samp small span strike strong sub sup time tt var wbr "
    # MathML as journal feeds embed it. Its text is the formula.
    "math mi mn mo ms mtext mrow msub msup msubsup mfrac msqrt mroot mover munder "
    "munderover mstyle mspace mtable mtr mtd mfenced semantics menclose mpadded mphantom".split()
)
# NOTE: "<s>", "<u>", "<image>" and the like are left alone on purpose. NLP abstracts write
# tokens such as <s>, </s>, <think> or <image> as text, and HTML feeds rarely use those tags.
_KNOWN_TAGS = _BLOCK_TAGS | _INLINE_TAGS

# A start, end or empty-element tag. Unprefixed names count as markup only when they are
# in _KNOWN_TAGS, but a name with a namespace prefix (mml:, jats:) always counts.
_TAG = re.compile(
    r"<\s*(/?)\s*(?:([A-Za-z][\w.-]*):)?([A-Za-z][A-Za-z0-9-]*)"
    r"(?:\s+[^<>]*?)?\s*/?\s*>"
)

# Whitespace folds to one space. Other control and invisible format characters
# (C0/C1 controls, zero-width space, BOM, soft hyphen) are removed.
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")

_MAX_UNESCAPE_ROUNDS = 5
# A CDATA section that a feed escaped ("&lt;![CDATA[...]]&gt;") reads as literal markers once
# decoded; the markers go and the text stays.
_CDATA_MARKERS = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def _unescape_entities(text: str) -> str:
    """Decode character references until none is left (feeds escape "<" as "&amp;lt;")."""
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        decoded = _ENTITY.sub(lambda match: html.unescape(match.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text


def _replace_tag(match: re.Match[str]) -> str:
    prefix, name = match.group(2), match.group(3).lower()
    if prefix is None and name not in _KNOWN_TAGS:
        return match.group(0)
    if name in _BLOCK_TAGS:
        return " "
    return ""


def _strip_tags(text: str) -> str:
    """Remove HTML and MathML tags outside math spans, keeping their text."""
    text = _DROPPED_ELEMENT.sub(" ", text)
    pieces: list[str] = []
    position = 0
    for math in _MATH.finditer(text):
        pieces.append(_TAG.sub(_replace_tag, text[position : math.start()]))
        pieces.append(math.group(0))
        position = math.end()
    pieces.append(_TAG.sub(_replace_tag, text[position:]))
    return "".join(pieces)


def clean_text(s: str | None) -> str:
    """Turn a feed's title or abstract into plain text on one line.

    Decodes character references (repeatedly), strips HTML tags but keeps their text, removes
    control characters and folds whitespace. LaTeX such as `$X_m$` or `\\(+17.84\\)` is kept.
    """
    if not s:
        return ""
    text = _unescape_entities(s)
    text = _CDATA_MARKERS.sub(lambda match: match.group(1), text)
    text = _strip_tags(text)
    text = _WHITESPACE.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return text.strip()


# --- arXiv -----------------------------------------------------------------------------------

# Archives of the identifiers arXiv issued until March 2007 (archive/YYMMNNN).
_OLD_ARCHIVES = (
    "acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg "
    "comp-gas cond-mat cs dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph "
    "mtrl-th nlin nucl-ex nucl-th patt-sol physics plasm-ph q-alg q-bio quant-ph solv-int "
    "supr-con"
).split()

# New style YYMM.NNNN (April 2007 to 2014) or YYMM.NNNNN (from 2015). The look-behind accepts
# "arXiv." (arXiv's DataCite DOIs, 10.48550/arXiv.2406.12345) but rejects digits embedded
# in other numbers, such as the "1103.2012" inside the DOI 10.1111/j.1654-1103.2012.12036.x.
_NEW_ID = re.compile(
    r"(?:(?<=arxiv\.)|(?<![\w.-]))(?P<yymm>\d{4})\.(?P<number>\d{4,5})"
    r"(?:v(?P<version>\d+))?(?![\d.]*\d)",
    re.IGNORECASE,
)
# Old style archive[.SUBJECT]/YYMMNNN. The archive may itself contain a "v" (solv-int), so
# a version is only a "v<digits>" right after the seven digits.
_OLD_ID = re.compile(
    r"(?<![\w-])(?P<archive>" + "|".join(re.escape(a) for a in _OLD_ARCHIVES) + r")"
    r"(?:\.[A-Za-z-]{2,})?/(?P<number>\d{7})(?:v(?P<version>\d+))?(?!\d)"
)


def _valid_month(yymm: str) -> bool:
    return 1 <= int(yymm[2:]) <= 12


def split_arxiv_id(s: str | None) -> tuple[str, int | None] | None:
    """Find an arXiv identifier in an id, guid or URL and split it into id and version.

    Returns (id without version, version or None), or None when `s` contains no arXiv id.
    Old-style ids lose their subject class ("math.GT/0309136" -> "math/0309136"), because
    arXiv's canonical identifier does not include it.
    """
    if not s:
        return None
    for match in _NEW_ID.finditer(s):
        yymm, number = match.group("yymm"), match.group("number")
        # New-style ids start in 0704. Four-digit numbers ran until 1412, and five-digit
        # numbers start at 1501.
        if not _valid_month(yymm) or yymm < "0704" or (len(number) == 5) != (yymm >= "1501"):
            continue
        version = match.group("version")
        return f"{yymm}.{number}", int(version) if version else None
    for match in _OLD_ID.finditer(s):
        if not _valid_month(match.group("number")[:4]):
            continue
        version = match.group("version")
        identifier = f"{match.group('archive')}/{match.group('number')}"
        return identifier, int(version) if version else None
    return None


# "arXiv:2503.14603v1 Announce Type: new \nAbstract: ..." as arXiv's RSS descriptions begin.
_ARXIV_PREFIX = re.compile(
    r"^\s*arXiv:(?P<identifier>\S+)\s+Announce\s+Type:\s*(?P<announce_type>[\w-]+)\s*"
    r"(?:Abstract:\s*)?",
    re.IGNORECASE,
)


def strip_arxiv_prefix(description: str) -> tuple[str, dict]:
    """Remove the "arXiv:<id> Announce Type: <type> Abstract:" prefix of an arXiv RSS item.

    Returns the abstract and what the prefix stated: {"arxiv_id", "version", "announce_type"}.
    Text without the prefix comes back unchanged with an empty dict.
    """
    match = _ARXIV_PREFIX.match(description or "")
    if match is None:
        return description, {}
    identifier = split_arxiv_id(match.group("identifier"))
    details = {
        "arxiv_id": identifier[0] if identifier else None,
        "version": identifier[1] if identifier else None,
        "announce_type": match.group("announce_type").lower(),
    }
    return description[match.end() :], details


# --- DOI -------------------------------------------------------------------------------------

_DOI_PREFIXES = (
    "https://doi.org/",
    "http://doi.org/",
    "https://dx.doi.org/",
    "http://dx.doi.org/",
    "doi.org/",
    "dx.doi.org/",
    "info:doi/",
    "doi:",
)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s\"'<>]+")
_TRAILING_PUNCTUATION = ".,;:"
# Preprint servers append the version to the DOI in their links: /content/10.1101/123456v2.
_PREPRINT_HOSTS = ("biorxiv.org", "medrxiv.org")
_VERSION_SUFFIX = re.compile(r"v\d+$")


def _trim_trailing(doi: str) -> str:
    """Drop sentence punctuation after a DOI, and a ")" or "]" that closes nothing inside it."""
    while doi:
        last = doi[-1]
        if last in _TRAILING_PUNCTUATION:
            doi = doi[:-1]
        elif last == ")" and doi.count(")") > doi.count("("):
            doi = doi[:-1]
        elif last == "]" and doi.count("]") > doi.count("["):
            doi = doi[:-1]
        else:
            break
    return doi


def normalize_doi(s: str | None) -> str | None:
    """Normalize a DOI or DOI URL to its lower-case bare form ("10.1038/s41586-023-06789-1").

    Returns None unless the result starts with "10." and has a suffix after the "/".
    """
    if not s:
        return None
    doi = _WHITESPACE.sub("", s).lower()
    for prefix in _DOI_PREFIXES:
        if doi.startswith(prefix):
            doi = doi[len(prefix) :]
            break
    if "%2f" in doi:
        doi = unquote(doi)
    doi = _trim_trailing(doi)
    return doi if _DOI_SHAPE.match(doi) else None


def find_doi(text: str | None) -> str | None:
    """Find a DOI inside an identifier string or a link and return it normalized.

    Reads DOI URLs (doi.org, dx.doi.org), publisher links whose path carries the DOI
    (".../doi/10.1111/jvs.12345?af=R", the query is ignored), "?DOI=" resolver links and
    identifiers such as "doi:10..." or "info:doi/10...". A link that only names an article
    (nature.com/articles/s41586-...) contains no DOI and gives None.
    """
    if not text:
        return None
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        query = {key.lower(): values for key, values in parse_qs(parts.query).items()}
        for value in query.get("doi", []):
            doi = normalize_doi(value)
            if doi:
                return doi
        match = _DOI_IN_TEXT.search(unquote(parts.path))
        if match is None:
            return None
        candidate = match.group(0)
        host = parts.netloc.lower()
        if any(host == h or host.endswith("." + h) for h in _PREPRINT_HOSTS):
            candidate = _VERSION_SUFFIX.sub("", candidate)
        return normalize_doi(candidate)
    match = _DOI_IN_TEXT.search(text)
    return normalize_doi(match.group(0)) if match else None


# --- authors and the title key ---------------------------------------------------------------

# Initials such as "M.", "A. K.", "H.-X.", "J.G.", "Ch." or a lone "M": the given-name part
# of "Surname, Initials". Each initial needs a dot unless it is a single letter, so an
# upper-case surname ("PAPADOPOULOU") is not read as initials.
_INITIAL = r"(?:(?:[A-Za-z]|[A-Z][a-z])\.)+|[A-Za-z]"
_INITIALS = re.compile(rf"(?:{_INITIAL})(?:[\s-]+(?:{_INITIAL}))*")
_AND = re.compile(r"\s+and\s+|\s*&\s*", re.IGNORECASE)
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def split_authors(s: str | None) -> list[str]:
    """Split one author string into names.

    Accepts arXiv's "A. One, B. Two, C. Three", lists joined by " and " or ";", and
    "Surname, Initials" lists such as bioRxiv's "Kaur, M., Shukla, A." (kept as "Kaur, M.").
    """
    if not s or not s.strip():
        return []
    text = _WHITESPACE.sub(" ", s).strip()
    if ";" in text:
        parts = text.split(";")
    else:
        parts = _AND.sub(", ", text).split(",")
    parts = [part.strip() for part in parts if part.strip()]

    # "Surname, Initials" lists alternate a surname and its initials.
    surnames, initials = parts[0::2], parts[1::2]
    if (
        parts
        and len(parts) % 2 == 0
        and all(_INITIALS.fullmatch(part) for part in initials)
        and not any(_INITIALS.fullmatch(part) for part in surnames)
    ):
        return [f"{surname}, {given}" for surname, given in zip(surnames, initials)]
    return parts


def _fold(text: str) -> str:
    """Lower-case, fold accents, remove non-alphanumerics and fold whitespace."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    alphanumeric = "".join(ch for ch in without_accents if ch.isalnum() or ch.isspace())
    return _WHITESPACE.sub(" ", alphanumeric).strip()


def _surname(author: str) -> str:
    """Return the surname of "Surname, Given" or "Given Surname", skipping "Jr." and the like."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0]
    words = author.split()
    while len(words) > 1 and _fold(words[-1]) in _NAME_SUFFIXES:
        words.pop()
    return words[-1] if words else ""


def title_key(title: str | None, first_author: str | None) -> str:
    """Build the weakest identity of a work: folded title, "|", folded first-author surname."""
    surname = _surname(first_author) if first_author else ""
    return f"{_fold(clean_text(title))}|{_fold(surname)}"


def fold_text(text: str) -> str:
    """Fold text for comparison: lower-case, accents removed, only letters, digits and spaces."""
    return _fold(text)


def surname(author: str) -> str:
    """Return the surname of "Surname, Given" or "Given Surname", skipping "Jr." and the like."""
    return _surname(author)
