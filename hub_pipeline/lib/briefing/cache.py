"""Response cache of the LLM writer: one validated model reply per cache key.

The key covers the model, the prompt version, the language, the radar (id and query) and the
inputs: every paper id with its version and a digest of its title and abstract. Re-running a
day or a backfill with unchanged inputs therefore reuses the reply and spends no tokens, and any
change to a paper or the prompt makes a new key.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from typing import Any, Protocol

import duckdb

from hub_pipeline.lib.models import BriefingPaper, RadarInfo

CACHE_TABLE = "raw.llm_cache"


class ReplyCache(Protocol):
    """Store of validated replies, kept between runs."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, entry: dict[str, Any]) -> None: ...


def cache_key(model: str, prompt_version: str, radar: RadarInfo, papers: list[BriefingPaper]) -> str:
    """Return the SHA-256 hex key of one briefing request."""
    inputs = sorted(
        [
            paper.paper_id,
            paper.version,
            paper.is_update,
            paper.published_journal,
            paper.feed_category,
            hashlib.sha256(f"{paper.title}\n{paper.abstract}".encode()).hexdigest()[:16],
        ]
        for paper in papers
    )
    material = {
        "model": model,
        "prompt_version": prompt_version,
        "language": radar.language,
        "radar": [radar.radar_id, radar.name, radar.query, radar.description, radar.glossary],
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class MemoryCache:
    """A dict-backed cache, for tests and one-off scripts."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry


class WarehouseCache:
    """The cache in the warehouse table raw.llm_cache, one row per key.

    A reply is written as soon as it is validated, outside the day's transaction, so tokens
    already paid for are kept even when a later step of the run fails.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, radar_id: str = "", day: date | None = None) -> None:
        self.conn = conn
        self.radar_id = radar_id
        self.day = day

    def for_briefing(self, radar_id: str, day: date) -> "WarehouseCache":
        return WarehouseCache(self.conn, radar_id, day)

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT entry FROM {CACHE_TABLE} WHERE cache_key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.conn.execute(f"DELETE FROM {CACHE_TABLE} WHERE cache_key = ?", [key])
        self.conn.execute(
            f"INSERT INTO {CACHE_TABLE} (cache_key, radar_id, day, model, prompt_version, language, "
            "entry, tokens_in, tokens_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                self.radar_id,
                self.day,
                entry.get("model"),
                entry.get("prompt_version"),
                entry.get("language"),
                json.dumps(entry, ensure_ascii=False, sort_keys=True),
                entry.get("tokens_in", 0),
                entry.get("tokens_out", 0),
                datetime.now(timezone.utc),
            ],
        )
