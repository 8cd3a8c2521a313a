"""SQL models: plain DuckDB SQL files whose leading comment declares their metadata.

A model file ``dbt_like_sql/<folder>/<table>.sql`` builds the table ``<schema>.<table>``, where
the schema is the folder's name, except ``marts/``, whose tables are the public ones in ``main``.
The file starts with a block comment holding YAML:

    /*
    description: One row per work.
    materialized: table          # table (rebuilt whole), view, or partitioned
    partition_column: announced_day   # partitioned only: the day column the window deletes
    rows_per_pass: 150000        # table only: build in passes over disjoint sets of rows
    depends_on: [staging.entries]
    tests:
      unique: [paper_id, [source_id, loaded_day, item_index]]
      not_null: [paper_id, title]
    columns:
      paper_id: Canonical id of the work.
    metrics:                     # integer queries reported as metadata after each build
      new_papers: SELECT count(*) FROM main.papers WHERE first_announced_day >= $window_start
    */
    SELECT ...

Partitioned models read the day window as the bound parameters ``$window_start`` (inclusive)
and ``$window_end`` (exclusive); the values are never formatted into the SQL text.

A table model with ``rows_per_pass`` is built in ceil(rows / rows_per_pass) passes, where rows
is the row count of its first ``depends_on``. Its SQL reads the bound parameters ``$passes``
and ``$pass`` (from 0) and keeps, in each pass, the rows of one disjoint group, e.g.
``WHERE hash(paper_id) % $passes = $pass``. Aggregates whose state DuckDB cannot spill to disk
(lists, windows over wide rows) then need a fixed share of memory_limit whatever the
warehouse's size.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub_pipeline.lib.warehouse import quote_literal

from hub_pipeline.lib.pause import pause_point

PUBLIC_FOLDER = "marts"
_HEADER = re.compile(r"\A\s*/\*(?P<header>.*?)\*/(?P<body>.*)\Z", re.DOTALL)
_PASS, _PASSES = re.compile(r"\$pass\b"), re.compile(r"\$passes\b")


class SqlModelError(ValueError):
    """A model file with a missing or invalid header, or a build that failed."""


class _Tests(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unique: list[str | list[str]] = []
    not_null: list[str] = []


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    materialized: Literal["table", "view", "partitioned"] = "table"
    partition_column: str | None = None
    rows_per_pass: int | None = Field(default=None, ge=1)
    depends_on: list[str] = []
    tests: _Tests = _Tests()
    columns: dict[str, str] = {}
    metrics: dict[str, str] = {}


@dataclass(slots=True)
class SqlModel:
    """One parsed model file."""

    path: Path
    schema: str
    name: str
    description: str
    materialized: str
    partition_column: str | None
    depends_on: list[str]
    rows_per_pass: int | None
    unique: list[list[str]]
    not_null: list[str]
    columns: dict[str, str]
    metrics: dict[str, str]
    sql: str

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(slots=True)
class DataTestResult:
    """The outcome of one data test on a built model."""

    name: str  # e.g. unique_paper_id, not_null_title
    passed: bool
    failing_rows: int
    description: str
    sample: list[str] = field(default_factory=list)


def schema_for_folder(folder: str) -> str:
    return "main" if folder == PUBLIC_FOLDER else folder


def parse_model(path: Path) -> SqlModel:
    """Parse one model file; raise SqlModelError naming the file and the problem."""
    text = path.read_text(encoding="utf-8")
    match = _HEADER.match(text)
    if match is None:
        raise SqlModelError(f"{path}: a model must start with a /* ... */ comment holding its YAML header")
    try:
        raw = yaml.safe_load(match.group("header")) or {}
        header = _Header.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as error:
        raise SqlModelError(f"{path}: invalid model header: {error}") from error
    if header.materialized == "partitioned" and not header.partition_column:
        raise SqlModelError(f"{path}: a partitioned model needs partition_column")
    body = match.group("body").strip().rstrip(";")
    uses_window = "$window_start" in body or "$window_end" in body
    if header.materialized == "view" and uses_window:
        raise SqlModelError(f"{path}: a view cannot take the $window_start/$window_end parameters")
    if header.rows_per_pass is not None:
        if header.materialized != "table" or not header.depends_on:
            raise SqlModelError(f"{path}: rows_per_pass needs materialized: table and a depends_on whose rows it counts")
        if not (_PASS.search(body) and _PASSES.search(body)):
            raise SqlModelError(f"{path}: a model with rows_per_pass must filter its rows with $passes and $pass")
    return SqlModel(
        path=path,
        schema=schema_for_folder(path.parent.name),
        name=path.stem,
        description=header.description.strip(),
        materialized=header.materialized,
        partition_column=header.partition_column,
        depends_on=header.depends_on,
        rows_per_pass=header.rows_per_pass,
        unique=[[item] if isinstance(item, str) else item for item in header.tests.unique],
        not_null=header.tests.not_null,
        columns=header.columns,
        metrics=header.metrics,
        sql=body,
    )


def load_models(sql_dir: Path) -> list[SqlModel]:
    """Load every model under ``sql_dir``, in a stable order."""
    models = [parse_model(path) for path in sorted(sql_dir.glob("*/*.sql"))]
    tables = [model.table for model in models]
    duplicates = {table for table in tables if tables.count(table) > 1}
    if duplicates:
        raise SqlModelError(f"two model files build the same table: {sorted(duplicates)}")
    return models


def _parameters(sql: str, window_start: date, window_end: date) -> dict[str, object]:
    # DuckDB rejects named parameters that the statement does not use, so pass only those used.
    values = {"window_start": window_start, "window_end": window_end}
    return {name: value for name, value in values.items() if f"${name}" in sql}


def _passes(conn: duckdb.DuckDBPyConnection, model: SqlModel) -> int:
    if model.rows_per_pass is None:
        return 1
    row = conn.execute(f"SELECT count(*) FROM {model.depends_on[0]}").fetchone()
    return max(1, math.ceil((row[0] if row else 0) / model.rows_per_pass))


def build_model(conn: duckdb.DuckDBPyConnection, model: SqlModel, window_start: date, window_end: date) -> int:
    """Build one model in a single transaction and return its row count afterwards.

    A table model is rebuilt whole; a partitioned model replaces the rows of the window only;
    a view is recreated. A failure rolls back, so the previous table stays as it was.
    """
    parameters = _parameters(model.sql, window_start, window_end)
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
    conn.execute("BEGIN TRANSACTION")
    try:
        if model.materialized == "view":
            conn.execute(f"CREATE OR REPLACE VIEW {model.table} AS {model.sql}")
        elif model.rows_per_pass is not None:
            passes = _passes(conn, model)
            conn.execute(f"CREATE OR REPLACE TABLE {model.table} AS {model.sql}", {**parameters, "passes": passes, "pass": 0})
            for number in range(1, passes):
                conn.execute(f"INSERT INTO {model.table} {model.sql}", {**parameters, "passes": passes, "pass": number})
        elif model.materialized == "table":
            conn.execute(f"CREATE OR REPLACE TABLE {model.table} AS {model.sql}", parameters)
        else:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {model.table} AS SELECT * FROM ({model.sql}) AS model LIMIT 0",
                parameters,
            )
            conn.execute(
                f"DELETE FROM {model.table} WHERE {model.partition_column} >= $window_start "
                f"AND {model.partition_column} < $window_end",
                {"window_start": window_start, "window_end": window_end},
            )
            conn.execute(f"INSERT INTO {model.table} BY NAME SELECT * FROM ({model.sql}) AS model", parameters)
        _comment(conn, model)
        pause_point(f"sql:{model.table}")  # crash-safety tests kill the run here, mid-transaction
        conn.execute("COMMIT")
    except duckdb.Error as error:
        conn.execute("ROLLBACK")
        hint = ""
        if isinstance(error, duckdb.OutOfMemoryException):
            limit = conn.execute("SELECT current_setting('memory_limit')").fetchone()
            hint = (
                f". The previous {model.table} is kept. Raise HUB_DUCKDB_MEMORY_LIMIT (DuckDB's memory_limit,"
                f" now {limit[0] if limit else 'unknown'}) and run again"
            )
        raise SqlModelError(f"building {model.table} from {model.path} failed: {error}{hint}") from error
    count = conn.execute(f"SELECT count(*) FROM {model.table}").fetchone()
    return int(count[0]) if count else 0


def _comment(conn: duckdb.DuckDBPyConnection, model: SqlModel) -> None:
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    conn.execute(f"COMMENT ON {kind} {model.table} IS {quote_literal(model.description)}")
    actual = {row[0] for row in conn.execute(f"DESCRIBE {model.table}").fetchall()}
    undocumented = set(model.columns) - actual
    if undocumented:
        raise SqlModelError(
            f"{model.path}: the header documents columns the query does not produce: {sorted(undocumented)}"
        )
    for column, text in model.columns.items():
        conn.execute(f"COMMENT ON COLUMN {model.table}.{column} IS {quote_literal(text)}")


def compute_metrics(
    conn: duckdb.DuckDBPyConnection, model: SqlModel, window_start: date, window_end: date
) -> dict[str, int]:
    """Run the model's metric queries for the window; each returns one integer."""
    metrics = {}
    for name, sql in model.metrics.items():
        try:
            row = conn.execute(sql, _parameters(sql, window_start, window_end)).fetchone()
        except duckdb.Error as error:
            raise SqlModelError(f"{model.path}: metric {name!r} failed: {error}") from error
        metrics[name] = int(row[0]) if row and row[0] is not None else 0
    return metrics


def run_data_tests(conn: duckdb.DuckDBPyConnection, model: SqlModel) -> list[DataTestResult]:
    """Run the model's unique and not-null tests over the whole built table."""
    results = []
    for columns in model.unique:
        keys = ", ".join(columns)
        rows = conn.execute(
            f"SELECT concat_ws(' | ', {keys}) FROM {model.table} GROUP BY {keys} HAVING count(*) > 1 ORDER BY 1"
        ).fetchall()
        results.append(
            DataTestResult(
                name="unique_" + "_".join(columns),
                passed=not rows,
                failing_rows=len(rows),
                description=f"({keys}) is unique in {model.table}",
                sample=[str(row[0]) for row in rows[:5]],
            )
        )
    for column in model.not_null:
        count = conn.execute(f"SELECT count(*) FROM {model.table} WHERE {column} IS NULL").fetchone()
        failing = int(count[0]) if count else 0
        results.append(
            DataTestResult(
                name=f"not_null_{column}",
                passed=failing == 0,
                failing_rows=failing,
                description=f"{column} is never NULL in {model.table}",
            )
        )
    return results
