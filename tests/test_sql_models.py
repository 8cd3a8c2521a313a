"""The SQL model loader: headers, builds, data tests, and checks that block downstream."""

from datetime import date

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.sql.assets import build_sql_assets
from hub_pipeline.lib.sql_models import SqlModelError, build_model, load_models, parse_model, run_data_tests
from tests.conftest import REPO


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_models_load():
    models = {model.table: model for model in load_models(REPO / "dbt_like_sql")}
    assert models["main.papers"].unique == [["paper_id"]]
    assert models["main.paper_listings"].materialized == "partitioned"
    assert models["staging.entries"].materialized == "view"
    assert "paper_id" in models["main.papers"].columns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("select 1", "must start with a /*"),
        ("/*\nmaterialized: table\n*/\nselect 1", "description"),
        ("/*\ndescription: x\nmaterialized: sometimes\n*/\nselect 1", "materialized"),
        ("/*\ndescription: x\nmaterialized: partitioned\n*/\nselect 1", "partition_column"),
        ("/*\ndescription: x\nmaterialized: view\n*/\nselect $window_start", "view cannot"),
        ("/*\ndescription: x\nowner: me\n*/\nselect 1", "owner"),
        ("/*\ndescription: x\nrows_per_pass: 10\ndepends_on: [t]\n*/\nselect 1", "$passes and $pass"),
        ("/*\ndescription: x\nmaterialized: view\nrows_per_pass: 10\n*/\nselect $pass, $passes", "materialized: table"),
        ("/*\ndescription: x\nrows_per_pass: 0\ndepends_on: [t]\n*/\nselect $pass, $passes", "rows_per_pass"),
    ],
)
def test_invalid_header_named(tmp_path, text, message):
    path = write(tmp_path / "main" / "bad.sql", text)
    with pytest.raises(SqlModelError) as raised:
        parse_model(path)
    assert message in str(raised.value)
    assert "bad.sql" in str(raised.value)


def test_passes_hold_each_group_once(tmp_path):
    # 10 input rows at 3 per pass: 4 passes, each over the keys whose hash falls in it.
    model = parse_model(
        write(
            tmp_path / "main" / "totals.sql",
            "/*\ndescription: One row per key.\nrows_per_pass: 3\ndepends_on: [main.source_rows]\n*/\n"
            "SELECT key, sum(amount) AS total, list(amount ORDER BY amount) AS amounts, $passes AS passes\n"
            "FROM main.source_rows WHERE hash(key) % $passes = $pass GROUP BY key",
        )
    )
    conn = duckdb.connect()
    conn.execute("CREATE TABLE main.source_rows AS SELECT i % 4 AS key, i AS amount FROM range(10) t(i)")
    assert build_model(conn, model, date(2025, 3, 1), date(2025, 3, 2)) == 4
    rows = conn.execute("SELECT key, total, amounts, passes FROM main.totals ORDER BY key").fetchall()
    assert rows == [(0, 12, [0, 4, 8], 4), (1, 15, [1, 5, 9], 4), (2, 8, [2, 6], 4), (3, 10, [3, 7], 4)]


def test_out_of_memory_names_the_setting(tmp_path):
    model = parse_model(
        write(
            tmp_path / "main" / "big.sql",
            "/*\ndescription: One row per number.\n*/\nSELECT i, list(i) AS items FROM range(3000000) t(i) GROUP BY i",
        )
    )
    conn = duckdb.connect(config={"memory_limit": "20MB", "threads": 1})
    conn.execute("CREATE TABLE main.big AS SELECT 1 AS i, [1] AS items")
    with pytest.raises(SqlModelError) as raised:
        build_model(conn, model, date(2025, 3, 1), date(2025, 3, 2))
    assert "HUB_DUCKDB_MEMORY_LIMIT" in str(raised.value)
    assert "now 19.0 MiB" in str(raised.value)
    assert conn.execute("SELECT count(*) FROM main.big").fetchone() == (1,)


def test_partitioned_model_replaces_window_only(tmp_path):
    model = parse_model(
        write(
            tmp_path / "main" / "days.sql",
            "/*\ndescription: One row per day.\nmaterialized: partitioned\npartition_column: day\n"
            "tests:\n  unique: [day]\n*/\n"
            "SELECT d::DATE AS day, 'built' AS label FROM range(DATE '2025-03-01', DATE '2025-03-04', INTERVAL 1 DAY) t(d)\n"
            "WHERE d >= $window_start AND d < $window_end",
        )
    )
    conn = duckdb.connect()
    build_model(conn, model, date(2025, 3, 1), date(2025, 3, 3))
    conn.execute("UPDATE main.days SET label = 'old'")
    rows = build_model(conn, model, date(2025, 3, 2), date(2025, 3, 4))
    assert rows == 3
    assert conn.execute("SELECT day, label FROM main.days ORDER BY day").fetchall() == [
        (date(2025, 3, 1), "old"),
        (date(2025, 3, 2), "built"),
        (date(2025, 3, 3), "built"),
    ]
    assert all(result.passed for result in run_data_tests(conn, model))


def test_failed_build_keeps_previous_table(tmp_path):
    good = parse_model(write(tmp_path / "main" / "t.sql", "/*\ndescription: d\n*/\nSELECT 1 AS x"))
    bad = parse_model(write(tmp_path / "other" / "main" / "t.sql", "/*\ndescription: d\n*/\nSELECT no_such_column"))
    bad.schema = "main"
    conn = duckdb.connect()
    build_model(conn, good, date(2025, 1, 1), date(2025, 1, 2))
    with pytest.raises(SqlModelError, match="t.sql"):
        build_model(conn, bad, date(2025, 1, 1), date(2025, 1, 2))
    assert conn.execute("SELECT x FROM main.t").fetchall() == [(1,)]


def test_undocumented_column_rejected(tmp_path):
    model = parse_model(write(tmp_path / "main" / "t.sql", "/*\ndescription: d\ncolumns:\n  y: gone\n*/\nSELECT 1 AS x"))
    with pytest.raises(SqlModelError, match="does not produce"):
        build_model(duckdb.connect(), model, date(2025, 1, 1), date(2025, 1, 2))


def test_column_comments_written(tmp_path):
    model = parse_model(write(tmp_path / "main" / "t.sql", "/*\ndescription: A table.\ncolumns:\n  x: The x.\n*/\nSELECT 1 AS x"))
    conn = duckdb.connect()
    build_model(conn, model, date(2025, 1, 1), date(2025, 1, 2))
    assert conn.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 't'").fetchall() == [("The x.",)]
    assert conn.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 't'").fetchall() == [("A table.",)]


def test_failed_unique_check_blocks_downstream(tmp_path):
    sql_dir = tmp_path / "sql"
    write(
        sql_dir / "marts" / "dupes.sql",
        "/*\ndescription: Two rows with one key.\ntests:\n  unique: [k]\n*/\nSELECT 1 AS k UNION ALL SELECT 1",
    )
    write(
        sql_dir / "marts" / "after.sql",
        "/*\ndescription: Built from dupes.\ndepends_on: [main.dupes]\n*/\nSELECT count(*) AS n FROM main.dupes",
    )
    database = tmp_path / "w.duckdb"
    result = materialize(
        build_sql_assets(sql_dir),
        partition_key="2025-03-20",
        resources={"duckdb": DuckDBResource(database=str(database))},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    checks = {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}
    assert AssetKey("dupes") in materialized
    assert checks["unique_k"] is False
    assert AssetKey("after") not in materialized
    assert not result.success
