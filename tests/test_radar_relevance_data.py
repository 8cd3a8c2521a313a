"""The labelled relevance sets that bench/radar_quality.py reports: well-formed and complete."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).parent / "data" / "radar_relevance"
LABEL_FILES = ["labels.csv", "labels-heldout.csv"]


def _radar_ids() -> list[str]:
    return [entry["id"] for entry in yaml.safe_load((DATA / "radars.yaml").read_text(encoding="utf-8"))["radars"]]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_radars_file_has_six_radars_with_rules():
    entries = yaml.safe_load((DATA / "radars.yaml").read_text(encoding="utf-8"))["radars"]
    assert len(entries) >= 6
    assert all(entry["relevant"].strip() for entry in entries)
    assert all(entry["keywords"] for entry in entries)


@pytest.mark.parametrize("name", LABEL_FILES)
def test_label_file_judges_each_radar_enough(name):
    rows = _rows(name)
    per_radar = Counter(row["radar_id"] for row in rows)
    assert set(per_radar) == set(_radar_ids())
    assert min(per_radar.values()) >= 100


@pytest.mark.parametrize("name", LABEL_FILES)
def test_label_file_rows_are_unique_and_binary(name):
    rows = _rows(name)
    pairs = Counter((row["radar_id"], row["paper_id"]) for row in rows)
    assert max(pairs.values()) == 1
    assert {row["relevant"] for row in rows} == {"0", "1"}
    assert all(row["paper_id"].startswith("arxiv:") for row in rows)


def test_heldout_label_is_the_judges_majority():
    for row in _rows("labels-heldout.csv"):
        first, second, third = row["judge_a"], row["judge_b"], row["judge_c"]
        expected = first if first == second else third
        assert third in ({"0", "1"} if first != second else {""}), row
        assert row["relevant"] == expected, row
