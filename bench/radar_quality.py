"""Radar quality on the labelled relevance set: precision@10, precision@50 and recall per radar.

Three systems rank the same collection (the arXiv listings of three days in the shared corpus,
one row per paper: 2025-03-20, 03-21 and 03-24 for the dev set, 03-25, 03-26 and 03-27 for
the held-out set):

- radar: hub_pipeline's ranker (BM25 on the query + similarity to seeds and description);
- keywords: a paper matches when any keyword occurs as a substring of title + abstract,
  ranked by the number of occurrences (what most daily-arXiv tools do);
- svm: TF-IDF + linear SVM trained with the seed papers as positives and the collection as
  negatives, ranked by the decision value (the approach of arxiv-sanity-lite).

    python bench/radar_quality.py                 # the dev table, from tests/data/radar_relevance/labels.csv
    python bench/radar_quality.py --splits        # also rank each of SPLITS (dev days) alone and report it
    python bench/radar_quality.py --set heldout   # the held-out table, from labels-heldout.csv
    python bench/radar_quality.py --pool F        # write the papers to judge (pooled, shuffled) to F
    python bench/radar_quality.py --descriptions  # how well each description alone separates the labels
    python bench/radar_quality.py --set heldout --check 20   # add "radar + model check" (needs OPENAI_API_KEY)

Recall counts the judged relevant papers in the list a system returns, capped at RETURNED
papers (radar: the matches above its thresholds; keywords: the papers with a keyword; svm: its
ranking, which has no threshold), over all judged relevant papers of the radar. "radar
(lexical)" is the same ranker without embeddings, as a radar runs when none are configured.
"radar + model check" (with --check N) is the radar's ranking after the chat model of
OPENAI_API_KEY, OPENAI_BASE_URL and HUB_LLM_MODEL judged its first N papers (radar_check.py).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub_pipeline.defs.resources import LLMResource  # noqa: E402
from hub_pipeline.lib.briefing.cache import MemoryCache  # noqa: E402
from hub_pipeline.lib.briefing.llm import LLMWriter  # noqa: E402
from hub_pipeline.lib.config import RadarConfig, paper_id_for  # noqa: E402
from hub_pipeline.lib.embeddings import LocalEmbedder, cached_embeddings, description_text, local_model_missing  # noqa: E402
from hub_pipeline.lib.radar_check import CheckedPaper, ModelChecker  # noqa: E402
from hub_pipeline.lib.radar_rank import PaperIndex, RadarRanker, RankedMatch, SemanticProfile  # noqa: E402

DATA = REPO / "tests" / "data" / "radar_relevance"
# Two labelled collections. "dev" was judged first, and the semantic share was chosen on it.
# "heldout" was pooled and judged later with the ranker frozen, so it measures the ranker on
# papers that no ranking decision has seen.
COLLECTIONS = {
    "dev": (["2025-03-20", "2025-03-21", "2025-03-24"], "labels.csv"),
    "heldout": (["2025-03-25", "2025-03-26", "2025-03-27"], "labels-heldout.csv"),
}
SEED_DAYS = ["2025-03-18", "2025-03-19"]
# Day groups ranked on their own for --splits, to check that a change chosen on the whole
# collection also holds for each group's papers.
SPLITS = {"2025-03-20": ["2025-03-20"], "2025-03-21 + 2025-03-24": ["2025-03-21", "2025-03-24"]}
RETURNED = 100
# Characters of the abstract a judge reads in the pool file (the dev pool showed 300).
ABSTRACT_SHOWN = 700


def fixtures_dir() -> Path:
    configured = os.environ.get("HUB_FIXTURES_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "fixtures"


def load_days(days: list[str]) -> pl.DataFrame:
    folder = fixtures_dir() / "corpus" / "daily-arxiv-ai-enhanced_dw-dengwei"
    frames = [pl.read_ndjson(folder / f"arxiv_listing_{day}.jsonl") for day in days]
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .unique("id", keep="first", maintain_order=True)
        .select(
            pl.concat_str([pl.lit("arxiv:"), pl.col("id")]).alias("paper_id"),
            pl.col("title"),
            pl.col("summary").alias("abstract"),
            pl.col("authors"),
            pl.col("categories"),
            pl.lit(["arxiv"]).alias("source_ids"),
            pl.lit(1).cast(pl.Int32).alias("version"),
        )
    )


def load_radars() -> tuple[list[RadarConfig], dict[str, dict]]:
    entries = yaml.safe_load((DATA / "radars.yaml").read_text(encoding="utf-8"))["radars"]
    extras = {}
    radars = []
    for entry in entries:
        extras[entry["id"]] = {"keywords": entry.pop("keywords"), "relevant": entry.pop("relevant")}
        entry["max_papers"] = 500  # the collection spans three days: judge the whole ranking
        radars.append(RadarConfig.model_validate(entry))
    return radars, extras


def embed(frame: pl.DataFrame, cache: Path) -> np.ndarray:
    embedder = LocalEmbedder()
    with duckdb.connect(str(cache)) as conn:
        matrix, computed = cached_embeddings(conn, embedder, frame)
    print(f"embeddings: {frame.height} papers, {computed} computed", file=sys.stderr)
    return matrix


def rank_radar_system(collection, seeds, radars, collection_vectors, seed_vectors):
    ids = seeds["paper_id"].to_list()
    titles = dict(zip(ids, seeds["title"].to_list(), strict=True))
    profiles = {}
    embedder = LocalEmbedder()
    for radar in radars:
        rows = [ids.index(paper_id_for(s)) for s in radar.seeds]
        positives = [seed_vectors[row] for row in rows]
        labels = [paper_id_for(s) for s in radar.seeds]
        description = description_text(radar.description, radar.glossary, embedder.english_only)
        if description:
            positives.append(embedder.embed([description])[0])
            labels.append("description")
        negative_rows = [ids.index(paper_id_for(s)) for s in radar.negatives]
        profiles[radar.id] = SemanticProfile(
            positives=np.stack(positives),
            positive_labels=labels,
            negatives=seed_vectors[negative_rows] if negative_rows else np.zeros((0, seed_vectors.shape[1]), np.float32),
            negative_labels=[paper_id_for(s) for s in radar.negatives],
            titles=titles,
        )
    started = time.perf_counter()
    results, _ = RadarRanker(radars).rank(PaperIndex(collection), collection_vectors, profiles)
    elapsed = time.perf_counter() - started
    lexical, _ = RadarRanker(radars).rank(PaperIndex(collection))
    rankings = {radar_id: [m.paper_id for m in matches] for radar_id, matches in results.items()}
    lexical_rankings = {radar_id: [m.paper_id for m in matches] for radar_id, matches in lexical.items()}
    return rankings, lexical_rankings, results, elapsed


def rank_keywords(collection: pl.DataFrame, keywords: list[str]) -> list[str]:
    texts = (collection["title"] + " " + collection["abstract"]).str.to_lowercase().to_list()
    scored = []
    for paper_id, text in zip(collection["paper_id"].to_list(), texts, strict=True):
        hits = sum(text.count(keyword) for keyword in keywords)
        if hits:
            scored.append((-hits, paper_id))
    return [paper_id for _, paper_id in sorted(scored)]


def rank_svm(collection: pl.DataFrame, seeds: pl.DataFrame, radar: RadarConfig) -> list[str]:
    texts = (collection["title"] + ". " + collection["abstract"]).to_list()
    seed_rows = seeds.filter(pl.col("paper_id").is_in([paper_id_for(s) for s in radar.seeds]))
    seed_texts = (seed_rows["title"] + ". " + seed_rows["abstract"]).to_list()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), max_df=0.9, min_df=1, sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform(texts + seed_texts)
    labels = np.r_[np.zeros(len(texts)), np.ones(len(seed_texts))]
    model = LinearSVC(C=0.1, class_weight="balanced", max_iter=10000)
    model.fit(matrix, labels)
    decision = model.decision_function(matrix[: len(texts)])
    order = np.argsort(-decision, kind="stable")
    ids = collection["paper_id"].to_list()
    return [ids[i] for i in order]


def pool_key(radar_id: str, paper_id: str) -> str:
    return hashlib.sha256(f"{radar_id}|{paper_id}".encode()).hexdigest()


def load_labels(name: str) -> dict[str, dict[str, bool]]:
    labels: dict[str, dict[str, bool]] = {}
    with (DATA / name).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels.setdefault(row["radar_id"], {})[row["paper_id"]] = row["relevant"] == "1"
    return labels


def precision(ranking: list[str], judged: dict[str, bool], k: int) -> tuple[float, int]:
    top = ranking[:k]
    unjudged = sum(1 for paper_id in top if paper_id not in judged)
    return sum(1 for paper_id in top if judged.get(paper_id)) / k, unjudged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=Path, help="write the pooled papers to judge to this JSONL file")
    parser.add_argument("--splits", action="store_true", help="also rank and report each day group of SPLITS alone")
    parser.add_argument(
        "--descriptions", action="store_true", help="report the AUC of each radar's description similarity instead"
    )
    parser.add_argument("--set", choices=sorted(COLLECTIONS), default="dev", help="which labelled collection (default dev)")
    parser.add_argument(
        "--check", type=int, default=0, metavar="N", help="also report the radar after the chat model checked its first N papers"
    )
    parser.add_argument("--cache", type=Path, default=REPO / "data" / "bench_embeddings.duckdb")
    args = parser.parse_args()
    missing = local_model_missing()
    if missing:
        sys.exit(f"this bench ranks with the local embedding model, and {missing}")
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    days, labels_name = COLLECTIONS[args.set]

    collection = load_days(days)
    seeds = load_days(SEED_DAYS)
    radars, extras = load_radars()
    if args.descriptions:
        report_descriptions(radars, collection, embed(collection, args.cache), load_labels(labels_name))
        return
    checker = model_checker() if args.check else None
    seed_vectors = embed(seeds, args.cache)
    systems = rank_systems(collection, seeds, radars, extras, embed(collection, args.cache), seed_vectors)
    if checker is not None:
        add_model_check(systems, checker, collection, radars, args.check)

    if args.pool:
        write_pool(args.pool, collection, radars, systems, labels_name)
        return
    labels = load_labels(labels_name)
    report(radars, systems, labels)
    if not args.splits or args.set != "dev":
        return

    for name, split_days in SPLITS.items():
        part = load_days(split_days)
        part_systems = rank_systems(part, seeds, radars, extras, embed(part, args.cache), seed_vectors)
        in_part = set(part["paper_id"].to_list())
        part_labels = {
            radar_id: {paper_id: value for paper_id, value in judged.items() if paper_id in in_part}
            for radar_id, judged in labels.items()
        }
        print(f"\n{name} alone ({part.height} papers)\n")
        report(radars, part_systems, part_labels)


def rank_systems(collection, seeds, radars, extras, vectors, seed_vectors):
    """Rank ``collection`` with the four systems: {radar id: {system name: paper ids, best first}}."""
    radar_rankings, lexical_rankings, _, elapsed = rank_radar_system(
        collection, seeds, radars, vectors, seed_vectors
    )
    print(f"collection {collection.height} papers, radar ranking {elapsed:.3f} s", file=sys.stderr)

    systems: dict[str, dict[str, list[str]]] = {}
    for radar in radars:
        systems[radar.id] = {
            "radar": radar_rankings[radar.id],
            "radar (lexical)": lexical_rankings[radar.id],
            "keywords": rank_keywords(collection, extras[radar.id]["keywords"]),
            "svm": rank_svm(collection, seeds, radar),
        }
    return systems


def model_checker() -> ModelChecker:
    """Build the model checker from the environment, as the pipeline's LLMResource does."""
    resource = LLMResource(run_token_budget=0)
    client = resource.client()
    if client is None:
        sys.exit("--check needs OPENAI_API_KEY (and OPENAI_BASE_URL and HUB_LLM_MODEL for an endpoint other than OpenAI's)")
    return ModelChecker(LLMWriter(client, resource.settings()), MemoryCache())


def add_model_check(systems, checker: ModelChecker, collection, radars, top: int) -> None:
    """Add "radar + model check": the radar's ranking with its first ``top`` papers judged by the model."""
    papers = {
        row["paper_id"]: CheckedPaper(row["paper_id"], row["version"], row["title"], row["abstract"])
        for row in collection.iter_rows(named=True)
    }
    for radar in radars:
        ranking = systems[radar.id]["radar"]
        matches = [RankedMatch(radar.id, paper_id, 0.0, rank, [], 0.0, None) for rank, paper_id in enumerate(ranking, start=1)]
        outcome = checker.check(radar.model_copy(update={"model_check": top}), matches, papers)
        if outcome.failure:
            sys.exit(f"model check of {radar.id} failed ({outcome.failure}): {outcome.error}")
        print(f"{radar.id}: model check judged {outcome.judged}, {outcome.off_topic} off topic", file=sys.stderr)
        others = {name: other for name, other in systems[radar.id].items() if name != "radar"}
        systems[radar.id] = {"radar": ranking, "radar + model check": [m.paper_id for m in outcome.matches], **others}


def write_pool(path: Path, collection, radars, systems, labels_name: str) -> None:
    """Pool: the top 50 of each system plus a fixed random sample, shuffled, without system names.

    Papers already in labels.csv are left out, so a new system only adds its unjudged papers.
    """
    rng = np.random.default_rng(20250320)
    ids = collection["paper_id"].to_list()
    info = {row["paper_id"]: row for row in collection.iter_rows(named=True)}
    judged = load_labels(labels_name) if (DATA / labels_name).is_file() else {}
    with path.open("w", encoding="utf-8") as handle:
        for radar in radars:
            pool = set(judged.get(radar.id, {}))
            for ranking in systems[radar.id].values():
                pool.update(ranking[:50])
            # A random sample finds relevant papers that no system ranks high: at least 30 papers,
            # and more until the radar has 110 judged papers.
            sampled = 0
            for paper_id in rng.permutation(ids).tolist():
                if sampled >= 30 and len(pool) >= 110:
                    break
                if paper_id not in pool:
                    pool.add(paper_id)
                    sampled += 1
            for paper_id in sorted(pool - set(judged.get(radar.id, {})), key=lambda pid: pool_key(radar.id, pid)):
                paper = info[paper_id]
                record = {"radar_id": radar.id, "paper_id": paper_id, "title": paper["title"], "abstract": paper["abstract"][:ABSTRACT_SHOWN]}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"{radar.id}: {len(pool)} papers to judge", file=sys.stderr)


def report_descriptions(radars, collection, vectors, labels) -> None:
    """AUC of the similarity to each radar's description over its judged papers: as written, and
    as the local model embeds it (through the glossary, see embeddings.description_text)."""
    embedder = LocalEmbedder()
    row_of = {paper_id: row for row, paper_id in enumerate(collection["paper_id"].to_list())}
    lines = ["| radar | language | description as written | as embedded | embedded text |", "| --- | --- | --- | --- | --- |"]
    for radar in radars:
        judged = labels.get(radar.id, {})
        rows = [row_of[paper_id] for paper_id in judged]
        truth = [int(value) for value in judged.values()]
        embedded = description_text(radar.description, radar.glossary, embedder.english_only)
        written, read = embedder.embed([radar.description, embedded or radar.description])
        cells = [f"{roc_auc_score(truth, vectors[rows] @ vector):.2f}" for vector in (written, read)]
        lines.append(f"| {radar.id} | {radar.language} | {cells[0]} | {cells[1]} | {embedded} |")
    print("\n".join(lines))


def report(radars, systems, labels) -> None:
    lines = [
        "| radar | judged | relevant | system | P@10 | P@50 | recall | returned |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for radar in radars:
        judged = labels.get(radar.id, {})
        relevant = {paper_id for paper_id, is_relevant in judged.items() if is_relevant}
        for name, ranking in systems[radar.id].items():
            returned = ranking[:RETURNED]
            p10, u10 = precision(ranking, judged, 10)
            p50, u50 = precision(ranking, judged, 50)
            recall = len(relevant & set(returned)) / len(relevant) if relevant else 0.0
            flag = f" ({u10 + u50} unjudged)" if u10 + u50 else ""
            label = f"**{name}**" if name == "radar" else name
            lines.append(
                f"| {radar.id} | {len(judged)} | {len(relevant)} | {label} | {p10:.2f} | {p50:.2f} | {recall:.2f} | {len(returned)}{flag} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
