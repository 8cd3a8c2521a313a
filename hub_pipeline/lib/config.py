"""Source and radar configuration: config/sources.yaml and config/radars.yaml.

Both files are validated with pydantic when they are loaded, so a typo fails the run at its
start with the file, the entry and the field named, not halfway through a day.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from hub_pipeline.lib.radar_query import QuerySyntaxError, Token, lowercase_operators, parse_query

SourceKind = Literal["arxiv_rss", "biorxiv_rss", "rss", "arxiv_oai", "arxiv_api", "biorxiv_api", "crossref"]

# Kinds whose archives return the records of any past day (see lib/backfill.py).
HISTORY_KINDS = frozenset({"arxiv_oai", "arxiv_api", "biorxiv_api", "crossref"})

_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

logger = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration file is missing or invalid."""


class SourceConfig(BaseModel):
    """One feed to collect every day."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID_PATTERN)
    kind: SourceKind
    url: str
    name: str = ""  # badge text on the site; defaults from kind and category
    category: str | None = None  # arXiv category or journal subject the feed covers
    enabled: bool = True
    max_bytes: int | None = Field(default=None, gt=0)  # overrides fetch.max_bytes for this source
    # Options of the history kinds (arxiv_oai, arxiv_api, biorxiv_api, crossref).
    metadata_prefix: Literal["arXiv", "arXivRaw"] = "arXiv"  # arxiv_oai
    set: str | None = None  # arxiv_oai: OAI set, e.g. cs or physics:hep-th
    issn: str | None = None  # crossref: the journal's ISSN
    page_size: int | None = Field(default=None, ge=1, le=2000)  # arxiv_api, crossref
    delay_s: float | None = Field(default=None, ge=0)  # polite pause between requests; None: the kind's default

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "file://")):
            raise ValueError(f"url must start with http://, https:// or file://, got {value!r}")
        return value

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind in ("arxiv_rss", "arxiv_oai", "arxiv_api"):
            return f"arXiv ({self.category})" if self.category else "arXiv"
        return self.id


class FetchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_email: str = Field(min_length=3)
    timeout_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    max_bytes: int = Field(default=50_000_000, gt=0)  # larger payloads are rejected as a source error

    @property
    def user_agent(self) -> str:
        return f"AcademicHub/0.1 (+mailto:{self.contact_email})"


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fetch: FetchConfig
    sources: list[SourceConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> "SourcesFile":
        _reject_duplicate_ids([s.id for s in self.sources], "source")
        return self


class WebhookConfig(BaseModel):
    """A chat bot webhook; the URL, which carries the bot's token, is read from an environment variable."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["feishu", "dingtalk", "wecom", "slack"]
    url_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    # Feishu and DingTalk bots can require signed requests; this names the variable with the secret.
    secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _signing_supported(self) -> "WebhookConfig":
        if self.secret_env and self.kind not in ("feishu", "dingtalk"):
            raise ValueError(f"secret_env is only used by feishu and dingtalk webhooks, not {self.kind}")
        return self


class DeliveryConfig(BaseModel):
    """Delivery targets of a radar's daily briefing, besides the site and the feed."""

    model_config = ConfigDict(extra="forbid")

    email: list[str] = []  # recipients; the SMTP server comes from HUB_SMTP_* variables
    webhooks: list[WebhookConfig] = []

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", address):
                raise ValueError(f"invalid e-mail address {address!r}")
        return value


class RadarConfig(BaseModel):
    """One researcher's radar: what to look for and how to write about it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    language: Literal["zh-CN", "en"]
    query: str = Field(min_length=1)
    description: str = ""
    categories: list[str] = []  # keep papers with at least one of these categories
    sources: list[str] = []  # keep papers listed by one of these source ids
    authors: list[str] = []  # keep papers with one of these authors
    max_papers: int = Field(default=30, ge=1, le=500)  # maximum papers in a day's list
    delivery: DeliveryConfig | None = None  # opt-in e-mail and chat webhooks
    # Semantic side: papers close to the seeds (and the description) and far from the negatives
    # rank higher. Seeds and negatives are arXiv ids or DOIs of papers in the warehouse.
    seeds: list[str] = []
    negatives: list[str] = []
    # A Chinese (or any) query term -> English terms or phrases it also matches.
    glossary: dict[str, list[str]] = {}
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)  # drop matches whose combined score is lower
    # A paper that misses the query still matches when its similarity to the seeds reaches this.
    # NOTE: 0.55 suits all-MiniLM-L6-v2; endpoint models spread similarities differently.
    min_similarity: float = Field(default=0.55, ge=-1.0, le=1.0)
    # The first model_check papers of a day's list are judged on topic or off topic by the chat
    # model (OPENAI_API_KEY), and those judged off topic move to the end; 0 turns it off.
    model_check: int = Field(default=0, ge=0, le=50)

    @field_validator("model_check", mode="before")
    @classmethod
    def _whole_number_of_papers(cls, value: object) -> object:
        # Without this, YAML's `true` would be read as 1 paper.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number of papers; write how many to check, 0 (off) to 50, e.g. 20")
        return value

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str) -> str:
        try:
            parse_query(value)
        except QuerySyntaxError as error:
            raise ValueError(str(error)) from error
        return value

    @field_validator("seeds", "negatives", mode="before")
    @classmethod
    def _quoted_ids(cls, values: object) -> object:
        # YAML reads 2503.12340 as the number 2503.1234, losing the trailing zero.
        for value in values if isinstance(values, list) else []:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not text; put arXiv ids in quotes, e.g. \"2503.12340\"")
        return values

    @field_validator("seeds", "negatives")
    @classmethod
    def _paper_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if paper_id_for(value) is None:
                raise ValueError(f"{value!r} is neither an arXiv id (2503.12345, hep-th/9901001) nor a DOI (10.x/y)")
        return values

    @field_validator("glossary", mode="before")
    @classmethod
    def _glossary_single_terms(cls, value: object) -> object:
        """Read an entry written as one term (推理: reasoning) as a list of that term."""
        if isinstance(value, dict):
            return {key: [terms] if isinstance(terms, str) else terms for key, terms in value.items()}
        return value

    @field_validator("glossary")
    @classmethod
    def _glossary_terms(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, terms in value.items():
            if not terms:
                raise ValueError(f"glossary entry {key!r} lists no terms")
            for term in terms:
                if not term.strip() or '"' in term:
                    raise ValueError(f"glossary entry {key!r}: {term!r} must be a plain word or phrase without quotes")
        return value


class RadarsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    radars: list[RadarConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> "RadarsFile":
        _reject_duplicate_ids([r.id for r in self.radars], "radar")
        return self


_ARXIV_NEW = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5})(?:v\d+)?$", re.IGNORECASE)
_ARXIV_OLD = re.compile(r"^(?:arxiv:)?([a-z-]+(?:\.[a-z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE)
_DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def paper_id_for(identifier: str) -> str | None:
    """Turn an arXiv id or a DOI as a person writes it into the warehouse's paper_id."""
    text = identifier.strip()
    if match := _ARXIV_NEW.match(text) or _ARXIV_OLD.match(text):
        return "arxiv:" + match.group(1).lower()
    if match := _DOI.match(text):
        return "doi:" + match.group(1).lower()
    return None


def _reject_duplicate_ids(ids: list[str], what: str) -> None:
    seen: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in seen:
            raise ValueError(f"duplicate {what} id {item_id!r} (entries {seen[item_id]} and {index}, counting from 0)")
        seen[item_id] = index


def _load_yaml(path: Path) -> object:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error


# Hints for a missing required section or field of a config file, by its location.
_MISSING_HINTS = {
    ("fetch",): "add a fetch: section with contact_email, your e-mail address for the User-Agent",
    ("fetch", "contact_email"): "your e-mail address, sent in the User-Agent of every request",
}


def _validate(model: type[BaseModel], path: Path) -> BaseModel:
    data = _load_yaml(path)
    if not isinstance(data, dict):
        content = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(f"{path}: invalid configuration: the file is {content}; see the README for its sections")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_describe_problem(item, data) for item in error.errors())
        raise ConfigError(f"{path}: invalid configuration: {problems}") from error


def _describe_problem(item: ErrorDetails, data: dict) -> str:
    """Word one validation error: where it is (with the item's id in a list), and what is wrong."""
    location = []
    node: object = data
    for part in item["loc"]:
        location.append(str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        # A list item is easier to find by its id than by its index.
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("id"), str):
            location[-1] += f" (id {node['id']!r})"
    message = item["msg"].removeprefix("Value error, ")
    description = f"{'.'.join(location)}: {message}" if location else message
    hint = _MISSING_HINTS.get(tuple(item["loc"])) if item["type"] == "missing" else None
    return f"{description} ({hint})" if hint else description


def load_sources(path: Path) -> SourcesFile:
    """Load and validate a sources file, with relative file:// URLs resolved against it."""
    sources = _validate(SourcesFile, path)
    assert isinstance(sources, SourcesFile)
    for source in sources.sources:
        source.url = _resolve_file_url(source.url, path.parent)
    return sources


# Lower-case operators already warned about in this process, by (file, radar id, query,
# position). A run loads the radars file at its start and again in every step that uses it.
_warned_operators: set[tuple[str, str, str, int]] = set()


def load_radars(path: Path, *, warn: bool = True) -> RadarsFile:
    """Load and validate a radars file; every query is parsed here.

    A lower-case "or", "and" or "not" between terms is accepted as a search word, with a
    warning per occurrence, since it was most likely meant as an operator. Each occurrence
    is warned about once per process, however often the file is loaded. ``warn=False``
    leaves the warnings to a later load, such as the one inside a run, whose log the UI shows.
    """
    radars = _validate(RadarsFile, path)
    assert isinstance(radars, RadarsFile)
    for radar in radars.radars if warn else []:
        for token in lowercase_operators(radar.query):
            key = (str(path.resolve()), radar.id, radar.query, token.position)
            if key in _warned_operators:
                continue
            _warned_operators.add(key)
            logger.warning("%s: %s", path, lowercase_operator_warning(radar, token))
    return radars


def lowercase_operator_warning(radar: RadarConfig, token: Token) -> str:
    """Word the warning for a lower-case "or", "and" or "not" that is searched as a word."""
    operator = token.text.upper()
    return (
        f"radar {radar.id!r}: query {radar.query!r} has a lower-case {token.text!r} at position {token.position} "
        f"(counting from 0), which is searched as a word; did you mean {operator}? Write {operator} to combine "
        f'terms, or quote it ("{token.text}") to search the word'
    )


def _resolve_file_url(url: str, base_dir: Path) -> str:
    # file://relative/path is not a standard form, but a config next to its payloads is
    # easier to write with one, so a path without a leading slash is taken from the file.
    if not url.startswith("file://"):
        return url
    raw_path = url[len("file://") :]
    if raw_path.startswith("/"):
        return url
    return (base_dir / raw_path).resolve().as_uri()
