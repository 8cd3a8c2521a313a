"""Resources: the warehouse, the pipeline's settings and the language model."""


import os
from pathlib import Path

import openai
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from hub_pipeline.lib.briefing.llm import make_client
from hub_pipeline.lib.config import RadarsFile, SourcesFile, load_radars, load_sources
from hub_pipeline.lib.warehouse import default_data_dir, warehouse_path

WRITER_POOL = "duckdb_writer"  # every asset that writes the warehouse runs in this pool


class HubSettings(ConfigurableResource):
    """Where the data lives and which configuration files to read.

    Empty values are resolved when a run starts: HUB_DATA_DIR (default ./data),
    HUB_SOURCES_FILE (default config/sources.yaml), HUB_RADARS_FILE (default config/radars.yaml).
    """

    data_dir: str = ""
    sources_file: str = ""
    radars_file: str = ""

    def data_path(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else default_data_dir()

    def raw_dir(self) -> Path:
        return self.data_path() / "raw"

    def sources(self) -> SourcesFile:
        path = self.sources_file or os.environ.get("HUB_SOURCES_FILE") or "config/sources.yaml"
        return load_sources(Path(path))

    def radars(self) -> RadarsFile:
        path = self.radars_file or os.environ.get("HUB_RADARS_FILE") or "config/radars.yaml"
        return load_radars(Path(path))


class LLMResource(ConfigurableResource):
    """An OpenAI-compatible chat endpoint; without OPENAI_API_KEY briefings are written offline.

    The key, OPENAI_BASE_URL and HUB_LLM_MODEL are read from the environment when a run starts,
    so no secret is stored in the definitions or shown in the UI.
    """

    model: str = ""
    base_url: str = ""
    timeout_s: float = 60.0
    max_retries: int = 2
    max_tokens: int = 1500

    def model_name(self) -> str:
        return self.model or os.environ.get("HUB_LLM_MODEL") or "gpt-4o-mini"

    def client(self) -> openai.OpenAI | None:
        api_key = os.environ.get("OPENAI_API_KEY", "").strip()
        if not api_key:
            return None
        base_url = self.base_url or os.environ.get("OPENAI_BASE_URL") or None
        return make_client(base_url, api_key, self.timeout_s, self.max_retries)


def duckdb_connection_config() -> dict[str, str]:
    """DuckDB settings from the environment: HUB_DUCKDB_MEMORY_LIMIT (e.g. 512MB) caps its memory."""
    limit = os.environ.get("HUB_DUCKDB_MEMORY_LIMIT", "").strip()
    return {"memory_limit": limit} if limit else {}


def default_resources() -> dict[str, object]:
    return {
        "duckdb": DuckDBResource(database=str(warehouse_path(default_data_dir())), connection_config=duckdb_connection_config()),
        "hub": HubSettings(),
        "llm": LLMResource(),
    }
