"""Shared test helpers: where the real fixtures are, and a pipeline run against tmp_path."""

import os
from datetime import date
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

# Whole-pipeline tests rank on the query alone unless a test turns embeddings on: the local
# model takes seconds to load, and the embeddings tests exercise both sources directly.
os.environ.setdefault("HUB_EMBEDDINGS", "off")


def fixtures_dir() -> Path:
    """Return the shared real payloads: HUB_FIXTURES_DIR, or ../shared/fixtures beside the repo."""
    configured = os.environ.get("HUB_FIXTURES_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    path = fixtures_dir()
    if not path.is_dir():
        pytest.fail(f"shared fixtures not found at {path}; set HUB_FIXTURES_DIR to the shared/fixtures folder")
    return path


def write_sources(path: Path, sources: list[dict]) -> Path:
    path.write_text(
        yaml.safe_dump({"fetch": {"contact_email": "tests@example.org", "max_attempts": 1}, "sources": sources}),
        encoding="utf-8",
    )
    return path


def arxiv_day_sources(fixtures: Path, day: str) -> list[dict]:
    """The six arXiv category feeds stored for ``day`` in arxiv_rss_days/, as file:// sources."""
    sources = []
    for feed in sorted((fixtures / "arxiv_rss_days" / day).glob("*.xml")):
        category = feed.stem
        sources.append(
            {
                "id": "arxiv-" + category.lower().replace(".", "-"),
                "kind": "arxiv_rss",
                "category": category,
                "url": feed.resolve().as_uri(),
            }
        )
    return sources


def run_day(data_dir: Path, day: date | str, sources_file: Path, radars_file: Path | None = None, llm=None):
    """Materialize the whole daily graph for one day into ``data_dir``; return the result."""
    from dagster import DagsterInstance, materialize
    from dagster_duckdb import DuckDBResource

    from hub_pipeline.definitions import ALL_ASSETS
    from hub_pipeline.defs.resources import HubSettings, LLMResource

    resources = {
        "duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")),
        "hub": HubSettings(
            data_dir=str(data_dir),
            sources_file=str(sources_file),
            radars_file=str(radars_file or REPO / "config" / "radars.yaml"),
        ),
        "llm": llm or LLMResource(),
    }
    return materialize(
        ALL_ASSETS,
        partition_key=str(day),
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
