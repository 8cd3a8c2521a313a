"""The title-and-author matcher on the labelled pairs built from real records (tests/data)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "identity_pairs.py"


@pytest.fixture(scope="module")
def pairs_module():
    spec = importlib.util.spec_from_file_location("identity_pairs", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labelled_set_size(pairs_module):
    pairs = pairs_module.read_pairs()
    labels = [pair["label"] for pair in pairs]
    assert len(pairs) >= 200
    assert labels.count("duplicate") >= 100
    assert labels.count("different") >= 100
    assert all(pair["how_decided"] for pair in pairs)


def test_matcher_precision_and_recall(pairs_module, fixtures):
    result = pairs_module.evaluate(fixtures)
    assert result["fp"] == 0, f"wrong merges: {result['wrong']}"
    assert result["precision"] == 1.0
    assert result["recall"] >= 0.95


def test_missed_duplicates_become_candidates(pairs_module, fixtures):
    # A duplicate the matcher does not merge must still reach paper_match_candidates.
    result = pairs_module.evaluate(fixtures)
    assert result["possible_duplicates"] == result["fn"]
