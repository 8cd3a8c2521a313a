"""Command line: run the daily pipeline for one announcement day.

    python -m hub_pipeline.cli run [--date YYYY-MM-DD] [--sources FILE] [--radars FILE]
    python -m hub_pipeline.cli backfill --from YYYY-MM-DD --to YYYY-MM-DD [--sources FILE] [--with-briefings]

Runs are recorded in the Dagster instance under data/dagster (DAGSTER_HOME), the same one the
UI started by `make dev` reads, so runs from here show up there.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date, timedelta
from pathlib import Path

from hub_pipeline.lib.calendar import latest_announcement_day
from hub_pipeline.lib.config import ConfigError, load_radars, load_sources, lowercase_operator_warning
from hub_pipeline.lib.radar_query import lowercase_operators
from hub_pipeline.lib.warehouse import default_data_dir, warehouse_path

INSTANCE_YAML = """\
# Written by AcademicHub on first use. Every asset that writes the DuckDB warehouse is in
# the pool "duckdb_writer"; DuckDB allows one writing process at a time, so pools hold 1.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
# Log lines of the pipeline's own modules at INFO and above (a retried request, an LLM reply
# taken from the cache or one that contains "today") go to the run's event log and the UI.
python_logs:
  managed_python_loggers:
    - hub_pipeline
  python_log_level: INFO
"""


def prepare_instance(data_dir: Path) -> Path:
    """Create DAGSTER_HOME under the data folder with its dagster.yaml, and export it."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _parse_day(text: str) -> date:
    # date.fromisoformat also takes 20250320 and week dates; the commands document YYYY-MM-DD only.
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: use YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: no such calendar day ({error})") from error

    # Dagster rejects a day outside the daily partitions only when the run starts, with a traceback.
    from hub_pipeline.defs.partitions import daily_partitions

    first = daily_partitions.get_first_partition_key()
    last = daily_partitions.get_last_partition_key()
    if not daily_partitions.has_partition_key(text):
        raise argparse.ArgumentTypeError(
            f"invalid date {text!r}: outside the daily partitions; use a day from {first} to {last} (today in UTC)"
        )
    return day


def _use_config_files(sources: Path | None, radars: Path | None) -> tuple[Path, Path]:
    """Export the chosen config files for the assets' resources and return both paths."""
    if sources:
        os.environ["HUB_SOURCES_FILE"] = str(sources.resolve())
    if radars:
        os.environ["HUB_RADARS_FILE"] = str(radars.resolve())
    # Both are shown resolved, so the run's banner names them the same way.
    sources_path = Path(os.environ.get("HUB_SOURCES_FILE") or "config/sources.yaml").resolve()
    radars_path = Path(os.environ.get("HUB_RADARS_FILE") or "config/radars.yaml").resolve()
    return sources_path, radars_path


def check(sources: Path | None, radars: Path | None) -> int:
    """Load both configuration files as a run would, and report what they contain or what is invalid."""
    # Imported here because the fetching module loads httpx, which the rest of this module defers.
    from hub_pipeline.lib.fetching import file_url_path

    sources_path, radars_path = _use_config_files(sources, radars)
    try:
        source_config = load_sources(sources_path)
        radar_config = load_radars(radars_path, warn=False)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    enabled = sum(1 for source in source_config.sources if source.enabled)
    print(f"{sources_path}: {_count(len(source_config.sources), 'source')} ({enabled} enabled)")
    print(f"{radars_path}: {_count(len(radar_config.radars), 'radar')}")

    # Valid on their own, but a run would find nothing there: a warning each, not an error.
    warnings = []
    if not enabled:
        warnings.append(f"{sources_path} has no enabled source, so a run would load nothing")
    for source in source_config.sources:
        if source.url.startswith("file:") and not file_url_path(source.url).exists():
            warnings.append(f"source {source.id!r}: {source.url} does not exist yet")
    known = {source.id for source in source_config.sources}
    # Feed categories, when every enabled source names one. A source without one (a journal's
    # whole feed) may bring papers of any category, and then the check is skipped.
    feeds = [source.category for source in source_config.sources if source.enabled]
    categories = set(feeds) if feeds and all(feeds) else None
    for radar in radar_config.radars:
        warnings += [lowercase_operator_warning(radar, token) for token in lowercase_operators(radar.query)]
        unknown = [source_id for source_id in radar.sources if source_id not in known]
        if unknown:
            names = ", ".join(repr(source_id) for source_id in unknown)
            warnings.append(f"radar {radar.id!r} keeps papers of sources that {sources_path} does not define: {names}")
        if categories is not None and radar.categories and not _fed(radar.categories, categories):
            warnings.append(
                f"radar {radar.id!r} keeps papers in {', '.join(radar.categories)}, and no enabled source of"
                f" {sources_path} is a feed of these categories, so it matches only papers cross-listed there"
            )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    checked = [radar.id for radar in radar_config.radars if radar.model_check]
    if checked and not os.environ.get("OPENAI_API_KEY", "").strip():
        print(
            f"note: the model check of {', '.join(checked)} runs only when OPENAI_API_KEY is set;"
            " without it, a day with no cached verdict keeps the ranker's order"
        )
    return 0


def _fed(radar_categories: list[str], feeds: set[str]) -> bool:
    """Return whether a feed covers one of a radar's categories (the feed "math" covers math.PR)."""
    return any(category == feed or category.startswith(feed + ".") for category in radar_categories for feed in feeds)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def run(day: date | None, sources: Path | None, radars: Path | None) -> int:
    sources_path, radars_path = _use_config_files(sources, radars)
    try:
        source_count = len(load_sources(sources_path).sources)
        # The run loads the file again and logs its query warnings, so the event log has them.
        radar_count = len(load_radars(radars_path, warn=False).radars)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_DATA_DIR"] = str(data_dir)
    home = prepare_instance(data_dir)
    day = day or latest_announcement_day()
    print(f"Running {day}: {_count(source_count, 'source')} from {sources_path}, {_count(radar_count, 'radar')} from {radars_path}")
    print(f"Data folder {data_dir}; Dagster instance {home}")

    # Imported here so that HUB_DATA_DIR and DAGSTER_HOME are set before the definitions load.
    from dagster import DagsterInstance

    from hub_pipeline.definitions import defs
    from hub_pipeline.defs.recovery import cli_run_tags, recover_orphaned_runs

    job = defs.resolve_job_def("daily_job")
    with DagsterInstance.get() as instance:
        recover_orphaned_runs(instance)
        # INFO and above on the console, as in backfill: the debug lines (about 180 a day) stay
        # in the event log that the Dagster UI shows.
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            raise_on_error=False,
            tags=cli_run_tags(os.getpid()),
            run_config=QUIET_CONSOLE,
        )

    _print_summary(result)
    if not result.success:
        print(f"error: the run for {day} failed (run id {result.run_id}); see the messages above or the Dagster UI (make dev)", file=sys.stderr)
        return 1
    outcomes = _print_sources(warehouse_path(data_dir), day)
    if outcomes and "loaded" not in outcomes and {"source_error", "parse_error"} & outcomes:
        print(
            f"error: no source loaded for {day}; every fetch or parse failed (reasons above, "
            "and in the warehouse table fetch_log). Check the network and the source URLs, then run the day again.",
            file=sys.stderr,
        )
        return 3
    _print_outputs(data_dir, with_briefings=True)
    return 0


def _print_outputs(data_dir: Path, with_briefings: bool) -> None:
    """Print where the warehouse is and, when the run wrote them, the site and the briefings."""
    print(f"Warehouse: {warehouse_path(data_dir)}")
    if with_briefings:
        print(f"Site:      {data_dir / 'site' / 'index.html'}")
        print(f"Briefings: {data_dir / 'briefings'}")


def _print_sources(database: Path, day: date) -> set[str]:
    """Print each source's outcome for the day from fetch_log; return the set of outcomes."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as conn:
        rows = conn.execute(
            "SELECT source_id, outcome, items, reason FROM main.fetch_log WHERE day = ? ORDER BY source_id", [day]
        ).fetchall()
    print("Sources:")
    for source_id, outcome, items, reason in rows:
        print(f"  {source_id:32s} {outcome:16s} {items or 0:6d} items" + (f"  ({reason})" if reason else ""))
    return {row[1] for row in rows}


def _print_summary(result) -> None:
    shown = set()
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key in shown:
            continue  # a run over a range of days reports each asset once per day, with the same counts
        shown.add(materialization.asset_key)
        counts = {
            key: value.value
            for key, value in materialization.metadata.items()
            if isinstance(getattr(value, "value", None), int) and not isinstance(value.value, bool)
        }
        rendered = ", ".join(f"{key}={value}" for key, value in counts.items())
        print(f"  {materialization.asset_key.to_user_string():32s} {rendered}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            print(f"  check {evaluation.check_name} failed: {evaluation.description}")


def backfill(first: date, last: date, sources: Path | None, radars: Path | None, with_briefings: bool) -> int:
    """Load the days first..last (inclusive) in one run of the ingest and SQL assets."""
    if last < first:
        print(f"error: --to {last} is before --from {first}", file=sys.stderr)
        return 2
    sources_path, _ = _use_config_files(sources, radars)
    try:
        config = load_sources(sources_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_DATA_DIR"] = str(data_dir)
    # A year of records passes through DuckDB in one transaction; capped, it spills to disk
    # instead of holding it all in memory. DuckDB's allocations outside its limit grow with
    # its threads, so one thread keeps a year's backfill under 1 GB (bench/RESULTS.md).
    os.environ.setdefault("HUB_DUCKDB_MEMORY_LIMIT", BACKFILL_DUCKDB_MEMORY_LIMIT)
    os.environ.setdefault("HUB_DUCKDB_THREADS", BACKFILL_DUCKDB_THREADS)
    # Dagster records a ranged run's plan as one event per asset and day, 3,650 for a year
    # over ten assets, about 20 s of SQLite writes before the run starts. This setting records
    # one event per asset for the whole range instead. The cost: the UI shows the days of a
    # running or failed backfill as missing, not in progress or failed. The command line names
    # the failure. Set it to false to keep one event per day.
    os.environ.setdefault(PLANNED_EVENTS_SETTING, "true")
    home = prepare_instance(data_dir)
    day_count = (last - first).days + 1
    enabled = [source for source in config.sources if source.enabled]
    print(f"Backfilling {first}..{last} ({_count(day_count, 'day')}): {_count(len(enabled), 'source')} from {sources_path}")
    print(f"Data folder {data_dir}; Dagster instance {home}")

    from dagster import DagsterInstance

    from hub_pipeline.definitions import defs
    from hub_pipeline.defs.recovery import cli_run_tags, recover_orphaned_runs
    from hub_pipeline.lib import backfill as backfill_lib
    from hub_pipeline.lib.progress import StageBars

    # Pages stored while harvesting, then source-days filed under their days, then briefings.
    history = sum(1 for source in enabled if backfill_lib.is_history_source(source))
    bars = StageBars(
        {
            "page": {"desc": "pages harvested", "unit": " pages"},  # no total: tqdm writes "10 pages"
            "day": {"desc": "days settled", "total": day_count * history or None, "unit": "source-day"},
            "briefing": {"desc": "briefings", "total": day_count, "unit": "day"},
        }
    )
    backfill_lib.set_progress(bars.update)
    job = defs.resolve_job_def("backfill_job")
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
        **cli_run_tags(os.getpid()),
    }
    try:
        with DagsterInstance.get() as instance:
            # A killed earlier command would otherwise keep the writer pool's slot, and this run
            # would wait for it forever.
            recover_orphaned_runs(instance)
            # Dagster's console logger prints a debug line per partition and asset, thousands for
            # a year. The console shows the bars and INFO lines, and the event log keeps the rest.
            result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=QUIET_CONSOLE)
            bars.close()
            _print_summary(result)
            if not result.success:
                print(f"error: the backfill of {first}..{last} failed (run id {result.run_id}); run the same command again to resume from the days not done", file=sys.stderr)
                return 1
            failed_days, first_failure = _print_day_counts(first, last)
            if with_briefings:
                daily = defs.resolve_job_def("daily_job")
                downstream = [key for key in daily.asset_layer.executable_asset_keys if key.to_user_string() in DOWNSTREAM]
                bars.update("briefing", 0)  # show the bar while the first day runs
                for offset in range(day_count):
                    day = first + timedelta(days=offset)
                    run = _run_day(daily, instance, day, downstream)
                    if not run.success:
                        bars.close()
                        print(f"error: radar matches, briefings or site for {day} failed (run id {run.run_id})", file=sys.stderr)
                        return 1
                    bars.update("briefing")
                bars.close()
                # The backfill run published its copy before these runs; refresh it once more
                # so the analysts' copy contains the briefings too.
                publish = [key for key in daily.asset_layer.executable_asset_keys if key.to_user_string() == "published_warehouse"]
                run = _run_day(daily, instance, last, publish)
                if not run.success:
                    print(f"error: publishing the analysts' copy failed (run id {run.run_id})", file=sys.stderr)
                    return 1
    finally:
        bars.close()
        backfill_lib.set_progress(None)
    _print_outputs(data_dir, with_briefings)
    if failed_days:
        source_id, outcome, reason = first_failure or ("?", "?", None)
        reason = (reason or "no reason recorded").removeprefix(f"{source_id}: ")  # parsers' messages start with the source id
        print(
            f"error: {len(failed_days)} of {day_count} days have a source whose fetch or parse failed. "
            f"First {failed_days[0]}, {source_id} ({outcome}): {reason}\n"
            "Fix the cause, then run the same command again: it retries only the days not done. "
            "Every day's reason is in the warehouse table fetch_log.",
            file=sys.stderr,
        )
        return 3
    return 0


def _run_day(job, instance, day: date, selection: list):
    """Run ``selection`` of ``job`` for one day's partition, with the console at INFO."""
    from hub_pipeline.defs.recovery import cli_run_tags

    return job.execute_in_process(
        instance=instance,
        partition_key=day.isoformat(),
        asset_selection=selection,
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
        tags=cli_run_tags(os.getpid()),
    )


DOWNSTREAM = {"radar_matches", "briefings", "site"}
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
BACKFILL_DUCKDB_MEMORY_LIMIT = "320MB"
BACKFILL_DUCKDB_THREADS = "1"
PLANNED_EVENTS_SETTING = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def _print_day_counts(first: date, last: date) -> tuple[list[date], tuple | None]:
    """Print entries per day and source outcome, from fetch_log, as stored in the warehouse now.

    Return the days with a source-day that failed (fetch or parse errors), and the source id,
    outcome and reason of the first such source-day.
    """
    import duckdb

    with duckdb.connect(str(warehouse_path(default_data_dir())), read_only=True) as conn:
        rows = conn.execute(
            """
            SELECT day, sum(items) AS items, count(*) FILTER (WHERE outcome = 'loaded') AS loaded,
                   count(*) FILTER (WHERE outcome NOT IN ('loaded', 'no_announcement', 'skipped')) AS problems,
                   count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
                   count(*) FILTER (WHERE outcome IN ('source_error', 'parse_error')) AS failed,
                   count(*) FILTER (WHERE outcome = 'no_announcement') AS no_mailing
            FROM main.fetch_log WHERE day BETWEEN ? AND ? GROUP BY day ORDER BY day
            """,
            [first, last],
        ).fetchall()
        skipped = conn.execute(
            "SELECT source_id, reason FROM main.fetch_log WHERE day BETWEEN ? AND ? AND outcome = 'skipped' ORDER BY day LIMIT 1",
            [first, last],
        ).fetchone()
        first_failure = conn.execute(
            "SELECT source_id, outcome, reason FROM main.fetch_log WHERE day BETWEEN ? AND ? "
            "AND outcome IN ('source_error', 'parse_error') ORDER BY day, source_id LIMIT 1",
            [first, last],
        ).fetchone()
    shown = rows if len(rows) <= 40 else rows[:20] + [None] + rows[-20:]
    for row in shown:
        if row is None:
            print(f"  ... {len(rows) - 40} more days")
            continue
        notes = [f"{row[3]} with problems"] if row[3] else []
        notes += [f"{row[4]} skipped"] if row[4] else []
        notes += ["no announcement (weekend or arXiv holiday)"] if row[6] and not row[2] else []
        print(f"  {row[0]}  {row[1] or 0:7d} entries  {_count(row[2], 'source')} loaded" + "".join(f", {note}" for note in notes))
    if skipped:
        # A skipped source-day is not done, so saying why keeps a user from taking it as empty.
        print(f"Skipped source-days, for example {skipped[0]}: {skipped[1]}")
    return [row[0] for row in rows if row[5]], first_failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub_pipeline.cli", description="AcademicHub command line")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="materialize the daily pipeline for one announcement day")
    run_parser.add_argument("--date", type=_parse_day, help="announcement day YYYY-MM-DD (default: the latest complete one)")
    run_parser.add_argument("--sources", type=Path, help="sources file (default: config/sources.yaml)")
    run_parser.add_argument("--radars", type=Path, help="radars file (default: config/radars.yaml)")
    backfill_parser = commands.add_parser("backfill", help="load a range of past days from the sources with history")
    backfill_parser.add_argument("--from", dest="first", type=_parse_day, required=True, help="first day YYYY-MM-DD")
    backfill_parser.add_argument("--to", dest="last", type=_parse_day, required=True, help="last day YYYY-MM-DD (included)")
    backfill_parser.add_argument("--sources", type=Path, help="sources file (default: config/sources.yaml)")
    backfill_parser.add_argument("--radars", type=Path, help="radars file (default: config/radars.yaml)")
    backfill_parser.add_argument("--with-briefings", action="store_true", help="also match radars, write briefings and pages for every day")
    check_parser = commands.add_parser("check", help="validate the sources and radars files without running anything")
    check_parser.add_argument("--sources", type=Path, help="sources file (default: config/sources.yaml)")
    check_parser.add_argument("--radars", type=Path, help="radars file (default: config/radars.yaml)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.sources, args.radars)
    if args.command == "run":
        return run(args.date, args.sources, args.radars)
    if args.command == "backfill":
        return backfill(args.first, args.last, args.sources, args.radars, args.with_briefings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
