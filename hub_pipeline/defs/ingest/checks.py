"""Checks on the day's ingest: every empty day has a reason, and no row goes missing.

They run with the entries asset (declared as its check specs), so each partition's run shows
them in the Dagster UI next to the day's state per source.
"""


from datetime import date, timedelta
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
    conn: duckdb.DuckDBPyConnection,
    day: date,
    sources: list[SourceConfig],
    raw_dir: Path,
    abstract_counts: dict[tuple[str, date], tuple[int, int]] | None = None,
) -> tuple[dict[str, Any], list[AssetCheckResult]]:
    """Return the day's state per source for metadata, and the results of the day checks."""
    labels = {source.id: source.label for source in sources}
    states = day_state.state_summary(day_state.load_source_states(conn, day, labels))
    arxiv_ids = [source.id for source in sources if source.kind == "arxiv_rss"]
    outcomes = [
        ("arxiv_weekday_has_papers", day_state.check_arxiv_weekday(conn, day, arxiv_ids), AssetCheckSeverity.ERROR),
        ("empty_abstract_share", day_state.check_empty_abstracts(conn, day, counts=abstract_counts), AssetCheckSeverity.WARN),
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


def window_check_results(
    conn: duckdb.DuckDBPyConnection, days: list[date], sources: list[SourceConfig], raw_dir: Path
) -> tuple[dict[str, Any], list[AssetCheckResult]]:
    """Run the day checks for every day of a window and fold them into one result per check.

    A check passes when it passes on every day; its metadata names the days that failed. The
    state returned for metadata is the last day's.
    """
    counts = day_state.empty_abstract_counts(conn, days[0] - timedelta(days=day_state.TRAILING_DAYS), days[-1])
    per_day = [(day, *day_check_results(conn, day, sources, raw_dir, counts)) for day in days]
    if len(per_day) == 1:
        return per_day[0][1], per_day[0][2]

    folded = []
    for index, first in enumerate(per_day[0][2]):
        results = [(day, results[index]) for day, _, results in per_day]
        failed = [(day, result) for day, result in results if not result.passed]
        description = (
            f"{failed[0][0]}: {failed[0][1].description}" + (f" (and {len(failed) - 1} more days)" if len(failed) > 1 else "")
            if failed
            else f"passed on all {len(results)} days"
        )
        folded.append(
            AssetCheckResult(
                check_name=first.check_name,
                passed=not failed,
                severity=first.severity,
                description=description,
                metadata={"days": len(results), "failed_days": MetadataValue.json([str(day) for day, _ in failed][:100])},
            )
        )
    return per_day[-1][1], folded


def _metadata_value(value: Any) -> Any:
    return MetadataValue.json(value) if isinstance(value, dict) else value
