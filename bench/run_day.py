"""Time `make run` for 2025-03-20 from the stored payloads, and where the time goes.

    .venv/bin/python bench/run_day.py [--repeat 3]

Each repetition starts from an empty data folder in a fresh process, so Python and Dagster
start-up are counted. Three ways of running the same day are timed:
  make-run        `python -m hub_pipeline.cli run`, what `make run` calls once .venv exists
  in_process      `dagster asset materialize --select '*'` with the in-process executor
  multiprocess    the same with Dagster's default multiprocess executor (the baseline)
Per-step times come from the Dagster instance's step statistics of each run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "config" / "sources-2025-03-20-offline.yaml"
DAY = "2025-03-20"


MODES = {
    "make-run": ("in_process", [sys.executable, "-m", "hub_pipeline.cli", "run", "--date", DAY, "--sources", str(SOURCES)]),
    "in_process": ("in_process", [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "--select", "*",
                                  "--partition", DAY, "-m", "hub_pipeline.definitions"]),
    "multiprocess": ("multiprocess", [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "--select", "*",
                                      "--partition", DAY, "-m", "hub_pipeline.definitions"]),
}


def run_once(mode: str) -> tuple[float, dict[str, float]]:
    executor, command = MODES[mode]
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as folder:
        Path(folder, "dagster").mkdir()
        Path(folder, "dagster", "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = dict(
            os.environ,
            HUB_DATA_DIR=folder,
            DAGSTER_HOME=f"{folder}/dagster",
            HUB_EXECUTOR=executor,
            HUB_SOURCES_FILE=str(SOURCES),
            PYTHONPATH=str(REPO),
        )
        env.pop("OPENAI_API_KEY", None)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"the run failed ({mode}):\n{completed.stderr[-3000:]}")
        return wall, step_times(env)


def step_times(env: dict[str, str]) -> dict[str, float]:
    script = (
        "from dagster import DagsterInstance\n"
        "instance = DagsterInstance.get()\n"
        "run = instance.get_runs(limit=1)[0]\n"
        "for stat in instance.get_run_step_stats(run.run_id):\n"
        "    print(stat.step_key, stat.end_time - stat.start_time)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    return {key: float(value) for key, value in (line.split() for line in output.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per executor (default 3)")
    args = parser.parse_args()

    results = {}
    for mode in MODES:
        runs = [run_once(mode) for _ in range(args.repeat)]
        walls = [wall for wall, _ in runs]
        results[mode] = (walls, runs[walls.index(statistics.median(walls))][1])

    for mode, (walls, steps) in results.items():
        print(f"\n{mode}: median {statistics.median(walls):.2f} s, runs " + ", ".join(f"{w:.2f}" for w in walls))
        print(f"  steps total {sum(steps.values()):.2f} s")
        for key, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            print(f"  {key:40s} {seconds:6.2f} s")
    make_run = statistics.median(results["make-run"][0])
    in_process = statistics.median(results["in_process"][0])
    multiprocess = statistics.median(results["multiprocess"][0])
    print(f"\nmultiprocess / in_process wall time: {multiprocess / in_process:.2f}x")
    print(f"multiprocess / make-run wall time: {multiprocess / make_run:.2f}x")


if __name__ == "__main__":
    main()
