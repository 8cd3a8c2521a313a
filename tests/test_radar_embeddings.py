"""Embeddings for radars: the endpoint through the openai client, the cache, the local model, the day."""

import hashlib
import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from hub_pipeline.lib.embeddings import (
    EmbeddingError,
    EndpointEmbedder,
    LocalEmbedder,
    cached_embeddings,
    description_text,
    embedder_from_env,
    local_model_missing,
)
from hub_pipeline.lib.radar_day import DayRanking, embeddings_summary
from tests.conftest import arxiv_day_sources, run_day, write_sources
from tests.openai_stub_server import ScriptedResponse, error_body, serve_openai_stub

DAY = "2025-03-20"


def embeddings_body(vectors: list[list[float]], model: str = "stub-embed") -> dict:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }


def papers(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"paper_id": [r[0] for r in rows], "version": [r[1] for r in rows], "title": [r[2] for r in rows], "abstract": ["abstract"] * len(rows)},
        schema={"paper_id": pl.Utf8, "version": pl.Int32, "title": pl.Utf8, "abstract": pl.Utf8},
    )


def test_endpoint_embeddings_are_cached_per_version(tmp_path):
    responses = [
        ScriptedResponse(body=embeddings_body([[3.0, 4.0], [0.0, 2.0]])),
        ScriptedResponse(body=embeddings_body([[1.0, 0.0]])),
    ]
    with serve_openai_stub(responses) as stub, duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        embedder = EndpointEmbedder(stub.base_url + "/v1", "stub-embed", "test-key")
        first, computed = cached_embeddings(conn, embedder, papers([("p1", 1, "One"), ("p2", 1, "Two")]))
        assert computed == 2
        np.testing.assert_allclose(first, [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)  # unit length

        again, computed = cached_embeddings(conn, embedder, papers([("p2", 1, "Two"), ("p1", 1, "One")]))
        assert computed == 0
        assert len(stub.requests) == 1
        np.testing.assert_allclose(again, [[0.0, 1.0], [0.6, 0.8]], atol=1e-6)

        _, computed = cached_embeddings(conn, embedder, papers([("p1", 2, "One, revised"), ("p2", 1, "Two")]))
        assert computed == 1
        assert stub.requests[1].json()["input"] == ["One, revised\n\nabstract"]
        assert stub.requests[1].path == "/v1/embeddings"
        assert stub.requests[0].headers["authorization"] == "Bearer test-key"
        rows = conn.execute("SELECT paper_id, version, model FROM main.paper_embeddings ORDER BY ALL").fetchall()
        assert rows == [("p1", 1, "stub-embed"), ("p1", 2, "stub-embed"), ("p2", 1, "stub-embed")]


def test_endpoint_failure_names_the_endpoint(tmp_path):
    responses = [ScriptedResponse(status=400, body=error_body("model not found", "invalid_request_error"))]
    with serve_openai_stub(responses) as stub, duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        embedder = EndpointEmbedder(stub.base_url + "/v1", "missing-model", "k")
        with pytest.raises(EmbeddingError, match=r"embeddings endpoint http://127\.0\.0\.1:\d+/v1 \(model missing-model\) failed"):
            cached_embeddings(conn, embedder, papers([("p1", 1, "One")]))
        assert conn.execute("SELECT count(*) FROM main.paper_embeddings").fetchone() == (0,)


def test_embedder_choice_from_env(monkeypatch):
    monkeypatch.setenv("HUB_EMBEDDINGS", "off")
    assert embedder_from_env()[0] is None
    monkeypatch.setenv("HUB_EMBEDDINGS", "endpoint")
    monkeypatch.delenv("HUB_EMBEDDINGS_BASE_URL", raising=False)
    embedder, note = embedder_from_env()
    assert embedder is None
    assert "HUB_EMBEDDINGS_BASE_URL is not set" in note
    monkeypatch.setenv("HUB_EMBEDDINGS_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("HUB_EMBEDDINGS_MODEL", "bge-m3")
    embedder, note = embedder_from_env()
    assert isinstance(embedder, EndpointEmbedder)
    assert embedder.model == "bge-m3"
    assert note == "embeddings from http://127.0.0.1:9/v1 (bge-m3)"


def test_embeddings_off_summary(monkeypatch):
    monkeypatch.setenv("HUB_EMBEDDINGS", "off")
    embedder, note = embedder_from_env()
    assert embeddings_summary(note, embedder, DayRanking({}, {})) == (
        "embeddings are off (HUB_EMBEDDINGS=off), so radars rank on their query alone; "
        "unset HUB_EMBEDDINGS or set it to auto to turn them on"
    )


def test_embeddings_on_summary():
    embedder = EndpointEmbedder("http://127.0.0.1:9/v1", "bge-m3", "k")
    summary = embeddings_summary("embeddings from http://127.0.0.1:9/v1 (bge-m3)", embedder, DayRanking({}, {}, embedded=12, papers=200))
    assert summary == "embeddings from http://127.0.0.1:9/v1 (bge-m3); 12 paper embeddings computed, 188 taken from the cache"


def test_embeddings_unused_summary():
    embedder = EndpointEmbedder("http://127.0.0.1:9/v1", "bge-m3", "k")
    ranking = DayRanking({}, {}, unused_reason="no radar has seed papers or a description")
    summary = embeddings_summary("embeddings from http://127.0.0.1:9/v1 (bge-m3)", embedder, ranking)
    assert summary == "embeddings from http://127.0.0.1:9/v1 (bge-m3); none used, because no radar has seed papers or a description"


@pytest.mark.skipif(local_model_missing() is not None, reason=f"local model not installed: {local_model_missing()}")
def test_local_model_embeds_offline():
    embedder = LocalEmbedder()
    vectors = embedder.embed(
        [
            "Denoising diffusion models generate images.",
            "Score-based generative modelling of pictures with diffusion.",
            "Quantum error correction with surface codes.",
        ]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.parametrize(
    ("description", "glossary", "expected"),
    [
        # Each glossary term becomes its English terms; the Chinese around them is dropped.
        ("三维重建、新视角合成与高斯泼溅", {"三维重建": ["3D reconstruction"], "高斯泼溅": ["gaussian splatting", "3DGS"]},
         "3D reconstruction, gaussian splatting, 3DGS"),
        # English words already in the description stay; the longer term is replaced first.
        ("大语言模型的推理:Chain-of-Thought 与 RL", {"推理": ["reasoning"], "大语言模型": ["large language model"], "模型": ["model"]},
         "large language model, reasoning, Chain-of-Thought, RL"),
        # A decimal point and an abbreviation inside English text are not separators.
        ("GPT-3.5 的推理", {"推理": ["reasoning"]}, "GPT-3.5, reasoning"),
        # Nothing English is left: the description is not embedded.
        ("医学影像分析", {"推理": ["reasoning"]}, ""),
        # English descriptions are sent as written.
        ("Diffusion models: images and video.", {}, "Diffusion models: images and video."),
    ],
)
def test_description_text_english_only(description, glossary, expected):
    assert description_text(description, glossary, english_only=True) == expected


def test_description_text_multilingual_model():
    assert description_text(" 三维重建与高斯泼溅 ", {"三维重建": ["3D reconstruction"]}, english_only=False) == "三维重建与高斯泼溅"


@pytest.mark.skipif(local_model_missing() is not None, reason=f"local model not installed: {local_model_missing()}")
def test_local_model_glossary_description():
    embedder = LocalEmbedder()
    assert embedder.english_only
    glossary = {"三维重建": ["3D reconstruction", "surface reconstruction"], "新视角合成": ["novel view synthesis"]}
    chinese = "三维重建与新视角合成"
    paper, other = embedder.embed(
        [
            "Neural surface reconstruction and novel view synthesis from multi-view images.",
            "A survey of quantum error correction codes.",
        ]
    )
    raw, read = embedder.embed([chinese, description_text(chinese, glossary, embedder.english_only)])
    assert read @ paper > read @ other + 0.3
    assert read @ paper > raw @ paper + 0.3


class _HashingEmbeddings(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/embeddings that hashes words into 64 buckets: similar texts, similar vectors."""

    protocol_version = "HTTP/1.1"
    calls: list[int] = []
    texts: list[str] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(len(body["input"]))
        self.texts.extend(body["input"])
        vectors = []
        for text in body["input"]:
            vector = [0.0] * 64
            for word in re.findall(r"[a-z]+", text.lower()):
                vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % 64] += 1.0
            vectors.append(vector)
        payload = json.dumps(embeddings_body(vectors, body["model"])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def hashing_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HashingEmbeddings)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_daily_run_uses_seeds_and_cache(fixtures, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    sources_file = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, DAY)[:3])
    radars_file = tmp_path / "radars.yaml"
    radars_file.write_text(
        yaml.safe_dump(
            {
                "radars": [
                    {
                        "id": "splats",
                        "name": "高斯泼溅",
                        "language": "zh-CN",
                        "query": "高斯泼溅 OR 三维重建",
                        "glossary": {"高斯泼溅": ["gaussian splatting"], "三维重建": ["3D reconstruction"]},
                        "description": "3D Gaussian splatting and neural rendering of scenes",
                        "seeds": ["2503.14736", "2503.99999"],
                        "max_papers": 5,
                    }
                ]
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    _HashingEmbeddings.calls = []
    with hashing_server() as base_url:
        monkeypatch.setenv("HUB_EMBEDDINGS", "auto")
        monkeypatch.setenv("HUB_EMBEDDINGS_BASE_URL", base_url)
        monkeypatch.setenv("HUB_EMBEDDINGS_MODEL", "hashing-64")
        first = run_day(data_dir, DAY, sources_file, radars_file)
        assert first.success
        calls_after_first = sum(_HashingEmbeddings.calls)
        second = run_day(data_dir, DAY, sources_file, radars_file)
        assert second.success

    metadata = [m.metadata for m in second.asset_materializations_for_node("radar_matches")][0]
    assert metadata["embeddings_computed"].value == 0
    assert metadata["mode_splats"].value == "lexical+semantic"
    assert "seed 2503.99999 is not in the warehouse" in metadata["semantic"].value
    # The second run embedded only the description (papers and seeds came from the cache).
    assert sum(_HashingEmbeddings.calls) == calls_after_first + 1

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        cached = conn.execute("SELECT count(*), count(DISTINCT model) FROM main.paper_embeddings").fetchone()
        rows = conn.execute("SELECT paper_id, rank, reasons FROM main.radar_matches WHERE radar_id = 'splats' ORDER BY rank").fetchall()
    assert cached[0] > 0
    assert cached[1] == 1
    assert 1 <= len(rows) <= 5
    top_reasons = rows[0][2]
    assert any(reason.startswith('title: "高斯泼溅 (gaussian splatting)"') for reason in top_reasons) or any(
        "nearest seed" in reason for reason in top_reasons
    )
    # The seed HandSplat is listed that day: it is named as a seed, the others by their similarity.
    semantic = {paper_id: [r for r in reasons if "similarity" in r or "seed paper" in r] for paper_id, _, reasons in rows}
    assert semantic["arxiv:2503.14736"] == ["one of this radar's seed papers"]
    for paper_id, reasons in semantic.items():
        if paper_id != "arxiv:2503.14736":
            assert any("similarity" in reason for reason in reasons), paper_id


def _one_diffusion_paper() -> pl.DataFrame:
    """One candidate row, shaped as daily_papers.candidates_for_day returns it."""
    return pl.DataFrame(
        {
            "paper_id": ["arxiv:2503.00001"],
            "title": ["Diffusion models"],
            "abstract": ["A diffusion paper."],
            "authors": [["A. Author"]],
            "categories": [["cs.CV"]],
            "source_ids": [["arxiv-cs-cv"]],
            "version": [1],
        }
    )


def test_failed_endpoint_falls_back_to_lexical(tmp_path):
    from hub_pipeline.lib.config import RadarConfig
    from hub_pipeline.lib.radar_day import rank_day

    candidates = _one_diffusion_paper()
    config = RadarConfig(id="r", name="R", language="en", query="diffusion", description="Diffusion models")
    responses = [ScriptedResponse(status=400, body=error_body("unknown model", "invalid_request_error"))]
    with serve_openai_stub(responses) as stub, duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        embedder = EndpointEmbedder(stub.base_url + "/v1", "missing-model", "k")
        ranking = rank_day(conn, [config], candidates, embedder, "embeddings from the stub")
    assert ranking.modes == {"r": "lexical"}
    assert [m.paper_id for m in ranking.matches["r"]] == ["arxiv:2503.00001"]
    assert any(note.startswith("semantic side skipped, ranking on the query alone: embeddings endpoint") for note in ranking.notes)


def test_query_only_radars_use_no_embeddings(tmp_path):
    from hub_pipeline.lib.config import RadarConfig
    from hub_pipeline.lib.radar_day import rank_day

    candidates = _one_diffusion_paper()
    config = RadarConfig(id="r", name="R", language="en", query="diffusion")
    # No request reaches the stub: a radar without seeds or a description needs no embedding.
    with serve_openai_stub([]) as stub, duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        embedder = EndpointEmbedder(stub.base_url + "/v1", "bge-m3", "k")
        ranking = rank_day(conn, [config], candidates, embedder, "embeddings from the stub")
    assert ranking.unused_reason == "no radar has seed papers or a description"
    assert ranking.embedded == 0
    assert [m.paper_id for m in ranking.matches["r"]] == ["arxiv:2503.00001"]


def test_english_only_endpoint_description(tmp_path):
    from hub_pipeline.lib.config import RadarConfig
    from hub_pipeline.lib.radar_day import rank_day

    radars = [
        RadarConfig(
            id="splats", name="高斯泼溅", language="zh-CN", query="高斯泼溅", description="高斯泼溅与三维重建",
            glossary={"高斯泼溅": ["gaussian splatting"], "三维重建": ["3D reconstruction"]},
        ),
        RadarConfig(id="plain", name="医学", language="zh-CN", query="diffusion", description="医学影像"),
    ]
    _HashingEmbeddings.texts = []
    with hashing_server() as base_url, duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        embedder = EndpointEmbedder(base_url, "english-64", "k", english_only=True)
        ranking = rank_day(conn, radars, _one_diffusion_paper(), embedder, "embeddings from the hashing server")
    # The paper's title and abstract, then the one description left to embed.
    assert _HashingEmbeddings.texts[-1] == "gaussian splatting, 3D reconstruction"
    assert not any("医学" in text for text in _HashingEmbeddings.texts)
    assert any(
        note == "radar plain: the description is left out, because english-64 reads English only"
        " and the description has no English words or glossary terms"
        for note in ranking.notes
    )
    assert 'radar splats: the description is embedded through the glossary as "gaussian splatting, 3D reconstruction"' in ranking.notes
    # Without a description or seeds, "plain" ranks on its query alone.
    assert ranking.modes == {"splats": "lexical+semantic", "plain": "lexical"}
