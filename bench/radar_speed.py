"""Radar ranking speed: papers x radars, embeddings precomputed, against the per-paper matcher.

    python bench/radar_speed.py --papers 5000 --radars 1000
    python bench/radar_speed.py --papers 300000 --radars 100
    python bench/radar_speed.py --embed-sample 256     # cost of computing embeddings locally
    python bench/radar_speed.py --papers 300000 --author-filter   # first and later authors filters

Papers are the unique papers of the shared corpus (daily-arXiv listings), repeated with new ids
when more are asked for than exist. Radars are generated from words and phrases of those
titles with a fixed seed: OR groups of terms, phrases, prefixes, ti:/abs:/cat: scopes, NOT,
category filters, three seed papers and a description each. Embeddings are random unit
vectors of 384 dimensions (the size of all-MiniLM-L6-v2): the ranking cost does not depend on
their values, and computing 300,000 real ones is a separate cost (see --embed-sample).
The baseline is matching.match_radar, the regular-expression matcher run paper by paper,
timed on a slice of the radars and scaled linearly.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub_pipeline.lib.config import RadarConfig  # noqa: E402
from hub_pipeline.lib.matching import Candidate, match_radar  # noqa: E402
from hub_pipeline.lib.radar_rank import PaperIndex, RadarRanker, SemanticProfile  # noqa: E402

DIMENSION = 384
_STOP = set("a an the of for and in on with to from by via is are at as or its into using towards toward based".split())


def fixtures_dir() -> Path:
    configured = os.environ.get("HUB_FIXTURES_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "fixtures"


def load_papers(count: int) -> pl.DataFrame:
    folder = fixtures_dir() / "corpus" / "daily-arxiv-ai-enhanced_dw-dengwei"
    frame = (
        pl.concat([pl.read_ndjson(path) for path in sorted(folder.glob("*.jsonl"))], how="diagonal_relaxed")
        .unique("id", keep="first", maintain_order=True)
        .select(
            pl.col("id"),
            pl.col("title"),
            pl.col("summary").alias("abstract"),
            pl.col("authors"),
            pl.col("categories"),
        )
    )
    copies = -(-count // frame.height)
    frame = pl.concat(
        [frame.with_columns(pl.concat_str([pl.lit(f"arxiv:{copy}/"), pl.col("id")]).alias("paper_id")) for copy in range(copies)]
    ).head(count)
    return frame.with_columns(pl.lit(["arxiv-cs-cv"]).alias("source_ids")).drop("id")


def vocabulary(papers: pl.DataFrame) -> tuple[list[str], list[str], list[str]]:
    words: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for title in papers["title"].head(20000).to_list():
        tokens = [t for t in re.findall(r"[a-z][a-z0-9-]+", title.lower())]
        words.update(t for t in tokens if t not in _STOP and len(t) > 3)
        bigrams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False) if a not in _STOP and b not in _STOP)
    categories = Counter(c for cats in papers["categories"].head(20000).to_list() for c in cats)
    return (
        [w for w, _ in words.most_common(3000)][50:],
        [b for b, _ in bigrams.most_common(2000)],
        [c for c, n in categories.most_common(30)],
    )


def make_radars(count: int, papers: pl.DataFrame, seed: int = 7) -> list[RadarConfig]:
    rng = random.Random(seed)
    words, phrases, categories = vocabulary(papers)
    radars = []
    for number in range(count):
        groups = []
        for _ in range(rng.randint(1, 3)):
            terms = []
            for _ in range(rng.randint(2, 4)):
                kind = rng.random()
                if kind < 0.4:
                    terms.append(f'"{rng.choice(phrases)}"')
                elif kind < 0.55:
                    terms.append(rng.choice(words)[:5] + "*")
                elif kind < 0.7:
                    terms.append(rng.choice(["ti:", "abs:"]) + rng.choice(words))
                else:
                    terms.append(rng.choice(words))
            groups.append("(" + " OR ".join(terms) + ")")
        query = " OR ".join(groups) if rng.random() < 0.7 else " AND ".join(groups[:2])
        if rng.random() < 0.2:
            query = f"({query}) NOT {rng.choice(words)}"
        if rng.random() < 0.1:
            query = f"({query}) OR cat:{rng.choice(categories)}"
        radars.append(
            RadarConfig(
                id=f"radar-{number}",
                name=f"Radar {number}",
                language="en",
                query=query,
                categories=rng.sample(categories, 3) if rng.random() < 0.3 else [],
                description="generated radar",
                max_papers=30,
            )
        )
    return radars


def random_units(rows: int, rng: np.random.Generator) -> np.ndarray:
    matrix = rng.standard_normal((rows, DIMENSION), dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def run(papers_count: int, radars_count: int, baseline_radars: int, repeat: int) -> None:
    papers = load_papers(papers_count)
    radars = make_radars(radars_count, papers)
    rng = np.random.default_rng(1)
    embeddings = random_units(papers.height, rng)
    profiles = {}
    for radar in radars:
        seeds = rng.choice(papers.height, size=3, replace=False)
        profiles[radar.id] = SemanticProfile(
            positives=np.vstack([embeddings[seeds], random_units(1, rng)]),
            positive_labels=[papers["paper_id"][int(i)] for i in seeds] + ["description"],
            negatives=embeddings[rng.choice(papers.height, size=1)],
            negative_labels=["negative"],
        )
    print(f"{papers.height} papers, {len(radars)} radars, {sum(len(r.query) for r in radars) / len(radars):.0f} query characters on average")

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        index = PaperIndex(papers)
        indexed = time.perf_counter()
        ranker = RadarRanker(radars)
        results, _ = ranker.rank(index, embeddings, profiles)
        finished = time.perf_counter()
        times.append((finished - started, indexed - started))
    best = min(times)
    matches = sum(len(v) for v in results.values())
    print(f"ranker: best of {repeat} {best[0]:.2f} s (folding the papers {best[1]:.2f} s); all runs {', '.join(f'{t[0]:.2f}' for t in times)}")
    print(f"  {matches} matches kept, {sum(1 for v in results.values() if v)} radars with matches")

    if baseline_radars:
        candidates = [
            Candidate(row["paper_id"], row["title"], row["abstract"], row["authors"], row["categories"], row["source_ids"])
            for row in papers.iter_rows(named=True)
        ]
        subset = radars[:baseline_radars]
        started = time.perf_counter()
        for radar in subset:
            match_radar(radar, candidates)
        elapsed = time.perf_counter() - started
        scaled = elapsed * len(radars) / len(subset)
        print(
            f"baseline match_radar: {elapsed:.2f} s for {len(subset)} radars, scaled to {len(radars)}: {scaled:.1f} s;"
            f" ratio {scaled / best[0]:.0f}x"
        )


def embed_cost(sample: int) -> None:
    from hub_pipeline.lib.embeddings import LocalEmbedder, paper_text

    papers = load_papers(sample)
    texts = [paper_text(t, a) for t, a in zip(papers["title"].to_list(), papers["abstract"].to_list(), strict=True)]
    started = time.perf_counter()
    embedder = LocalEmbedder()
    embedder.embed(["load the model"])  # the model loads on its first call
    loaded = time.perf_counter()
    embedder.embed(texts)
    finished = time.perf_counter()
    rate = sample / (finished - loaded)
    print(f"local model: load {loaded - started:.1f} s, {sample} papers in {finished - loaded:.1f} s = {rate:.1f} papers/s")
    print(f"  so 5,000 papers take about {5000 / rate / 60:.1f} min and 300,000 about {300000 / rate / 3600:.1f} h on this machine")


def author_filter_cost(count: int) -> None:
    """Time an authors filter: the first one parses every distinct author name, later ones look up."""
    papers = load_papers(count)
    names = papers["authors"].explode().drop_nulls()
    # Three followed people, each written in another form than the feed uses.
    common = names.value_counts(sort=True)["authors"].to_list()[:3]
    followed = [", ".join(reversed(name.rsplit(" ", 1))) for name in common]
    index = PaperIndex(papers)
    started = time.perf_counter()
    matched = int(index.with_authors(followed).sum())
    first = time.perf_counter() - started
    started = time.perf_counter()
    index.with_authors(["W. Li"])
    later = time.perf_counter() - started
    print(f"{count} papers, {names.len()} author names, {names.n_unique()} distinct")
    print(f"authors filter {followed}: first {first:.2f} s (parses every distinct name), later {later * 1000:.1f} ms; {matched} papers matched")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--radars", type=int, default=1000)
    parser.add_argument("--baseline-radars", type=int, default=20, help="radars to time the per-paper matcher on (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embed-sample", type=int, default=0, help="time the local model on this many papers instead")
    parser.add_argument("--author-filter", action="store_true", help="time an authors filter over the papers instead")
    args = parser.parse_args()
    if args.embed_sample:
        embed_cost(args.embed_sample)
    elif args.author_filter:
        author_filter_cost(args.papers)
    else:
        run(args.papers, args.radars, args.baseline_radars, args.repeat)


if __name__ == "__main__":
    main()
