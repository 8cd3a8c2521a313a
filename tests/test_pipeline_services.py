"""The daily graph against real services on 127.0.0.1: feeds over HTTP and an LLM endpoint."""

import json
from datetime import datetime, timezone

import duckdb

from hub_pipeline.defs.resources import LLMResource
from tests.conftest import run_day, write_sources
from tests.http_fixtures import Reply, serve
from tests.openai_stub_server import ScriptedResponse, chat_completion, serve_openai_stub

RADAR = "radars:\n  - {id: arabic-llm, name: Arabic LLMs, language: en, query: 'ti:Arabic'}\n"


def test_llm_briefing_drops_unknown_citation(tmp_path, fixtures, monkeypatch):
    feed = fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.CL.xml"
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    radars = tmp_path / "radars.yaml"
    radars.write_text(RADAR, encoding="utf-8")
    reply = {
        "headline": "One Arabic model paper today.",
        "themes": [{"title": "Arabic LLMs", "text": "A small enterprise model.", "paper_ids": ["arxiv:2503.14603", "arxiv:2401.00001"]}],
        "reading_list": [
            {"paper_id": "arxiv:2503.14603", "why": "A 7B open-weight Arabic model."},
            {"paper_id": "arxiv:2401.00001", "why": "Not in today's set."},
        ],
    }
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")

    with serve_openai_stub([ScriptedResponse(200, chat_completion(json.dumps(reply)))]) as stub:
        llm = LLMResource(model="stub-model", base_url=stub.base_url + "/v1", max_retries=0, timeout_s=10)
        result = run_day(tmp_path / "data", "2025-03-20", sources, radars, llm=llm)
        requests = list(stub.requests)

    assert result.success
    assert len(requests) == 1
    assert requests[0].headers["authorization"] == "Bearer sk-test-secret-0123456789"
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        row = conn.execute(
            "SELECT generator, model, input_ids, cited_ids, removed_ids, tokens_in, tokens_out, error, markdown FROM briefings"
        ).fetchone()
    generator, model, input_ids, cited_ids, removed_ids, tokens_in, tokens_out, error, markdown = row
    assert generator == "llm"
    assert model == "stub-model"
    assert input_ids == ["arxiv:2503.14603"]
    assert cited_ids == ["arxiv:2503.14603"]
    assert removed_ids == ["arxiv:2401.00001"]
    assert (tokens_in, tokens_out) == (100, 50)
    assert error is None
    assert "sk-test-secret" not in markdown


def test_llm_failure_is_recorded(tmp_path, fixtures, monkeypatch):
    feed = fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.CL.xml"
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}],
    )
    radars = tmp_path / "radars.yaml"
    radars.write_text(RADAR, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")

    with serve_openai_stub([ScriptedResponse(200, chat_completion("this is not JSON"))]) as stub:
        llm = LLMResource(model="stub-model", base_url=stub.base_url + "/v1", max_retries=0, timeout_s=10)
        result = run_day(tmp_path / "data", "2025-03-20", sources, radars, llm=llm)

    assert result.success
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        generator, error, markdown = conn.execute("SELECT generator, error, markdown FROM briefings").fetchone()
    assert generator == "offline"
    assert "JSON" in error
    assert "JSON" in markdown


def test_http_sources_conditional_get_and_failure(tmp_path, fixtures):
    nature = (fixtures / "journals" / "nature_rss1.0-rdf_prism_2023-12-15_75items.rdf.xml").read_bytes()
    today = datetime.now(timezone.utc).date().isoformat()
    routes = {
        "/nature.rss": [
            Reply(200, nature, {"ETag": '"nature-v1"', "Content-Type": "application/rdf+xml"}),
            Reply(304, b"", {"ETag": '"nature-v1"'}),
        ],
        "/science.rss": Reply(500, b"Internal Server Error"),
    }
    with serve(routes) as server:
        sources = write_sources(
            tmp_path / "sources.yaml",
            [
                {"id": "nature", "kind": "rss", "name": "Nature", "url": server.url("/nature.rss")},
                {"id": "science", "kind": "rss", "name": "Science", "url": server.url("/science.rss")},
            ],
        )
        first = run_day(tmp_path / "data", today, sources)
        with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
            log_before = conn.execute("SELECT * FROM fetch_log ORDER BY source_id").fetchall()
            papers_before = conn.execute("SELECT * FROM papers ORDER BY paper_id").fetchall()
        second = run_day(tmp_path / "data", today, sources)
        nature_requests = server.requests_to("/nature.rss")

    assert first.success and second.success
    assert nature_requests[0].headers["user-agent"].startswith("AcademicHub/")
    assert "tests@example.org" in nature_requests[0].headers["user-agent"]
    assert nature_requests[1].headers["if-none-match"] == '"nature-v1"'
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        log = {row[0]: row[1:] for row in conn.execute("SELECT source_id, outcome, items, http_status, reason FROM fetch_log").fetchall()}
        assert conn.execute("SELECT * FROM fetch_log ORDER BY source_id").fetchall() == log_before
        assert conn.execute("SELECT * FROM papers ORDER BY paper_id").fetchall() == papers_before
    # 75 <item> elements in the stored Nature feed.
    assert log["nature"][:3] == ("loaded", 75, 200)
    assert log["science"][0] == "source_error"
    assert "500" in log["science"][3]
