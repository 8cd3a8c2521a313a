"""Backfill about 300,000 OAI-PMH records from stored pages in one run, and compare parsers.

    .venv/bin/python bench/backfill_oai.py [--replicas 24] [--fixtures ../shared/fixtures]

The payloads are the 13 real OAI-PMH pages in the shared fixtures (the 2016 set=cs harvest's
pages 1-11 and its final page 103, and one arXivRaw page), REPLICATED with shifted identifiers
until they hold about 300,000 records, the size of a year of all of arXiv. Each copy renumbers
its records (new-style ids in a month of its own), so every record is a distinct paper, and
moves their submission dates into 2015 (month and day kept); titles, authors and abstracts are
the real ones. The pages are written to a folder and backfilled by a
file:// arxiv_oai source, so nothing touches the network.

Part 1 times one ranged Dagster run (raw_payloads, entries, the SQL models) over every day the
records fall on, in a fresh process, and reads its peak resident memory.
Part 2 times parsers in this process on the same bytes (best of five):
  - on the OAI pages: the bulk parser (lib/sources/oai.py, normalization included) and a bare
    lxml iterparse pass that reads only each record's title;
  - on the arXiv API Atom files of the fixtures: feedparser, the bulk API parser
    (lib/sources/arxiv_api.py) and the bare pass;
  - the same three on API pages of 200 entries, the size the backfill asks for, ASSEMBLED from
    the entries of the fixtures' 63-entry file (each page its header and 200 of those entries,
    repeated in turn).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = "corpus/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09"
# The copies' submission dates are moved into 2015 (month and day kept), so the records fall
# on one year of announcement days, as a year of all of arXiv would.
FIRST_DAY, LAST_DAY = "2015-01-01", "2015-12-31"


def real_pages(fixtures: Path) -> list[Path]:
    return (
        [fixtures / "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page001_cursor0.xml"]
        + [fixtures / CORPUS / f"page{number:03d}.xml" for number in range(2, 12)]
        + [fixtures / "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page103_final_empty-token.xml"]
        + [fixtures / "arxiv_oai/arxiv_oai_ListRecords_arXivRaw_2014-01-16_cursor46000_token496549-47001.xml"]
    )


# An identifier where it appears: the OAI header and the <id> of the metadata.
_ID = re.compile(rb"(oai:arXiv\.org:|<id>)([^<\s]+)")
# Submission dates: <created>2007-03-30</created> (arXiv) and <date>Wed, 23 Jan 2008 ...</date> (arXivRaw).
_CREATED = re.compile(rb"<created>\d{4}-")
_RAW_DATE = re.compile(rb"(<date>\w{3}, \d{1,2} \w{3} )\d{4}")


def replicate(pages: list[Path], replicas: int, folder: Path) -> int:
    """Write ``replicas`` copies of the pages with renumbered ids; return the record count."""
    records = 0
    for replica in range(replicas):
        # Copy r lives in month 1501 + r (yymm), numbered 00001, 00002, ... across its pages.
        year, month = 15 + replica // 12, 1 + replica % 12
        prefix = f"{year:02d}{month:02d}".encode()
        numbers: dict[bytes, bytes] = {}

        def renumber(match: re.Match[bytes]) -> bytes:
            old = match.group(2)
            if old not in numbers:
                numbers[old] = prefix + b"." + f"{len(numbers) + 1:05d}".encode()
            return match.group(1) + numbers[old]

        for index, page in enumerate(pages):
            body = _ID.sub(renumber, page.read_bytes())
            body = _RAW_DATE.sub(rb"\g<1>2015", _CREATED.sub(b"<created>2015-", body))
            (folder / f"replica{replica:03d}-page{index:02d}.xml").write_bytes(body)
        records += len(numbers)
    return records


def backfill_in_child(data_dir: Path, sources: Path, memory_limit: str, threads: int = 0) -> dict:
    """One ranged run in a fresh process; returns its wall time, peak RSS and counts."""
    code = f"""
import json, resource, sys, threading, time
import psutil
sys.path.insert(0, {str(REPO)!r})
started = time.perf_counter()
samples = []  # (time, RSS of this process, RSS of this process and its parser workers), MB

def sample():
    me = psutil.Process()
    while True:
        own = me.memory_info().rss
        tree = own
        for child in me.children(recursive=True):
            try:
                tree += child.memory_info().rss
            except psutil.Error:
                pass
        samples.append((time.time(), own / 2**20, tree / 2**20))
        time.sleep(0.05)

threading.Thread(target=sample, daemon=True).start()
from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource
from hub_pipeline.defs.identity.assets import paper_identity
from hub_pipeline.defs.ingest.assets import entries, raw_payloads
from hub_pipeline.defs.resources import HubSettings
from hub_pipeline.defs.sql.assets import build_sql_assets
import duckdb
imported = time.perf_counter()
resources = {{"duckdb": DuckDBResource(database={str(data_dir / 'warehouse.duckdb')!r}, connection_config={{"memory_limit": {memory_limit!r}, **({{"threads": {threads}}} if {threads} else {{}})}}),
             "hub": HubSettings(data_dir={str(data_dir)!r}, sources_file={str(sources)!r})}}
instance = DagsterInstance.ephemeral()
result = materialize([raw_payloads, entries, paper_identity, *build_sql_assets()], resources=resources,
                     instance=instance,
                     tags={{"dagster/asset_partition_range_start": {FIRST_DAY!r}, "dagster/asset_partition_range_end": {LAST_DAY!r}}})
finished = time.perf_counter()
run_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with duckdb.connect({str(data_dir / 'warehouse.duckdb')!r}, read_only=True) as conn:
    counts = {{table: conn.execute(f"SELECT count(*) FROM {{table}}").fetchone()[0]
              for table in ("raw.entries", "main.papers", "main.paper_listings", "main.fetch_log")}}
    days = conn.execute("SELECT count(*) FILTER (WHERE items > 0), count(*) FROM main.fetch_log").fetchone()
stats = instance.get_run_step_stats(result.run_id)
steps = {{stat.step_key: round(stat.end_time - stat.start_time, 1) for stat in stats}}
step_peaks = {{stat.step_key: (round(max((own for at, own, _ in samples if stat.start_time <= at <= stat.end_time), default=0)),
                round(max((tree for at, _, tree in samples if stat.start_time <= at <= stat.end_time), default=0))) for stat in stats}}
print(json.dumps({{"steps": steps, "step_peaks_mb": step_peaks, "max_tree_mb": max(tree for _, _, tree in samples), "success": result.success, "seconds": finished - started, "import_seconds": imported - started,
                  "max_rss_mb": run_peak,
                  "max_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "counts": counts,
                  "days_with_entries": days[0], "days": days[1]}}))
"""
    env = dict(os.environ, HUB_DATA_DIR=str(data_dir), PYTHONWARNINGS="ignore")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-5000:])
        raise SystemExit("the backfill run failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def best_rate(function, bodies: list[bytes], repeat: int = 5) -> tuple[float, int]:
    """Entries per second of function(bodies) -> entries, best of ``repeat`` runs."""
    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = function(bodies)
        best = min(best, time.perf_counter() - started)
    return count / best, count


def bare_titles(tags: tuple[str, ...]):
    from lxml import etree

    def run(bodies: list[bytes]) -> int:
        count = 0
        for body in bodies:
            for _, element in etree.iterparse(io.BytesIO(body), events=("end",), tag=tags, resolve_entities=False, no_network=True, huge_tree=True):
                count += element.text is not None
                element.clear()
        return count

    return run


def parsers(fixtures: Path, oai_bodies: list[bytes]) -> dict:
    import feedparser

    from hub_pipeline.lib.backfill import BATCH_PAGES
    from hub_pipeline.lib.sources.arxiv_api import parse_arxiv_api_page, parse_arxiv_api_pages
    from hub_pipeline.lib.sources.common import unwrap_recorded
    from hub_pipeline.lib.sources.oai import parse_oai_page, parse_oai_pages

    def batches(function):
        # As the backfill parses: BATCH_PAGES pages at a time, normalized together.
        return lambda bodies: sum(function(bodies[start : start + BATCH_PAGES], "bench").height for start in range(0, len(bodies), BATCH_PAGES))

    results = {}
    results["oai_bulk"] = best_rate(batches(parse_oai_pages), oai_bodies)
    results["oai_bulk_per_page"] = best_rate(lambda bodies: sum(len(parse_oai_page(body, "bench")) for body in bodies), oai_bodies)
    # One pass over each page reading the titles of either metadata format.
    results["oai_bare"] = best_rate(bare_titles(("{http://arxiv.org/OAI/arXiv/}title", "{http://arxiv.org/OAI/arXivRaw/}title")), oai_bodies)

    api_bodies = [unwrap_recorded(path.read_bytes())[0] for path in sorted((fixtures / "arxiv_api").iterdir())]
    results["api_feedparser"] = best_rate(lambda bodies: sum(len(feedparser.parse(body).entries) for body in bodies), api_bodies)
    results["api_bulk"] = best_rate(batches(parse_arxiv_api_pages), api_bodies)
    results["api_bulk_per_page"] = best_rate(lambda bodies: sum(len(parse_arxiv_api_page(body, "bench")) for body in bodies), api_bodies)
    # The entry titles only (the feed's own <title> is not an entry).
    results["api_bare"] = best_rate(bare_titles(("{http://www.w3.org/2005/Atom}entry",)), api_bodies)
    # Pages of the size a harvest gets, in batches as the backfill parses them.
    assembled = assembled_api_pages(fixtures)
    results["api200_feedparser"] = best_rate(lambda bodies: sum(len(feedparser.parse(body).entries) for body in bodies), assembled, repeat=2)
    results["api200_bulk"] = best_rate(batches(parse_arxiv_api_pages), assembled)
    results["api200_bare"] = best_rate(bare_titles(("{http://www.w3.org/2005/Atom}entry",)), assembled)
    return results


API_SOURCE = "arxiv_api/arxiv_api_2026-04-25_query-cat-astro-ph-wildcard_max63_totalResults382624.xml"


def assembled_api_pages(fixtures: Path, pages: int = 8, size: int = 200) -> list[bytes]:
    """API pages of ``size`` entries: the 63-entry file's header, then its entries in turn."""
    text = (fixtures / API_SOURCE).read_bytes()
    header = text[: text.index(b"<entry>")]
    entries = re.findall(rb"<entry>.*?</entry>", text, re.DOTALL)
    return [
        header + b"\n".join(entries[(page * size + number) % len(entries)] for number in range(size)) + b"\n</feed>\n"
        for page in range(pages)
    ]


def main() -> None:
    from hub_pipeline.cli import BACKFILL_DUCKDB_MEMORY_LIMIT, BACKFILL_DUCKDB_THREADS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=24)
    parser.add_argument("--duckdb-memory-limit", default=BACKFILL_DUCKDB_MEMORY_LIMIT, help="DuckDB's memory_limit for the run's connections (default: what make backfill sets)")
    parser.add_argument("--fixtures", type=Path, default=Path(os.environ.get("HUB_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures"))
    parser.add_argument("--duckdb-threads", type=int, default=int(BACKFILL_DUCKDB_THREADS), help="DuckDB's threads for the run's connections (0: one per core; default: what make backfill sets)")
    parser.add_argument("--parsers-only", action="store_true", help="time the parsers only (part 2)")
    parser.add_argument("--keep", type=Path, help="build in this empty folder and keep it (pages, warehouse) for inspection")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hub-bench-backfill-") as folder:
        root = args.keep or Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        pages_dir = root / "replicated-oai-pages"
        pages_dir.mkdir()
        pages = real_pages(args.fixtures)
        records = replicate(pages, args.replicas, pages_dir)
        size = sum(path.stat().st_size for path in pages_dir.iterdir())
        print(f"payloads: {len(pages)} real OAI-PMH pages x {args.replicas} replicas (REPLICATED, ids shifted) = "
              f"{len(list(pages_dir.iterdir()))} pages, {records} records, {size / 1e6:.0f} MB")
        sources = root / "sources.yaml"
        sources.write_text(
            "fetch: {contact_email: bench@example.org}\n"
            f"sources:\n  - {{id: arxiv-oai-replicated, kind: arxiv_oai, set: cs, url: '{pages_dir.as_uri()}'}}\n"
        )

        run = None if args.parsers_only else backfill_in_child(root / "data", sources, args.duckdb_memory_limit, args.duckdb_threads)
        if run:
            print(f"backfill {FIRST_DAY}..{LAST_DAY} in one run: {run['seconds']:.1f} s "
                  f"(of which imports {run['import_seconds']:.1f} s), peak RSS {run['max_rss_mb']:.0f} MB "
                  f"(largest parser worker {run['max_rss_worker_mb']:.0f} MB), success {run['success']}")
            print(f"  peak RSS of the run's process and its parser workers together (sampled every 0.05 s): {run['max_tree_mb']:.0f} MB")
            print(f"  step seconds: {run['steps']}")
            print(f"  step peak MB (the process alone, with its workers): {run['step_peaks_mb']}")
            print(f"  rows: {run['counts']}; days with entries {run['days_with_entries']} of {run['days']}")

        oai_bodies = [path.read_bytes() for path in pages]
        rates = parsers(args.fixtures, oai_bodies)
        for name, (rate, count) in rates.items():
            print(f"  {name:15s} {rate:10,.0f} entries/s ({count} entries per pass)")
        print(f"  OAI: bulk / bare = {rates['oai_bulk'][0] / rates['oai_bare'][0]:.2f}, "
              f"bulk / API feedparser = {rates['oai_bulk'][0] / rates['api_feedparser'][0]:.1f}x")
        print(f"  API files: bulk / feedparser = {rates['api_bulk'][0] / rates['api_feedparser'][0]:.1f}x, "
              f"bulk / bare = {rates['api_bulk'][0] / rates['api_bare'][0]:.2f}")
        print(f"  API pages of 200 (ASSEMBLED): bulk / feedparser = {rates['api200_bulk'][0] / rates['api200_feedparser'][0]:.1f}x, "
              f"bulk / bare = {rates['api200_bulk'][0] / rates['api200_bare'][0]:.2f}")
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
