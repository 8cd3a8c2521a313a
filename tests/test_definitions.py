"""The Definitions object, the daily schedule and arXiv's announcement calendar."""

import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from dagster import RunRequest, SkipReason, build_schedule_context

from hub_pipeline.defs.jobs import daily_schedule
from hub_pipeline.lib.calendar import is_announcement_day, latest_announcement_day, no_announcement_reason
from tests.conftest import REPO


def test_definitions_validate(tmp_path):
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path), HUB_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    # Loading the definitions must not open the warehouse.
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_schedule_runs_the_weekday_mailing():
    # Thursday 2025-03-20 07:00 UTC: the mailing dated 2025-03-20 is out.
    context = build_schedule_context(scheduled_execution_time=datetime(2025, 3, 20, 7, 0, tzinfo=timezone.utc))
    request = daily_schedule(context)
    assert isinstance(request, RunRequest)
    assert request.partition_key == "2025-03-20"


def test_schedule_skips_saturday():
    context = build_schedule_context(scheduled_execution_time=datetime(2025, 3, 22, 7, 0, tzinfo=timezone.utc))
    assert isinstance(daily_schedule(context), SkipReason)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 3, 20, 7, 0, tzinfo=timezone.utc), date(2025, 3, 20)),  # Thu 03:00 EDT
        (datetime(2025, 3, 20, 4, 0, tzinfo=timezone.utc), date(2025, 3, 19)),  # Thu 00:00 EDT: feed not rebuilt yet
        (datetime(2025, 3, 22, 12, 0, tzinfo=timezone.utc), date(2025, 3, 21)),  # Saturday: Friday's mailing
        (datetime(2025, 3, 24, 3, 0, tzinfo=timezone.utc), date(2025, 3, 21)),  # Sun 23:00 EDT
        (datetime(2025, 12, 26, 12, 0, tzinfo=timezone.utc), date(2025, 12, 24)),  # holidays on 25 and 26 Dec
    ],
)
def test_latest_announcement_day(now, expected):
    assert latest_announcement_day(now) == expected


def test_no_announcement_reasons():
    assert is_announcement_day(date(2025, 3, 20))
    assert no_announcement_reason(date(2025, 3, 20)) is None
    assert "weekends" in no_announcement_reason(date(2025, 3, 22))
    assert "holiday" in no_announcement_reason(date(2025, 12, 25))
