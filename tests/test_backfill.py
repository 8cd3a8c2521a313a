"""Backfill: a real OAI-PMH harvest over HTTP on 127.0.0.1, and whole ranged runs of the
ingest and SQL assets over stored pages (re-runs, resuming, identity with the daily feed)."""

import hashlib
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.identity.assets import paper_identity
from hub_pipeline.defs.ingest.assets import entries, raw_payloads
from hub_pipeline.defs.resources import HubSettings
from hub_pipeline.defs.sql.assets import build_sql_assets
from hub_pipeline.lib import backfill
from hub_pipeline.lib.config import load_sources
from hub_pipeline.lib.fetching import FetchSettings
from hub_pipeline.lib.warehouse import ensure_tables
from tests.conftest import write_sources

CORPUS = "corpus/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09"


def oai_pages(fixtures: Path) -> list[Path]:
    """The 12 stored pages of the 2016 set=cs harvest, in order: 1 to 11, then the final 103."""
    return (
        [fixtures / "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page001_cursor0.xml"]
        + [fixtures / CORPUS / f"page{number:03d}.xml" for number in range(2, 12)]
        + [fixtures / "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page103_final_empty-token.xml"]
    )


class OaiServer:
    """Serves the pages as a resumption-token chain; one request gets 503 with Retry-After: 1."""

    def __init__(self, pages: list[Path], busy_on_request: int):
        self.pages = [page.read_bytes() for page in pages]
        # page n's token 1122234|{n*1000+1} leads to page n+1; page 11's leads to the final page.
        self.by_token = {f"1122234|{number * 1000 + 1}": index + 1 for index, number in enumerate(range(1, 12))}
        self.busy_on_request = busy_on_request
        self.log: list[tuple[float, int, dict]] = []

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):  # noqa: N802
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                number = len(server.log) + 1
                if number == server.busy_on_request:
                    server.log.append((time.monotonic(), 503, query))
                    self.send_response(503)
                    self.send_header("Retry-After", "1")
                    self.end_headers()
                    return
                if "resumptionToken" in query:
                    index = server.by_token.get(query["resumptionToken"])
                elif query.get("verb") == "ListRecords" and query.get("set") == "cs":
                    index = 0
                else:
                    index = None
                if index is None:
                    server.log.append((time.monotonic(), 400, query))
                    self.send_response(400)
                    self.end_headers()
                    return
                server.log.append((time.monotonic(), 200, query))
                body = server.pages[index]
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oai2"
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _served_oai_source(sources: Path, url: str):
    """Write a sources file with one OAI-PMH source at ``url``; return it and fetch settings."""
    sources.write_text(
        f"fetch: {{contact_email: tests@example.org}}\nsources:\n"
        f"  - {{id: arxiv-oai-cs, kind: arxiv_oai, set: cs, url: '{url}', delay_s: 0.05}}\n"
    )
    settings = FetchSettings(user_agent="AcademicHub-tests (mailto:tests@example.org)", max_attempts=3)
    return load_sources(sources).sources[0], settings


def test_oai_harvest_follows_tokens_obeys_retry_after_and_ends_on_the_empty_token(fixtures, tmp_path):
    pages = oai_pages(fixtures)
    sources = write_sources(tmp_path / "sources.yaml", [])
    with OaiServer(pages, busy_on_request=4) as server:
        source, settings = _served_oai_source(sources, server.url)
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
            ensure_tables(conn)
            result = backfill.harvest(conn, source, date(2016, 1, 1), date(2016, 3, 1), settings, tmp_path / "raw")
            stored = [row[0] for row in conn.execute(
                "SELECT payload_sha256 FROM raw.harvest_pages WHERE harvest_id = ? ORDER BY page_index", [result.harvest_id]
            ).fetchall()]
            attempts = conn.execute("SELECT count(*), count(*) FILTER (WHERE outcome = 'fetched') FROM raw.fetch_attempts").fetchone()

    assert result.complete and result.pages == 12 and result.reason is None
    assert stored == [hashlib.sha256(page.read_bytes()).hexdigest() for page in pages]
    assert attempts == (12, 12)  # one attempt row per page; the 503 was retried inside it

    statuses = [status for _, status, _ in server.log]
    assert statuses == [200, 200, 200, 503] + [200] * 9  # 12 pages, one asked twice
    first_query = server.log[0][2]
    assert first_query == {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2016-01-01", "until": "2016-02-29", "set": "cs"}
    tokens = [query.get("resumptionToken") for _, status, query in server.log[1:] if status == 200]
    assert tokens == [f"1122234|{number * 1000 + 1}" for number in range(1, 12)]
    busy_at, retried_at = server.log[3][0], server.log[4][0]
    assert retried_at - busy_at >= 0.95  # Retry-After: 1 was obeyed
    gaps = [later[0] - earlier[0] for earlier, later in zip(server.log, server.log[1:])]
    assert min(gaps) >= 0.04  # the polite delay between pages


def test_interrupted_harvest_stays_incomplete(fixtures, tmp_path):
    pages = oai_pages(fixtures)
    sources = write_sources(tmp_path / "sources.yaml", [])

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl-C during the polite delay before page 2

    with OaiServer(pages, busy_on_request=0) as server:
        source, settings = _served_oai_source(sources, server.url)
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
            ensure_tables(conn)
            with pytest.raises(KeyboardInterrupt):
                backfill.harvest(conn, source, date(2016, 1, 1), date(2016, 3, 1), settings, tmp_path / "raw", sleep=interrupt)
            row = conn.execute("SELECT complete, finished_at, pages, bytes, reason FROM raw.harvests").fetchone()
            stored = conn.execute("SELECT count(*) FROM raw.harvest_pages").fetchone()[0]

    complete, finished_at, page_count, stored_bytes, reason = row
    assert complete is False
    assert finished_at is None
    assert page_count == 1
    assert stored == 1
    assert stored_bytes == pages[0].stat().st_size
    assert reason == backfill.UNFINISHED_REASON


# --- ranged runs over stored pages ----------------------------------------------------------------


def _pages_dir(fixtures: Path, tmp_path: Path) -> Path:
    # Pages 1 and 2 hold the April 2007 records (ids 0704.*), and 103 is the final page; the
    # other pages hold later ids and would only slow the test down.
    folder = tmp_path / "oai-pages"
    folder.mkdir()
    pages = oai_pages(fixtures)
    for index, page in enumerate([pages[0], pages[1], pages[-1]]):
        (folder / f"{index:03d}.xml").symlink_to(page)  # a stored harvest; links, not copies
    return folder


def _run(data_dir: Path, sources_file: Path, first: str, last: str, instance=None):
    resources = {
        "duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")),
        "hub": HubSettings(data_dir=str(data_dir), sources_file=str(sources_file)),
    }
    return materialize(
        [raw_payloads, entries, paper_identity, *build_sql_assets()],
        resources=resources,
        instance=instance or DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=True,
    )


def _snapshot(data_dir: Path) -> dict:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("raw.entries", "main.fetch_log", "main.papers", "main.paper_listings")
        }


@pytest.fixture()
def oai_sources(fixtures, tmp_path):
    folder = _pages_dir(fixtures, tmp_path)
    return write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": folder.as_uri()}])


def test_backfill_fills_every_day_once_and_a_rerun_changes_nothing(tmp_path, oai_sources):
    data_dir = tmp_path / "data"
    instance = DagsterInstance.ephemeral()
    result = _run(data_dir, oai_sources, "2007-04-02", "2007-04-15", instance)
    first = _snapshot(data_dir)
    # A harvested day has no payload of its own to count items in, so the count check passes
    # instead of comparing the rows with the harvest's manifest.
    checks = {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}
    assert checks["expected_vs_observed_counts"] is True

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        per_day = dict(conn.execute("SELECT day, items FROM main.fetch_log ORDER BY day").fetchall())
        outcomes = dict(conn.execute("SELECT day, outcome FROM main.fetch_log").fetchall())
        harvests = conn.execute("SELECT count(*) FROM raw.harvests").fetchone()[0]
        sparsity = conn.execute("SELECT first_announced_day FROM papers WHERE arxiv_id = '0704.0002'").fetchall()
    assert len(per_day) == 14
    assert sparsity == [(date(2007, 4, 2),)]  # created Friday 2007-03-30, announced Monday
    assert outcomes[date(2007, 4, 7)] == "no_announcement" and per_day[date(2007, 4, 7)] == 0
    assert per_day[date(2007, 4, 3)] > 0
    assert sum(per_day.values()) == len(first["raw.entries"]) == len(first["main.papers"])
    assert harvests == 1

    # The UI's partition view: every day of the range is materialized.
    materialized = instance.get_materialized_partitions(AssetKey("entries"))
    assert {f"2007-04-{day:02d}" for day in range(2, 16)} <= materialized

    # The UI's metadata of raw_payloads counts the harvest's pages and bytes.
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        pages, stored_bytes = conn.execute("SELECT sum(pages), sum(bytes) FROM raw.harvests").fetchone()
    metadata = result.asset_materializations_for_node("raw_payloads")[0].metadata
    assert metadata["fetched"].value == pages
    assert metadata["bytes"].value == stored_bytes
    assert stored_bytes > 0

    _run(data_dir, oai_sources, "2007-04-02", "2007-04-15")
    assert _snapshot(data_dir) == first
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.harvests").fetchone()[0] == 1  # nothing fetched again


def test_an_interrupted_backfill_resumes_from_the_days_not_done(tmp_path, oai_sources, fixtures):
    # The first run stopped after the first week; the second covers the whole range.
    data_dir = tmp_path / "data"
    _run(data_dir, oai_sources, "2007-04-02", "2007-04-08")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        week_one = conn.execute("SELECT * FROM main.fetch_log ORDER BY day").fetchall()
    _run(data_dir, oai_sources, "2007-04-02", "2007-04-15")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        windows = conn.execute("SELECT window_start, window_end FROM raw.harvests ORDER BY window_start").fetchall()
        kept = conn.execute("SELECT * FROM main.fetch_log WHERE day <= '2007-04-08' ORDER BY day").fetchall()
    assert windows == [(date(2007, 4, 2), date(2007, 4, 9)), (date(2007, 4, 9), date(2007, 4, 16))]
    assert kept == week_one  # the days already done were left as they were

    fresh = tmp_path / "fresh"
    _run(fresh, oai_sources, "2007-04-02", "2007-04-15")
    assert _snapshot(fresh)["main.papers"] == _snapshot(data_dir)["main.papers"]


RSS_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>cs.CG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CG</link>
<description>cs.CG updates</description><pubDate>Tue, 03 Apr 2007 00:00:00 -0400</pubDate>
<item><title>Sparsity-certifying Graph Decompositions</title><link>https://arxiv.org/abs/0704.0002</link>
<description>arXiv:0704.0002v1 Announce Type: new
Abstract: We describe a new algorithm.</description><guid isPermaLink="false">oai:arXiv.org:0704.0002v1</guid>
<category>cs.CG</category><pubDate>Tue, 03 Apr 2007 00:00:00 -0400</pubDate><arxiv:announce_type>new</arxiv:announce_type>
<dc:creator>Ileana Streinu, Louis Theran</dc:creator></item></channel></rss>
"""


def test_a_paper_seen_by_backfill_and_rss_is_one_paper_on_the_rss_day(tmp_path, fixtures):
    # A small hand-written RSS listing: 0704.0002 was announced on 2007-04-03; the backfill
    # derives 2007-04-02 from its v1 date. The RSS day wins, and there is one paper.
    folder = _pages_dir(fixtures, tmp_path)
    feed = tmp_path / "cs.CG.xml"
    feed.write_text(RSS_ITEM, encoding="utf-8")
    sources = write_sources(tmp_path / "sources.yaml", [
        {"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": folder.as_uri()},
        {"id": "arxiv-cs-cg", "kind": "arxiv_rss", "category": "cs.CG", "url": feed.as_uri()},
    ])
    data_dir = tmp_path / "data"
    _run(data_dir, sources, "2007-04-02", "2007-04-04")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        papers = conn.execute("SELECT first_announced_day, listing_count, source_ids FROM papers WHERE paper_id = 'arxiv:0704.0002'").fetchall()
        listings = conn.execute(
            "SELECT source_id, announced_day FROM paper_listings WHERE paper_id = 'arxiv:0704.0002' ORDER BY source_id"
        ).fetchall()
        derived = conn.execute("SELECT day FROM raw.entries WHERE arxiv_id = '0704.0002' AND source_id = 'arxiv-oai-cs'").fetchall()
    assert derived == [(date(2007, 4, 2),)]
    assert papers == [(date(2007, 4, 3), 2, ["arxiv-cs-cg", "arxiv-oai-cs"])]
    assert listings == [("arxiv-cs-cg", date(2007, 4, 3)), ("arxiv-oai-cs", date(2007, 4, 3))]


def test_a_broken_stored_page_fails_the_days_and_keeps_what_was_loaded(tmp_path, fixtures):
    folder = _pages_dir(fixtures, tmp_path)
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": folder.as_uri()}])
    data_dir = tmp_path / "data"
    _run(data_dir, sources, "2007-04-02", "2007-04-03")
    before = _snapshot(data_dir)["raw.entries"]

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "000.xml").write_bytes(b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><ListRecords><record>")
    config = load_sources(sources)
    config.sources[0].url = broken.as_uri()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        settings = FetchSettings(user_agent="tests (mailto:tests@example.org)")
        backfill.harvest(conn, config.sources[0], date(2007, 4, 2), date(2007, 4, 5), settings, data_dir / "raw")
        rows = backfill.settle(conn, config.sources[0], backfill.days_of(date(2007, 4, 2), date(2007, 4, 5)), data_dir / "raw")
    by_day = {row["day"]: row for row in rows}
    assert by_day[date(2007, 4, 4)]["outcome"] == "parse_error"
    assert "not well-formed" in by_day[date(2007, 4, 4)]["reason"]
    assert by_day[date(2007, 4, 2)]["outcome"] == "loaded" and "kept" in by_day[date(2007, 4, 2)]["reason"]
    assert _snapshot(data_dir)["raw.entries"] == before


def test_fixed_page_loads_on_next_run(tmp_path, fixtures):
    # Page 000 (the April 2007 records) cut in half, then restored, as a user would fix it.
    folder = _pages_dir(fixtures, tmp_path)
    real_page = (folder / "000.xml").resolve()
    (folder / "000.xml").unlink()
    (folder / "000.xml").write_bytes(real_page.read_bytes()[:200_000])
    config = load_sources(write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": folder.as_uri()}]))
    source, days = config.sources[0], backfill.days_of(date(2007, 4, 2), date(2007, 4, 4))
    settings = FetchSettings(user_agent="tests (mailto:tests@example.org)")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        ensure_tables(conn)
        backfill.ensure_harvest_tables(conn)
        backfill.harvest(conn, source, days[0], days[-1] + timedelta(days=1), settings, data_dir / "raw")
        failed = backfill.settle(conn, source, days, data_dir / "raw")
        harvest_row = conn.execute("SELECT complete, reason FROM raw.harvests").fetchone()
        to_fetch = backfill.days_to_fetch(conn, source, days)

        (folder / "000.xml").unlink()
        (folder / "000.xml").symlink_to(real_page)
        backfill.harvest(conn, source, days[0], days[-1] + timedelta(days=1), settings, data_dir / "raw")
        fixed = backfill.settle(conn, source, days, data_dir / "raw")

    assert [row["outcome"] for row in failed] == ["parse_error", "parse_error"]
    assert "000.xml" in failed[0]["reason"]
    assert "run the backfill again" in failed[0]["reason"]
    assert harvest_row[0] is False
    assert "000.xml could not be parsed" in harvest_row[1]
    assert to_fetch == days
    assert [row["outcome"] for row in fixed] == ["loaded", "loaded"]
    # Three records of these pages were created on Friday 2007-03-30, so announced on 2007-04-02.
    assert fixed[0]["items"] == 3


def test_cli_backfill_prints_days_and_resumes(tmp_path, oai_sources):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HUB_DATA_DIR=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path / "dagster"), PYTHONWARNINGS="ignore")
    command = [sys.executable, "-m", "hub_pipeline.cli", "backfill", "--from", "2007-04-02", "--to", "2007-04-08", "--sources", str(oai_sources)]
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1], check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "2007-04-02        3 entries  1 source loaded" in first.stdout
    assert "2007-04-07        0 entries  0 sources loaded, no announcement (weekend or arXiv holiday)" in first.stdout
    assert "days settled: 100%" in first.stderr
    assert "check expected_vs_observed_counts failed" not in first.stdout  # no false alarm on harvested days
    assert " - DEBUG - " not in first.stdout + first.stderr  # a debug line per partition would bury the bars
    # The run ends by publishing the analysts' copy, which then contains the backfilled days.
    with duckdb.connect(str(tmp_path / "data" / "published" / "warehouse.duckdb"), read_only=True) as conn:
        published_days = conn.execute("SELECT count(DISTINCT announced_day) FROM paper_listings").fetchone()[0]
    assert published_days > 0
    # The plan is one event per asset for the range, and the UI still shows every day filled.
    with DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        assert instance.get_materialized_partitions(AssetKey("papers")) == {f"2007-04-0{day}" for day in range(2, 9)}
        run_id = instance.get_runs(limit=1)[0].run_id
        planned = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    assert [event.dagster_event.asset_key for event in planned].count(AssetKey("papers")) == 1
    before = _snapshot(tmp_path / "data")

    again = subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1], check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _snapshot(tmp_path / "data") == before


def test_failed_harvest_marks_days_source_error(tmp_path, fixtures):
    from tests.http_fixtures import Reply, serve

    with serve({"/oai2": Reply(500, b"broken")}) as server:
        sources = write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-oai-cs", "kind": "arxiv_oai", "set": "cs", "url": server.url("/oai2")}])
        source = load_sources(sources).sources[0]
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
            ensure_tables(conn)
            settings = FetchSettings(user_agent="tests (mailto:tests@example.org)", max_attempts=1)
            result = backfill.harvest(conn, source, date(2016, 3, 1), date(2016, 3, 3), settings, tmp_path / "raw")
            rows = backfill.settle(conn, source, backfill.days_of(date(2016, 3, 1), date(2016, 3, 3)), tmp_path / "raw")
            pending = backfill.days_to_fetch(conn, source, backfill.days_of(date(2016, 3, 1), date(2016, 3, 3)))

    assert not result.complete
    assert "HTTP 500" in result.reason
    assert [row["outcome"] for row in rows] == ["source_error", "source_error"]
    assert "run the backfill again" in rows[0]["reason"]
    assert pending == [date(2016, 3, 1), date(2016, 3, 2)]  # a re-run fetches them again


def _small_oai_page(created: list[str]) -> bytes:
    records = "".join(
        f"""<record><header><identifier>oai:arXiv.org:0801.{index:04d}</identifier></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0801.{index:04d}</id><created>{day}</created>
<title>Paper {index}</title><abstract>Text.</abstract></arXiv></metadata></record>"""
        for index, day in enumerate(created, start=1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>{records}
<resumptionToken cursor="0" completeListSize="{len(created)}"></resumptionToken></ListRecords></OAI-PMH>""".encode()


def test_days_outside_a_stored_harvest_are_skipped(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "pages"
    folder.mkdir()
    # Submitted Monday 2008-01-07 and Wednesday 2008-01-09: mailings dated 01-08 and 01-10.
    (folder / "001.xml").write_bytes(_small_oai_page(["2008-01-07", "2008-01-07", "2008-01-09"]))
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "oai-small", "kind": "arxiv_oai", "url": folder.as_uri()}])
    data_dir = tmp_path / "data"

    _run(data_dir, sources, "2008-01-08", "2008-01-10")
    _run(data_dir, sources, "2008-02-04", "2008-02-05")

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        rows = {day: (outcome, items, reason) for day, outcome, items, reason in conn.execute("SELECT day, outcome, items, reason FROM main.fetch_log").fetchall()}
    assert rows[date(2008, 1, 8)][:2] == ("loaded", 2)
    assert rows[date(2008, 1, 10)][:2] == ("loaded", 1)
    # A weekday between the records' days with nothing on it is a loaded, empty day.
    assert rows[date(2008, 1, 9)][:2] == ("loaded", 0)
    # Days the stored pages do not reach are not recorded as done.
    for day in (date(2008, 2, 4), date(2008, 2, 5)):
        outcome, items, reason = rows[day]
        assert outcome == "skipped"
        assert items == 0
        assert "2008-01-08..2008-01-10" in reason

    # The command line's day list reports the skipped days and the reason.
    from hub_pipeline import cli

    monkeypatch.setenv("HUB_DATA_DIR", str(data_dir))
    cli._print_day_counts(date(2008, 2, 4), date(2008, 2, 5))
    printed = capsys.readouterr().out
    assert "2008-02-04        0 entries  0 sources loaded, 1 skipped" in printed
    assert "Skipped source-days, for example oai-small: the harvest's records fall on 2008-01-08..2008-01-10" in printed


def _cli_backfill(tmp_path: Path, sources: Path, first: str, last: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "dagster"), "PYTHONWARNINGS": "ignore", **env}
    command = [sys.executable, "-m", "hub_pipeline.cli", "backfill", "--from", first, "--to", last, "--sources", str(sources)]
    return subprocess.Popen(command, env=environment, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_backfill_frees_writer_slot(tmp_path, oai_sources):
    marker = tmp_path / "paused"
    killed = _cli_backfill(tmp_path, oai_sources, "2007-04-02", "2007-04-06", HUB_TEST_PAUSE_AT="sql:main.papers", HUB_TEST_PAUSE_MARKER=str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.kill()
    killed.communicate(timeout=30)
    assert marker.exists(), "the backfill never reached its pause point"

    # The killed run held the writer pool's one slot. The next command frees it instead of
    # waiting for it forever, and finishes the days.
    again = _cli_backfill(tmp_path, oai_sources, "2007-04-02", "2007-04-06")
    try:
        stdout, stderr = again.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        again.kill()
        raise AssertionError("the second backfill waited for the dead run's pool slot") from None
    assert again.returncode == 0, stderr[-2000:]
    assert "ended without finishing, probably killed; marked failed and its duckdb_writer slot freed" in stdout
    assert "2007-04-02        3 entries  1 source loaded" in stdout


def test_failing_source_backfill_exits_3(tmp_path):
    missing = tmp_path / "no-such-folder"
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "oai-missing", "kind": "arxiv_oai", "url": missing.as_uri()}])
    completed = _cli_backfill(tmp_path, sources, "2009-01-05", "2009-01-06")
    stdout, stderr = completed.communicate(timeout=180)
    assert completed.returncode == 3, stderr[-2000:]
    assert "2009-01-05        0 entries  0 sources loaded, 1 with problems" in stdout
    assert "error: 2 of 2 days have a source whose fetch or parse failed. First 2009-01-05, oai-missing (source_error):" in stderr
