"""Resources: the warehouse, the pipeline's settings and the language model."""


import os
from pathlib import Path

import openai
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from hub_pipeline.lib.briefing.llm import LLMSettings, make_client
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
    so no secret is stored in the definitions or shown in the UI. The prices default to
    gpt-4o-mini's list prices at its launch in July 2024 (USD 0.15 and 0.60 per million tokens).
    Set them for another model, or to 0 to record no cost.
    """

    model: str = ""
    base_url: str = ""
    timeout_s: float = Field(default=60.0, description="Seconds per request before it counts as timed out.")
    max_retries: int = Field(default=2, description="Retries after a 429 rate limit, a 5xx or a connection error (not after quota exhaustion).")
    retry_backoff_s: float = Field(default=1.0, description="First retry delay in seconds; doubles per retry, plus jitter. Retry-After from the server wins.")
    max_tokens: int = Field(default=1500, description="Completion tokens per request.")
    max_input_tokens: int = Field(default=12000, description="Estimated prompt tokens per request; a radar with more papers is summarized in batches, then combined.")
    run_token_budget: int = Field(default=200000, description="Tokens the briefings of one day's step may spend; briefings beyond it are written offline. 0 means no limit.")
    price_in_per_1k: float = Field(default=0.00015, description="USD per 1,000 prompt tokens, for the cost estimate.")
    price_out_per_1k: float = Field(default=0.0006, description="USD per 1,000 completion tokens, for the cost estimate.")

    def model_name(self) -> str:
        return self.model or os.environ.get("HUB_LLM_MODEL") or "gpt-4o-mini"

    def settings(self) -> LLMSettings:
        return LLMSettings(
            model=self.model_name(),
            max_tokens=self.max_tokens,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            retry_backoff_s=self.retry_backoff_s,
            max_input_tokens=self.max_input_tokens,
            run_token_budget=self.run_token_budget,
            price_in_per_1k=self.price_in_per_1k,
            price_out_per_1k=self.price_out_per_1k,
        )

    def client(self) -> openai.OpenAI | None:
        api_key = os.environ.get("OPENAI_API_KEY", "").strip()
        if not api_key:
            return None
        base_url = self.base_url or os.environ.get("OPENAI_BASE_URL") or None
        return make_client(base_url, api_key, self.timeout_s, self.max_retries)


def duckdb_connection_config() -> dict[str, str | int]:
    """DuckDB settings from the environment: HUB_DUCKDB_MEMORY_LIMIT (e.g. 512MB) caps its memory
    and HUB_DUCKDB_THREADS its worker threads (each thread allocates buffers of its own)."""
    config: dict[str, str | int] = {}
    limit = os.environ.get("HUB_DUCKDB_MEMORY_LIMIT", "").strip()
    if limit:
        config["memory_limit"] = limit
    threads = os.environ.get("HUB_DUCKDB_THREADS", "").strip()
    if threads:
        config["threads"] = int(threads)
    return config


def default_resources() -> dict[str, object]:
    return {
        "duckdb": DuckDBResource(database=str(warehouse_path(default_data_dir())), connection_config=duckdb_connection_config()),
        "hub": HubSettings(),
        "llm": LLMResource(),
    }
