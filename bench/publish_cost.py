"""Time the analysts' snapshot (published_warehouse) and the lock wait, for bench/RESULTS.md.

    .venv/bin/python bench/publish_cost.py [--repeat 5] [--warehouse FILE]

Builds the warehouse of 2025-03-20 from the stored payloads once, with the CLI in a temporary
data folder, or copies the given warehouse there (a large one: `bench/backfill_oai.py --keep
DIR` leaves a year of arXiv in DIR/data/warehouse.duckdb). Then it times publish_snapshot on
it, copying the checkpointed file (what runs do) and with COPY FROM DATABASE (what they did
before). Last, another process locks the warehouse for 1 s and 3 s, and the script measures
how long a writer waits for that lock.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub_pipeline.lib.locking import connect_writer  # noqa: E402
from hub_pipeline.lib.publish import publish_snapshot  # noqa: E402

SOURCES = REPO / "config" / "sources-2025-03-20-offline.yaml"
HOLD = "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(float(sys.argv[2]))"


class _Quiet:
    def warning(self, message: str) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warehouse", type=Path, help="time a copy of this warehouse instead of building one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hub-publish-") as folder:
        data = Path(folder) / "data"
        env = {**os.environ, "HUB_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}
        env.pop("DAGSTER_HOME", None)
        database = data / "warehouse.duckdb"
        if args.warehouse:
            data.mkdir()
            shutil.copyfile(args.warehouse, database)
        else:
            subprocess.run(
                [sys.executable, "-m", "hub_pipeline.cli", "run", "--date", "2025-03-20", "--sources", str(SOURCES)],
                cwd=REPO, env=env, check=True, capture_output=True,
            )  # fmt: skip

        for label, file_copy in (("file copy", True), ("COPY FROM DATABASE", False)):
            times = []
            for _ in range(args.repeat):
                with duckdb.connect(str(database)) as conn:
                    started = time.perf_counter()
                    copy = publish_snapshot(conn, Path(folder) / "published" / "warehouse.duckdb", file_copy=file_copy)
                    times.append(time.perf_counter() - started)
            print(f"warehouse {database.stat().st_size} bytes; snapshot {copy.bytes} bytes, public rows {copy.tables}")
            print(f"publish_snapshot, {label}: median {statistics.median(times):.3f} s of {args.repeat}: {', '.join(f'{t:.3f}' for t in times)}")

        for hold_s in (1.0, 3.0):
            holder = subprocess.Popen([sys.executable, "-c", HOLD, str(database), str(hold_s)], stdout=subprocess.PIPE, text=True)
            holder.stdout.readline()
            started = time.perf_counter()
            connect_writer(database, max_wait_s=60, log=_Quiet()).close()
            waited = time.perf_counter() - started
            holder.wait()
            print(f"lock held {hold_s:.0f} s by another process: the writer connected after {waited:.2f} s")


if __name__ == "__main__":
    main()
