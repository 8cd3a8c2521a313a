"""AcademicHub: a daily research radar built as Dagster assets over a DuckDB warehouse.

``hub_pipeline.defs`` is the one Definitions object. It is loaded on first access, so the
Dagster-free modules under ``hub_pipeline.lib`` import without loading Dagster.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "defs":
        from hub_pipeline.definitions import defs

        return defs
    raise AttributeError(f"module 'hub_pipeline' has no attribute {name!r}")
