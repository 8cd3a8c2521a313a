"""Source and radar configuration: config/sources.yaml and config/radars.yaml.

Both files are validated with pydantic when they are loaded, so a typo fails the run at its
start with the file, the entry and the field named, not halfway through a day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub_pipeline.lib.radar_query import QuerySyntaxError, parse_query

SourceKind = Literal["arxiv_rss", "biorxiv_rss", "rss", "arxiv_oai", "arxiv_api", "biorxiv_api", "crossref"]

# Kinds whose archives return the records of any past day (see lib/backfill.py).
HISTORY_KINDS = frozenset({"arxiv_oai", "arxiv_api", "biorxiv_api", "crossref"})

_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


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
    max_papers: int = Field(default=30, ge=1, le=500)

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str) -> str:
        try:
            parse_query(value)
        except QuerySyntaxError as error:
            raise ValueError(str(error)) from error
        return value


class RadarsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    radars: list[RadarConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> "RadarsFile":
        _reject_duplicate_ids([r.id for r in self.radars], "radar")
        return self


def _reject_duplicate_ids(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"duplicate {what} id {item_id!r}")
        seen.add(item_id)


def _load_yaml(path: Path) -> object:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error


def _validate(model: type[BaseModel], path: Path) -> BaseModel:
    data = _load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: invalid configuration: {problems}") from error


def load_sources(path: Path) -> SourcesFile:
    """Load and validate a sources file, with relative file:// URLs resolved against it."""
    sources = _validate(SourcesFile, path)
    assert isinstance(sources, SourcesFile)
    for source in sources.sources:
        source.url = _resolve_file_url(source.url, path.parent)
    return sources


def load_radars(path: Path) -> RadarsFile:
    """Load and validate a radars file; every query is parsed here."""
    radars = _validate(RadarsFile, path)
    assert isinstance(radars, RadarsFile)
    return radars


def _resolve_file_url(url: str, base_dir: Path) -> str:
    # file://relative/path is not a standard form, but a config next to its payloads is
    # easier to write with one, so a path without a leading slash is taken from the file.
    if not url.startswith("file://"):
        return url
    raw_path = url[len("file://") :]
    if raw_path.startswith("/"):
        return url
    return (base_dir / raw_path).resolve().as_uri()
