"""One Dagster asset per SQL model in dbt_like_sql/, with its data tests as blocking checks."""


from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
    BackfillPolicy,
)
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.sql_models import SqlModel, build_model, compute_metrics, load_models, run_data_tests

SQL_DIR = Path(__file__).resolve().parents[3] / "dbt_like_sql"

# Tables written by Python assets, so that a model's depends_on can name them.
PYTHON_TABLES = {
    "raw.entries": AssetKey("entries"),
    "raw.fetch_attempts": AssetKey("raw_payloads"),
    "intermediate.paper_identity": AssetKey(["intermediate", "paper_identity"]),
}


def asset_key_for(table: str) -> AssetKey:
    """Public tables are keyed by their name alone (papers); working tables by schema and name."""
    schema, _, name = table.partition(".")
    return AssetKey([name]) if schema == "main" else AssetKey([schema, name])


def _check_specs(model: SqlModel, key: AssetKey) -> list[AssetCheckSpec]:
    specs = [
        AssetCheckSpec(
            name="unique_" + "_".join(columns),
            asset=key,
            description=f"({', '.join(columns)}) is unique; a failure stops the assets downstream.",
            blocking=True,
        )
        for columns in model.unique
    ]
    specs += [
        AssetCheckSpec(
            name=f"not_null_{column}",
            asset=key,
            description=f"{column} is never NULL; a failure stops the assets downstream.",
            blocking=True,
        )
        for column in model.not_null
    ]
    return specs


def _model_asset(model: SqlModel, model_tables: set[str], sql_dir: Path) -> AssetsDefinition:
    key = asset_key_for(model.table)
    deps = []
    for table in model.depends_on:
        if table in model_tables:
            deps.append(asset_key_for(table))
        elif table in PYTHON_TABLES:
            deps.append(PYTHON_TABLES[table])
        else:
            raise ValueError(f"{model.path}: depends_on names {table!r}, which no model or asset writes")

    @asset(
        key=key,
        deps=deps,
        description=model.description,
        partitions_def=daily_partitions,
        # A model takes the whole window at once, so a backfill of a year is one run.
        backfill_policy=BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        group_name="warehouse",
        kinds={"sql", "duckdb"},
        check_specs=_check_specs(model, key),
        metadata={"sql_file": str(model.path.relative_to(sql_dir.parent)), "materialized": model.materialized},
    )
    def _build(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
        window = context.partition_time_window
        with warehouse(duckdb) as conn:
            row_count = build_model(conn, model, window.start.date(), window.end.date())
            metrics = compute_metrics(conn, model, window.start.date(), window.end.date())
            results = run_data_tests(conn, model)

        context.log.info(f"{model.table}: {row_count} rows; tests failed: {[r.name for r in results if not r.passed]}")
        return MaterializeResult(
            metadata={"rows": row_count, **metrics, "table": model.table},
            check_results=[
                AssetCheckResult(
                    check_name=result.name,
                    passed=result.passed,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "failing_rows": result.failing_rows,
                        "sample": MetadataValue.text(", ".join(result.sample)),
                    },
                    description=result.description,
                )
                for result in results
            ],
        )

    return _build


def build_sql_assets(sql_dir: Path = SQL_DIR) -> list[AssetsDefinition]:
    models = load_models(sql_dir)
    tables = {model.table for model in models}
    return [_model_asset(model, tables, sql_dir) for model in models]
