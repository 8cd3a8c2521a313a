"""Checks on the day's ingest: every empty day has a reason, and no row goes missing.

They run with the entries asset (declared as its check specs), so each partition's run shows
them in the Dagster UI next to the day's state per source.
"""


from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from hub_pipeline.lib import day_state
from hub_pipeline.lib.config import SourceConfig

DAY_CHECK_SPECS = [
    AssetCheckSpec(
        name="arxiv_weekday_has_papers",
        asset="entries",
        description="A weekday with zero new arXiv papers fails unless fetch_log gives every arXiv source a reason.",
    ),
    AssetCheckSpec(
        name="empty_abstract_share",
        asset="entries",
        description=f"Each source's share of empty abstracts stays near its trailing {day_state.TRAILING_DAYS}-day level.",
    ),
    AssetCheckSpec(
        name="expected_vs_observed_counts",
        asset="entries",
        description="Each loaded source stored one row per item of its payload (expected = payload items, observed = rows).",
    ),
]


def day_check_results(
    conn: duckdb.DuckDBPyConnection, day: date, sources: list[SourceConfig], raw_dir: Path
) -> tuple[dict[str, Any], list[AssetCheckResult]]:
    """Return the day's state per source for metadata, and the results of the day checks."""
    labels = {source.id: source.label for source in sources}
    states = day_state.state_summary(day_state.load_source_states(conn, day, labels))
    arxiv_ids = [source.id for source in sources if source.kind == "arxiv_rss"]
    outcomes = [
        ("arxiv_weekday_has_papers", day_state.check_arxiv_weekday(conn, day, arxiv_ids), AssetCheckSeverity.ERROR),
        ("empty_abstract_share", day_state.check_empty_abstracts(conn, day), AssetCheckSeverity.WARN),
        ("expected_vs_observed_counts", day_state.check_expected_counts(conn, day, raw_dir), AssetCheckSeverity.WARN),
    ]
    results = [
        AssetCheckResult(
            check_name=name,
            passed=outcome.passed,
            severity=severity,
            description=outcome.description,
            metadata={key: _metadata_value(value) for key, value in outcome.metadata.items()},
        )
        for name, outcome, severity in outcomes
    ]
    return states, results


def _metadata_value(value: Any) -> Any:
    return MetadataValue.json(value) if isinstance(value, dict) else value
