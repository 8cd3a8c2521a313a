"""The batched radar ranker: patterns, boolean logic, BM25 order, semantic side, reasons."""

import random

import numpy as np
import polars as pl
import pytest

from hub_pipeline.lib.briefing.offline import localize_reason
from hub_pipeline.lib.config import ConfigError, RadarConfig, load_radars, paper_id_for
from hub_pipeline.lib.matching import Candidate, match_radar
from hub_pipeline.lib.radar_rank import PaperIndex, RadarRanker, SemanticProfile, combine_scores, term_patterns

DAY = "2025-03-20"


@pytest.fixture(scope="module")
def day_papers(fixtures) -> pl.DataFrame:
    """The real listing of 2025-03-20 (cs.CV, cs.CL, cs.AI and cross-lists), one row per paper."""
    path = fixtures / "corpus" / "daily-arxiv-ai-enhanced_dw-dengwei" / f"arxiv_listing_{DAY}.jsonl"
    return (
        pl.read_ndjson(path)
        .unique("id", keep="first", maintain_order=True)
        .select(
            pl.concat_str([pl.lit("arxiv:"), pl.col("id")]).alias("paper_id"),
            "title",
            pl.col("summary").alias("abstract"),
            "authors",
            "categories",
            pl.lit(["arxiv-cs-cv"]).alias("source_ids"),
        )
    )


def radar(**fields) -> RadarConfig:
    values = {"id": "r", "name": "R", "language": "en", "query": "diffusion", "max_papers": 500}
    values.update(fields)
    return RadarConfig(**values)


def rank(papers: pl.DataFrame, *radars: RadarConfig, embeddings=None, profiles=None):
    results, modes = RadarRanker(list(radars)).rank(PaperIndex(papers), embeddings, profiles)
    return results, modes


def papers_frame(rows: list[dict]) -> pl.DataFrame:
    defaults = {"authors": ["A. Author"], "categories": ["cs.CV"], "source_ids": ["arxiv-cs-cv"]}
    return pl.DataFrame([{**defaults, **row} for row in rows])


@pytest.mark.parametrize(
    ("term", "patterns"),
    [
        ("model", [" model ", " modeles ", " models "]),
        ("diffus*", [" diffus"]),
        ("diffusion model", [" diffusion model ", " diffusion modeles ", " diffusion models "]),
        ("score-based", [" score based ", " score basedes ", " score baseds "]),
        ("扩散模型", ["扩散模型"]),
        ("LLM*", [" llm"]),
    ],
)
def test_term_patterns(term, patterns):
    assert term_patterns(term) == patterns


def test_glossary_adds_english_patterns():
    assert term_patterns("扩散模型", {"扩散模型": ["diffusion model", "DDPM"]}) == sorted(
        ["扩散模型", " diffusion model ", " diffusion models ", " diffusion modeles ", " ddpm ", " ddpms ", " ddpmes "]
    )


def test_phrase_matches_real_papers(day_papers):
    # grep -i "gaussian splatting" arxiv_listing_2025-03-20.jsonl: 2503.14698 and 2503.14736;
    # only HandSplat (2503.14736) has the phrase in its title.
    results, _ = rank(day_papers, radar(id="gs", query='"gaussian splatting"'), radar(id="ti", query='ti:"gaussian splatting"'))
    assert sorted(m.paper_id for m in results["gs"]) == ["arxiv:2503.14698", "arxiv:2503.14736"]
    assert [m.paper_id for m in results["ti"]] == ["arxiv:2503.14736"]
    assert results["gs"][0].paper_id == "arxiv:2503.14736"  # the title hit ranks first
    assert 'title: "gaussian splatting"' in results["gs"][0].reasons


def test_boolean_logic_agrees_with_the_per_paper_matcher(day_papers):
    """Random queries over real papers: the batched ranker and the regex matcher pick the same papers."""
    words = ["diffusion", "model", "segmentation", "language", "LLM*", "reason*", "3D", "video", "medical", "robot*"]
    # No hyphenated terms: the ranker treats "vision-language" and "vision language" alike,
    # the regex matcher does not (see test_hyphen_and_space_are_alike).
    phrases = ['"large language model"', '"point cloud"', '"image generation"', '"language model"']
    scoped = ["ti:video", "abs:benchmark", "cat:cs.CL", "cat:cs.RO", "ti:survey"]
    rng = random.Random(20250320)
    radars = []
    for number in range(40):
        terms = [rng.choice(words + phrases + scoped) for _ in range(rng.randint(2, 4))]
        operators = [rng.choice([" AND ", " OR ", " AND NOT ", " "]) for _ in terms[1:]]
        query = terms[0] + "".join(op + term for op, term in zip(operators, terms[1:], strict=True))
        if rng.random() < 0.3:
            query = f"({query}) OR {rng.choice(words)}"
        radars.append(radar(id=f"q{number}", query=query))
    results, _ = rank(day_papers, *radars)
    candidates = [
        Candidate(row["paper_id"], row["title"], row["abstract"], row["authors"], row["categories"], row["source_ids"])
        for row in day_papers.iter_rows(named=True)
    ]
    for config in radars:
        expected = {m.paper_id: m.reasons for m in match_radar(config, candidates)}
        assert {m.paper_id for m in results[config.id]} == set(expected), config.query
        # The same terms are named: a term counts only through a branch that matched.
        for match in results[config.id]:
            assert terms_named(match.reasons) == terms_named(expected[match.paper_id]), (config.query, match.paper_id)


def terms_named(reasons: list[str]) -> set[str]:
    """Return the 'field: "term"' part of each term reason, without its count."""
    fields = ("title:", "abstract:", "author:", "category:")
    return {reason.split(" (", 1)[0] for reason in reasons if reason.startswith(fields)}


def test_score_skips_unmatched_branches(day_papers):
    """A term of an AND the paper did not meet adds nothing: the score is that of the branch it met."""
    branched = radar(id="branched", query='(diffusion AND protein*) OR "flow matching"')
    alone = radar(id="alone", query='"flow matching"')
    results, _ = rank(day_papers, branched, alone)
    without_protein = {m.paper_id: m.lexical for m in results["alone"]}
    compared = 0
    for match in results["branched"]:
        if match.paper_id in without_protein and 'abstract: "diffusion"' not in match.reasons:
            compared += 1
            assert match.lexical == without_protein[match.paper_id], match.paper_id
    # 2503.14944 and 2503.14975 of that day contain "diffusion" and "flow matching", not "protein".
    assert compared >= 2


def test_reasons_skip_unmatched_branches():
    """In (diffusion AND protein*) OR "flow matching", a paper without proteins is not listed for diffusion."""
    papers = papers_frame([{"paper_id": "p", "title": "Flow matching for images", "abstract": "Diffusion and flow matching."}])
    results, _ = rank(papers, radar(query='(diffusion AND protein*) OR "flow matching"'))
    assert results["r"][0].reasons == ['abstract: "flow matching"', 'title: "flow matching"']


def test_hyphen_and_space_are_alike():
    papers = papers_frame(
        [
            {"paper_id": "hyphen", "title": "Vision-language models", "abstract": "x"},
            {"paper_id": "space", "title": "Vision language models", "abstract": "x"},
            {"paper_id": "joined", "title": "Visionlanguage models", "abstract": "x"},
        ]
    )
    results, _ = rank(papers, radar(query='"vision-language model"'))
    assert sorted(m.paper_id for m in results["r"]) == ["hyphen", "space"]


def test_filters_threshold_and_cap():
    papers = papers_frame(
        [
            {"paper_id": "p1", "title": "Diffusion models for proteins", "abstract": "We study diffusion.", "categories": ["q-bio.BM"]},
            {"paper_id": "p2", "title": "A survey", "abstract": "Diffusion appears once here.", "authors": ["Li, Wei"]},
            {"paper_id": "p3", "title": "Diffusion diffusion", "abstract": "diffusion", "source_ids": ["nature"], "authors": ["Weiwei Li"]},
        ]
    )
    results, modes = rank(
        papers,
        radar(id="all"),
        radar(id="cat", categories=["q-bio.BM"]),
        radar(id="src", sources=["nature"]),
        radar(id="au", authors=["Wei Li"]),
        radar(id="initial", authors=["W. Li"]),
        radar(id="cap", max_papers=1),
        radar(id="min", min_score=0.5),
    )
    assert [m.paper_id for m in results["cat"]] == ["p1"]
    assert [m.paper_id for m in results["src"]] == ["p3"]
    assert [m.paper_id for m in results["au"]] == ["p2"]  # not Weiwei Li
    assert sorted(m.paper_id for m in results["initial"]) == ["p2", "p3"]
    # The reasons name the author the filter kept, and the filter's form when it differs.
    assert 'followed author: "Li, Wei" (filter "Wei Li")' in results["au"][0].reasons
    initial = {m.paper_id: m.reasons for m in results["initial"]}
    assert 'followed author: "Weiwei Li" (filter "W. Li")' in initial["p3"]
    assert not any(reason.startswith("followed author") for reason in results["all"][0].reasons)
    assert len(results["cap"]) == 1
    assert [m.rank for m in results["all"]] == [1, 2, 3]
    assert results["all"][-1].paper_id == "p2"  # one abstract hit ranks below title hits
    assert all(m.score >= 0.5 for m in results["min"])
    assert len(results["min"]) < 3
    assert modes["all"] == "lexical"


def test_semantic_side_ranks_near_seeds_and_explains():
    papers = papers_frame(
        [
            {"paper_id": "near", "title": "Protein design", "abstract": "A generative model for proteins."},
            {"paper_id": "far", "title": "Protein folding survey", "abstract": "Proteins, reviewed."},
            {"paper_id": "neg", "title": "Protein markets", "abstract": "Protein prices."},
            {"paper_id": "none", "title": "Weather", "abstract": "Rain."},
        ]
    )
    embeddings = np.array([[1, 0, 0], [0.6, 0.8, 0], [0.6, 0, 0.8], [0, 0, 1]], dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    profile = SemanticProfile(
        positives=np.array([[1, 0, 0]], dtype=np.float32),
        positive_labels=["arxiv:2503.00001"],
        negatives=np.array([[0, 0, 1]], dtype=np.float32),
        negative_labels=["arxiv:2503.00002"],
        titles={"arxiv:2503.00001": "A seed about protein generation"},
    )
    config = radar(query="protein*", min_similarity=0.95)
    results, modes = rank(papers, config, embeddings=embeddings, profiles={"r": profile})
    order = [m.paper_id for m in results["r"]]
    assert order[0] == "near"
    assert order.index("far") < order.index("neg")
    assert "none" not in order  # no query term and not similar enough
    assert modes["r"] == "lexical+semantic"
    near = results["r"][0]
    assert near.semantic == pytest.approx(1.0, abs=1e-4)
    assert 'nearest seed: arxiv:2503.00001 "A seed about protein generation" (similarity 1.00)' in near.reasons
    negative = next(m for m in results["r"] if m.paper_id == "neg")
    assert any(reason.startswith("closer to negative example arxiv:2503.00002") for reason in negative.reasons)


def test_seed_paper_named_as_seed():
    papers = papers_frame(
        [
            {"paper_id": "arxiv:2503.00001", "title": "Protein generation", "abstract": "A seed."},
            {"paper_id": "other", "title": "Protein design", "abstract": "Proteins."},
        ]
    )
    embeddings = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)
    profile = SemanticProfile(
        positives=np.array([[1, 0]], dtype=np.float32),
        positive_labels=["arxiv:2503.00001"],
        negatives=np.zeros((0, 2), np.float32),
        negative_labels=[],
        titles={"arxiv:2503.00001": "Protein generation"},
    )
    results, _ = rank(papers, radar(query="protein*"), embeddings=embeddings, profiles={"r": profile})
    reasons = {match.paper_id: match.reasons for match in results["r"]}
    assert reasons["arxiv:2503.00001"] == ['title: "protein*"', "one of this radar's seed papers"]
    assert reasons["other"] == [
        'abstract: "protein*"',
        'title: "protein*"',
        'nearest seed: arxiv:2503.00001 "Protein generation" (similarity 0.60)',
    ]
    assert localize_reason("zh-CN", "one of this radar's seed papers") == "本雷达的种子论文之一"
    assert localize_reason("en", "one of this radar's seed papers") == "one of this radar's seed papers"


def test_combined_score_weights():
    """0.7 x bm25 / (bm25 + 8) + 0.3 x similarity; BM25 counts only where the query matched."""
    lexical_raw = np.array([24.0, 8.0, 24.0, 8.0])
    semantic = np.array([0.4, 0.8, 0.9, -0.2])
    matched = np.array([True, True, False, True])

    scores = combine_scores(lexical_raw, semantic, matched)

    assert scores[0] == pytest.approx(0.7 * 0.75 + 0.3 * 0.4)  # strong query match, mid similarity
    assert scores[1] == pytest.approx(0.7 * 0.5 + 0.3 * 0.8)  # weaker match, close to a seed
    assert scores[0] > scores[1]
    assert scores[2] == pytest.approx(0.3 * 0.9)  # no query match: similarity alone
    assert scores[3] == pytest.approx(0.7 * 0.5)  # a negative similarity counts as 0
    assert combine_scores(lexical_raw, None, matched) == pytest.approx([0.75, 0.5, 0.75, 0.5])


def test_query_match_outranks_single_hit_near_seed():
    """A paper about the query's topic stays above one that mentions it once but copies a seed."""
    filler = [{"paper_id": f"f{i}", "title": f"Weather report {i}", "abstract": "Rain and wind."} for i in range(8)]
    papers = papers_frame(
        [
            {"paper_id": "topic", "title": "Robot grasping with a robot hand", "abstract": "A robot learns to grasp."},
            {"paper_id": "mention", "title": "Depth completion", "abstract": "Useful for a robot."},
            *filler,
        ]
    )
    embeddings = np.zeros((10, 2), dtype=np.float32)
    embeddings[:, 1] = 1.0
    embeddings[0] = [0.6, 0.8]  # similarity 0.6 to the seed
    embeddings[1] = [1.0, 0.0]  # the seed's own direction: similarity 1.0
    profile = SemanticProfile(
        positives=np.array([[1.0, 0.0]], dtype=np.float32),
        positive_labels=["arxiv:2503.00001"],
        negatives=np.zeros((0, 2), np.float32),
        negative_labels=[],
    )

    results, _ = rank(papers, radar(query="robot*"), embeddings=embeddings, profiles={"r": profile})

    assert [m.paper_id for m in results["r"]] == ["topic", "mention"]


def test_semantic_reasons_have_chinese_wording():
    """Every reason the semantic side writes has a zh-CN wording, so zh-CN pages show no English text."""
    papers = papers_frame(
        [
            {"paper_id": "hit", "title": "Protein design", "abstract": "Proteins."},
            {"paper_id": "neg", "title": "Protein markets", "abstract": "Protein prices."},
            {"paper_id": "miss", "title": "Weather", "abstract": "Rain."},
        ]
    )
    embeddings = np.array([[1, 0, 0], [0.6, 0, 0.8], [0.6, 0.8, 0]], dtype=np.float32)
    profile = SemanticProfile(
        positives=np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32),
        positive_labels=["arxiv:2503.00001", "description"],
        negatives=np.array([[0, 0, 1]], dtype=np.float32),
        negative_labels=["arxiv:2503.00002"],
        titles={"arxiv:2503.00001": "A seed about protein generation"},
    )
    config = radar(language="zh-CN", query="protein*", min_similarity=0.7)
    results, _ = rank(papers, config, embeddings=embeddings, profiles={"r": profile})
    reasons = [reason for match in results["r"] for reason in match.reasons]
    reasons = [reason for reason in reasons if not reason.startswith(("title:", "abstract:"))]

    kinds = ("nearest seed", "closer to negative", "no query term", "close to the radar description")
    for kind in kinds:
        assert any(reason.startswith(kind) for reason in reasons), kind
    for reason in reasons:
        worded = localize_reason("zh-CN", reason)
        assert "相似度" in worded or worded == "未命中检索式，因相似度入选", worded
        assert "similarity" not in worded, worded


def test_semantic_match_without_query_hit():
    """A zh-CN radar whose Chinese query hits nothing still finds an English paper through the seeds."""
    papers = papers_frame([{"paper_id": "en", "title": "Denoising diffusion for images", "abstract": "We sample images."}])
    profile = SemanticProfile(
        positives=np.array([[1.0, 0.0]], dtype=np.float32), positive_labels=["description"], negatives=np.zeros((0, 2), np.float32), negative_labels=[]
    )
    config = radar(language="zh-CN", query="扩散模型", description="扩散模型与图像生成", min_similarity=0.6)
    results, _ = rank(papers, config, embeddings=np.array([[0.8, 0.6]], dtype=np.float32), profiles={"r": profile})
    assert [m.paper_id for m in results["r"]] == ["en"]
    assert results["r"][0].reasons == ["no query term; kept for its similarity", "close to the radar description (similarity 0.80)"]


def test_chinese_glossary_matches_english_paper(day_papers):
    config = radar(language="zh-CN", query="高斯泼溅", glossary={"高斯泼溅": ["gaussian splatting"]})
    results, _ = rank(day_papers, config)
    assert sorted(m.paper_id for m in results["r"]) == ["arxiv:2503.14698", "arxiv:2503.14736"]
    assert 'title: "高斯泼溅 (gaussian splatting)"' in results["r"][0].reasons


def test_rank_is_stable_across_runs(day_papers):
    first, _ = rank(day_papers, radar(query="model*"))
    second, _ = rank(day_papers.reverse(), radar(query="model*"))
    assert [(m.paper_id, m.score) for m in first["r"]] == [(m.paper_id, m.score) for m in second["r"]]


@pytest.mark.parametrize(
    ("identifier", "paper_id"),
    [
        ("2503.12001", "arxiv:2503.12001"),
        ("2503.12001v2", "arxiv:2503.12001"),
        ("arXiv:2503.12001", "arxiv:2503.12001"),
        ("hep-th/9901001", "arxiv:hep-th/9901001"),
        ("10.1038/S41586-025-08600-1", "doi:10.1038/s41586-025-08600-1"),
        ("https://doi.org/10.1126/science.adq1234", "doi:10.1126/science.adq1234"),
        ("not an id", None),
    ],
)
def test_paper_id_for(identifier, paper_id):
    assert paper_id_for(identifier) == paper_id


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("seeds: [2503.12340]", 'put arXiv ids in quotes, e.g. "2503.12340"'),
        ('seeds: ["2503.1"]', "is neither an arXiv id"),
        ("glossary: {扩散模型: []}", "glossary entry '扩散模型' lists no terms"),
        ("min_score: 2", "min_score"),
    ],
)
def test_radar_semantic_fields_validated(tmp_path, extra, message):
    path = tmp_path / "radars.yaml"
    path.write_text(f"radars:\n  - {{id: r, name: R, language: en, query: x}}\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace("query: x}", "query: x, " + extra + "}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_radars(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


# Words whose plural does not occur that day: the ranker also counts plurals, DuckDB does not.
@pytest.mark.parametrize("word", ["reasoning", "diffusion", "attention"])
def test_bm25_agrees_with_duckdb_fts(day_papers, word):
    """DuckDB's full-text search extension is the reference BM25 (same k1 and b, its log is base 10)."""
    import importlib.resources
    import math

    import duckdb

    extension = next(importlib.resources.files("duckdb_extension_fts").joinpath("extensions").rglob("fts.duckdb_extension"))
    with duckdb.connect() as conn:
        conn.execute(f"INSTALL '{extension}'")
        conn.execute("LOAD fts")
        conn.register("frame", day_papers.select("paper_id", "abstract").to_arrow())
        conn.execute("CREATE TABLE docs AS SELECT * FROM frame")
        # Tokens as the ranker folds them: lower case, every run of other characters a boundary.
        conn.execute("PRAGMA create_fts_index('docs', 'paper_id', 'abstract', stemmer='none', stopwords='none', ignore='[^a-z0-9]+')")
        reference = dict(
            conn.execute(
                "SELECT paper_id, score FROM (SELECT paper_id, fts_main_docs.match_bm25(paper_id, ?, fields := 'abstract') AS score FROM docs) WHERE score IS NOT NULL",
                [word],
            ).fetchall()
        )
    results, _ = rank(day_papers, radar(query=f"abs:{word}"))
    ours = {m.paper_id: m.lexical for m in results["r"]}
    assert len(reference) > 5
    assert set(ours) == set(reference)
    # Document lengths differ slightly where an abstract has non-ASCII letters (DuckDB splits there).
    for paper_id in reference:
        assert ours[paper_id] == pytest.approx(reference[paper_id] * math.log(10), rel=5e-3), paper_id
