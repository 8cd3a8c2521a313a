"""The command line that `make run` calls, run as a user would, in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from tests.conftest import REPO, write_sources
from tests.http_fixtures import Reply, serve


def run_cli(tmp_path, *arguments):
    env = dict(os.environ, HUB_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    env.pop("DAGSTER_HOME", None)
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "hub_pipeline.cli", "run", *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_invalid_config_exits_before_running(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: r, name: R, language: en, query: 'a AND'}\n", encoding="utf-8")
    completed = run_cli(tmp_path, "--date", "2025-03-20", "--radars", str(radars))
    assert completed.returncode == 2
    assert "radars.0 (id 'r').query" in completed.stderr
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_invalid_date_rejected(tmp_path):
    completed = run_cli(tmp_path, "--date", "2025-13-01")
    assert completed.returncode == 2
    assert "invalid date '2025-13-01'" in completed.stderr


def test_all_sources_failing_exits_nonzero(tmp_path):
    missing = tmp_path / "no-such-feed.xml"
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "gone", "kind": "rss", "url": missing.as_uri()}])
    completed = run_cli(tmp_path, "--date", "2025-03-20", "--sources", str(sources))
    assert completed.returncode == 3
    assert "no source loaded for 2025-03-20" in completed.stderr
    assert "gone" in completed.stdout
    assert "source_error" in completed.stdout
    # The run is recorded in the instance under the data folder, where `make dev` looks.
    assert (tmp_path / "data" / "dagster" / "dagster.yaml").is_file()


def test_impossible_day_named(tmp_path):
    completed = run_cli(tmp_path, "--date", "2025-02-30")
    assert completed.returncode == 2
    assert "no such calendar day" in completed.stderr


def test_compact_date_rejected(tmp_path):
    completed = run_cli(tmp_path, "--date", "20250320")
    assert completed.returncode == 2
    assert "use YYYY-MM-DD" in completed.stderr


def test_day_outside_partitions_rejected(tmp_path):
    for day in ("2030-01-01", "1990-01-02"):
        completed = run_cli(tmp_path, "--date", day)
        assert completed.returncode == 2
        assert f"invalid date '{day}': outside the daily partitions" in completed.stderr
        assert "use a day from 2007-04-02 to " in completed.stderr
        assert "Traceback" not in completed.stderr
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_backfill_range_outside_partitions_rejected(tmp_path):
    env = dict(os.environ, HUB_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    for first, last, option in (("2007-04-01", "2007-04-03", "--from"), ("2025-01-01", "2030-01-01", "--to")):
        completed = subprocess.run(
            [sys.executable, "-m", "hub_pipeline.cli", "backfill", "--from", first, "--to", last],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )
        assert completed.returncode == 2
        assert f"argument {option}: invalid date" in completed.stderr
        assert "outside the daily partitions" in completed.stderr
    assert not (tmp_path / "data").exists()


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory, fixtures):
    """One `run` of a stored arXiv feed, with a radar whose query has a lower-case "or"."""
    folder = tmp_path_factory.mktemp("offline-run")
    feed = fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.RO.xml"
    sources = write_sources(folder / "sources.yaml", [{"id": "arxiv-cs-ro", "kind": "arxiv_rss", "category": "cs.RO", "url": feed.as_uri()}])
    radars = folder / "radars.yaml"
    radars.write_text("radars:\n  - {id: robots, name: Robots, language: en, query: 'robot or grasp'}\n", encoding="utf-8")
    return run_cli(folder, "--date", "2025-03-20", "--sources", str(sources), "--radars", str(radars))


def test_lowercase_operator_warned_once_per_run(offline_run):
    assert offline_run.returncode == 0, offline_run.stderr[-2000:]
    output = offline_run.stdout + offline_run.stderr
    assert output.count("radar 'robots': query 'robot or grasp' has a lower-case 'or' at position 6 (counting from 0)") == 1


def test_lowercase_operator_warning_in_event_log(offline_run):
    assert offline_run.returncode == 0, offline_run.stderr[-2000:]
    home = Path(offline_run.args[offline_run.args.index("--sources") + 1]).parent / "data" / "dagster"
    with DagsterInstance.from_config(str(home)) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        messages = [entry.user_message for entry in instance.all_logs(run_id) if entry.dagster_event is None]
    assert sum("has a lower-case 'or' at position 6" in message for message in messages) == 1


def test_run_output_without_debug_lines(offline_run):
    assert offline_run.returncode == 0, offline_run.stderr[-2000:]
    output = offline_run.stdout + offline_run.stderr
    assert " - DEBUG - " not in output
    assert " - INFO - " in output  # the console logger still prints the steps' own messages
    assert "varying BackfillPolicies" not in output
    assert "warnings.warn(" not in output


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_backfill_without_days_prints_usage():
    # make reads variables from the environment too, and from an outer make's MAKEFLAGS.
    env = {name: value for name, value in os.environ.items() if name not in {"FROM", "TO", "MAKEFLAGS", "MFLAGS"}}
    for arguments in ([], ["TO=2025-01-31"], ["FROM=2025-01-01"]):
        completed = subprocess.run(["make", "backfill", *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert completed.returncode == 2
        assert "is missing" in completed.stderr
        assert "usage: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD" in completed.stderr
        assert "expected one argument" not in completed.stderr  # stopped before the CLI ran


def test_backfill_with_briefings_prints_outputs(tmp_path, fixtures):
    pages = fixtures / "corpus" / "arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09"
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": pages.as_uri()}])
    env = dict(os.environ, HUB_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    env.pop("DAGSTER_HOME", None)
    env.pop("OPENAI_API_KEY", None)
    completed = subprocess.run(
        [sys.executable, "-m", "hub_pipeline.cli", "backfill", "--from", "2008-01-02", "--to", "2008-01-03",
         "--sources", str(sources), "--with-briefings"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr[-2000:]
    data_dir = tmp_path / "data"
    assert f"Warehouse: {data_dir / 'warehouse.duckdb'}" in completed.stdout
    assert f"Site:      {data_dir / 'site' / 'index.html'}" in completed.stdout
    assert f"Briefings: {data_dir / 'briefings'}" in completed.stdout
    assert (data_dir / "site" / "index.html").is_file()
    # stderr is not a terminal here: each bar leaves one line, with no cursor movement.
    assert "days settled: 100%" in completed.stderr
    assert "briefings: 100%" in completed.stderr
    assert "\x1b[A" not in completed.stderr
    assert " - DEBUG - " not in completed.stdout + completed.stderr


def test_module_warning_reaches_event_log(tmp_path, fixtures):
    feed = (fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.RO.xml").read_bytes()
    with serve({"/feed": [Reply(500), Reply(200, feed, {"Content-Type": "application/rss+xml"})]}) as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "fetch: {contact_email: tests@example.org, max_attempts: 2}\n"
            f"sources:\n  - {{id: arxiv-cs-ro, kind: arxiv_rss, category: cs.RO, url: '{server.url('/feed')}'}}\n",
            encoding="utf-8",
        )
        # The latest announcement day: only that day fetches an RSS feed. The stored feed is an
        # older mailing, so the day is recorded stale, which does not matter here.
        completed = run_cli(tmp_path, "--sources", str(sources))
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "arxiv-cs-ro                      stale" in completed.stdout

    # The fetch module's retry warning is in the run's event log, which the UI shows.
    with DagsterInstance.from_config(str(tmp_path / "data" / "dagster")) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        messages = [entry.user_message for entry in instance.all_logs(run_id) if entry.dagster_event is None]
    retries = [message for message in messages if message.startswith(f"GET {server.url('/feed')}: attempt 1 of 2 failed")]
    assert len(retries) == 1


def _check(tmp_path, *arguments):
    env = dict(os.environ, HUB_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "hub_pipeline.cli", "check", *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_reports_shipped_config(tmp_path):
    completed = _check(tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "config/sources.yaml: " in completed.stdout
    assert "config/radars.yaml: 8 radars" in completed.stdout
    assert not (tmp_path / "data").exists()  # nothing is written


def test_check_notes_model_check_without_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    completed = _check(tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "note: the model check of llm-reasoning runs only when OPENAI_API_KEY is set; without it," in completed.stdout
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    assert "model check" not in _check(tmp_path).stdout


def test_check_rejects_bad_query(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: r, name: R, language: en, query: 'diffusion AND'}\n", encoding="utf-8")
    completed = _check(tmp_path, "--radars", str(radars))
    assert completed.returncode == 2
    assert "radars.0 (id 'r').query" in completed.stderr
    assert "invalid query at position 13" in completed.stderr


def test_check_warns_about_unknown_names(tmp_path):
    missing = tmp_path / "no-such-feed.xml"
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "feed", "kind": "rss", "url": missing.as_uri()}])
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: r, name: R, language: en, query: diffusion, sources: [other-feed]}\n", encoding="utf-8")
    completed = _check(tmp_path, "--sources", str(sources), "--radars", str(radars))
    assert completed.returncode == 0, completed.stderr
    assert f"warning: source 'feed': {missing.as_uri()} does not exist yet" in completed.stderr
    assert f"warning: radar 'r' keeps papers of sources that {sources} does not define: 'other-feed'" in completed.stderr


def test_check_warns_uncovered_categories(tmp_path):
    feeds = [
        {"id": "arxiv-cs-cv", "kind": "arxiv_rss", "category": "cs.CV", "url": (tmp_path / "cv.xml").as_uri()},
        {"id": "arxiv-math", "kind": "arxiv_rss", "category": "math", "url": (tmp_path / "math.xml").as_uri()},
    ]
    sources = write_sources(tmp_path / "sources.yaml", feeds)
    radars = tmp_path / "radars.yaml"
    radars.write_text(
        "radars:\n"
        "  - {id: quantum, name: Q, language: en, query: qubit, categories: [quant-ph, cs.ET]}\n"
        "  - {id: vision, name: V, language: en, query: diffusion, categories: [cs.CV, cs.GR]}\n"
        "  - {id: walks, name: W, language: en, query: martingale, categories: [math.PR]}\n",
        encoding="utf-8",
    )
    completed = _check(tmp_path, "--sources", str(sources), "--radars", str(radars))
    assert completed.returncode == 0, completed.stderr
    warnings = [line for line in completed.stderr.splitlines() if "cross-listed" in line]
    assert warnings == [
        f"warning: radar 'quantum' keeps papers in quant-ph, cs.ET, and no enabled source of {sources}"
        " is a feed of these categories, so it matches only papers cross-listed there"
    ]

    # A feed without a category (a journal) may bring any category: no warning then.
    feeds.append({"id": "nature", "kind": "rss", "url": (tmp_path / "nature.xml").as_uri()})
    write_sources(sources, feeds)
    completed = _check(tmp_path, "--sources", str(sources), "--radars", str(radars))
    assert "cross-listed" not in completed.stderr


def test_check_warns_about_no_sources(tmp_path):
    sources = write_sources(tmp_path / "sources.yaml", [])
    completed = _check(tmp_path, "--sources", str(sources))
    assert completed.returncode == 0, completed.stderr
    assert f"{sources}: 0 sources (0 enabled)" in completed.stdout
    assert f"warning: {sources} has no enabled source, so a run would load nothing" in completed.stderr


def test_check_warns_about_lowercase_operator(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: r, name: R, language: en, query: 'diffusion or flow'}\n", encoding="utf-8")
    completed = _check(tmp_path, "--radars", str(radars))
    assert completed.returncode == 0, completed.stderr
    expected = (
        "warning: radar 'r': query 'diffusion or flow' has a lower-case 'or' at position 10 (counting from 0), "
        'which is searched as a word; did you mean OR? Write OR to combine terms, or quote it ("or") to search the word'
    )
    assert completed.stderr.splitlines() == [expected]


def test_run_banner_singular_counts(tmp_path, fixtures):
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "one", "kind": "rss", "url": (fixtures / "nature_rss" / "missing.xml").as_uri()}])
    radars = tmp_path / "radars.yaml"
    radars.write_text("radars:\n  - {id: r, name: R, language: en, query: diffusion}\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "hub_pipeline.cli", "run", "--date", "2025-03-20", "--sources", str(sources), "--radars", str(radars)],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "HUB_DATA_DIR": str(tmp_path / "data")}, timeout=300,
    )
    assert f"Running 2025-03-20: 1 source from {sources}, 1 radar from {radars}" in completed.stdout
