"""The briefings asset against the LLM stub: warehouse cache across runs, stored columns, metadata."""

import json

import duckdb
import pytest

from hub_pipeline.defs.resources import LLMResource
from tests.conftest import run_day, write_sources
from tests.openai_stub_server import ScriptedResponse, chat_completion, serve_openai_stub

RADAR = "radars:\n  - {id: arabic-llm, name: Arabic LLMs, language: en, query: 'ti:Arabic'}\n"
REPLY = {
    "headline": "One Arabic language model paper today, an open-weight model for enterprise use.",
    "themes": [{"title": "Arabic LLMs", "text": "A small enterprise model for Arabic.", "paper_ids": ["arxiv:2503.14603"]}],
    "reading_list": [{"paper_id": "arxiv:2503.14603", "why": "A 7B open-weight Arabic model."}],
}


def materialization_metadata(result, asset_name: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path[-1] == asset_name:
            return event.materialization.metadata
    raise AssertionError(f"no materialization of {asset_name}")


@pytest.fixture
def day_setup(tmp_path, fixtures, monkeypatch):
    feed = fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.CL.xml"
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    radars = tmp_path / "radars.yaml"
    radars.write_text(RADAR, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    return tmp_path / "data", sources, radars


def run_with_stub(day_setup, responses, **llm_settings):
    data_dir, sources, radars = day_setup
    with serve_openai_stub(responses) as stub:
        llm = LLMResource(model="stub-model", base_url=stub.base_url + "/v1", max_retries=0, timeout_s=10, **llm_settings)
        result = run_day(data_dir, "2025-03-20", sources, radars, llm=llm)
    return result, stub.requests


def stored_briefing(data_dir) -> dict:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        frame = conn.execute("SELECT * FROM briefings").pl()
    return frame.row(0, named=True)


def test_second_run_spends_no_tokens(day_setup):
    data_dir = day_setup[0]
    reply = ScriptedResponse(200, chat_completion(json.dumps(REPLY), prompt_tokens=1200, completion_tokens=180))
    first, first_requests = run_with_stub(day_setup, [reply])
    first_row = stored_briefing(data_dir)
    second, second_requests = run_with_stub(day_setup, [])
    second_row = stored_briefing(data_dir)

    assert first.success and second.success
    assert len(first_requests) == 1
    assert second_requests == []
    assert (first_row["tokens_in"], first_row["tokens_out"], first_row["cached"]) == (1200, 180, False)
    assert (second_row["tokens_in"], second_row["tokens_out"], second_row["cached"]) == (0, 0, True)
    assert second_row["generator"] == "llm"
    assert second_row["cache_key"] == first_row["cache_key"]
    assert materialization_metadata(second, "briefings")["tokens"].value == 0
    checks = {evaluation.check_name: evaluation.passed for evaluation in second.get_asset_check_evaluations()}
    assert checks["citations_in_day_set"] is True


def test_stored_audit_columns(day_setup):
    data_dir = day_setup[0]
    reply = ScriptedResponse(200, chat_completion(json.dumps(REPLY), prompt_tokens=2000, completion_tokens=500))
    result, _ = run_with_stub(day_setup, [reply], price_in_per_1k=0.5, price_out_per_1k=2.0)
    row = stored_briefing(data_dir)
    metadata = materialization_metadata(result, "briefings")
    assert metadata["briefing_arabic-llm"].value == row["markdown"]
    assert metadata["cost_usd"].value == 2.0
    assert row["prompt_version"] == "llm-5"
    assert row["input_ids"] == ["arxiv:2503.14603"]
    assert row["cited_ids"] == ["arxiv:2503.14603"]
    assert row["removed_ids"] == []
    assert row["cost_usd"] == 2.0
    assert len(row["cache_key"]) == 64
    assert row["requests"] == 1
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        cached = conn.execute("SELECT cache_key, tokens_in, tokens_out FROM raw.llm_cache").fetchall()
        comment = conn.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'briefings' AND column_name = 'cost_usd'"
        ).fetchone()[0]
    assert cached == [(row["cache_key"], 2000, 500)]
    assert comment.startswith("Estimated cost in USD")


def test_failure_labelled_everywhere(day_setup):
    data_dir = day_setup[0]
    quota = ScriptedResponse(
        429,
        {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}},
    )
    result, requests = run_with_stub(day_setup, [quota, quota, quota])
    row = stored_briefing(data_dir)
    metadata = materialization_metadata(result, "briefings")
    saved = (data_dir / "briefings" / "arabic-llm" / "2025-03-20.md").read_text(encoding="utf-8")

    assert len(requests) == 1
    assert row["generator"] == "offline"
    assert row["failure"] == "quota_exhausted"
    assert "Failure kind: quota_exhausted." in saved
    assert "LLM quota exhausted" in saved
    assert metadata["llm_failures"].value == 1
    assert metadata["failures"].value == {"arabic-llm": f"quota_exhausted: {row['error']}"}


def test_citation_check_fails_on_ungrounded_row(day_setup):
    from hub_pipeline.lib.warehouse import ensure_tables

    data_dir = day_setup[0]
    data_dir.mkdir(parents=True)
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        ensure_tables(conn)
        conn.execute(
            "INSERT INTO main.briefings (radar_id, day, language, generator, prompt_version, markdown, content, "
            "input_ids, cited_ids, removed_ids, tokens_in, tokens_out) VALUES ('arabic-llm', DATE '2025-03-19', 'en', "
            "'llm', 'llm-1', '# old', '{}', ['arxiv:2503.00001'], ['arxiv:2503.99999'], [], 0, 0)"
        )
    result, _ = run_with_stub(day_setup, [], run_token_budget=1)

    evaluations = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    check = evaluations["citations_in_day_set"]
    assert check.passed is False
    assert check.metadata["sample"].value == "arabic-llm 2025-03-19"
    materialized = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert "site" not in materialized
