"""The radar query language and the matcher, with real titles from the 2025-03-20 feeds."""

import logging

import pytest

from hub_pipeline.lib.config import ConfigError, RadarConfig, load_radars
from hub_pipeline.lib.matching import Candidate, author_key, author_name, match_radar
from hub_pipeline.lib.radar_query import QuerySyntaxError, evaluate, lowercase_operators, parse_query
from tests.conftest import REPO

# Real items of arxiv_rss_days/2025-03-20 (cs.CV and cs.CL), abstracts shortened by hand.
SUPERPC = Candidate(
    paper_id="arxiv:2503.14558",
    title="SuperPC: A Single Diffusion Model for Point Cloud Completion, Upsampling, Denoising, and Colorization",
    abstract="Point cloud (PC) processing tasks-such as completion, upsampling, denoising, and colorization-are crucial",
    authors=["Yi Du", "Zhipeng Zhao", "Shaoshu Su", "Sharath Golluri", "Haoze Zheng", "Runmao Yao", "Chen Wang"],
    categories=["cs.CV", "cs.RO"],
    source_ids=["arxiv-cs-cv", "arxiv-cs-ro"],
)
COMMAND_R = Candidate(
    paper_id="arxiv:2503.14603",
    title="Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM",
    abstract="Building high-quality large language models (LLMs) for enterprise Arabic applications remains challenging",
    authors=["Yazeed Alnumay", "Alexandre Barbet", "Anna Bialas"],
    categories=["cs.CL", "cs.LG"],
    source_ids=["arxiv-cs-cl", "arxiv-cs-lg"],
)


def texts(candidate: Candidate) -> dict[str, str]:
    return {
        "title": candidate.title.lower(),
        "abstract": candidate.abstract.lower(),
        "authors": "; ".join(candidate.authors).lower(),
        "categories": " ".join(candidate.categories).lower(),
    }


@pytest.mark.parametrize(
    ("query", "superpc", "command_r"),
    [
        ("diffusion", True, False),
        ('"diffusion model"', True, False),  # plural folding is not needed because the title has "Model"
        ('"point cloud"', True, False),
        ("diffus*", True, False),
        ("LLM*", False, True),  # hits "LLM" in the title and "LLMs" in the abstract
        ("diffusion OR arabic", True, True),
        ("diffusion AND arabic", False, False),
        ("diffusion arabic", False, False),  # adjacent terms mean AND
        ("NOT diffusion AND model*", False, True),
        ("(diffusion OR arabic) NOT cat:cs.RO", False, True),
        ("ti:denoising", True, False),
        ("abs:denoising", True, False),
        ("ti:enterprise", False, True),
        ("au:Alnumay", False, True),
        ("cat:cs.RO", True, False),
        ("model", True, True),  # "Model" in SuperPC's title, "models" in Command R's abstract
        ("colorizations", False, False),  # only the plural of the query word is folded, not the reverse
    ],
)
def test_query_matches_real_titles(query, superpc, command_r):
    tree = parse_query(query)
    assert evaluate(tree, texts(SUPERPC))[0] is superpc
    assert evaluate(tree, texts(COMMAND_R))[0] is command_r


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ("", 0, "empty"),
        ("diffusion AND", 13, "ends"),
        ("(diffusion OR protein", 0, "never closed"),
        ("diffusion)", 9, "unmatched"),
        ('"point cloud', 0, "unclosed quote"),
        ("OR diffusion", 0, "expected a term"),
        ("xx:diffusion", 0, "unknown field"),
        ("NOT diffusion", 0, "through NOT alone"),
        ("protein OR NOT diffusion", 11, "through NOT alone"),
        ("*", 0, "needs a word before '*'"),
        ("diffusion OR ti:*", 13, "needs a word before '*'"),
        ("diff**", 4, "'*' may only end a term"),
        ("protein OR di*ff", 13, "'*' may only end a term"),
        ("*diffusion", 0, "'*' may only end a term"),
        ('ti:"diffus* model"', 10, "'*' may only end a term"),
        ("ti:(diffusion OR flow)", 0, "'ti:' needs a term or a quoted phrase right after it"),
        ('protein OR abs:""', 11, "'abs:' needs a term"),
    ],
)
def test_invalid_query_names_position(query, position, reason):
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query(query)
    assert raised.value.position == position
    assert reason in raised.value.reason


def test_negation_beside_term_accepted():
    tree = parse_query("(NOT audio) AND diffusion")
    assert evaluate(tree, {"title": "diffusion for images", "abstract": ""})[0]
    assert not evaluate(tree, {"title": "diffusion for audio", "abstract": ""})[0]


def test_chinese_term_matches_substring():
    tree = parse_query("扩散模型")
    assert evaluate(tree, {"title": "基于扩散模型的蛋白质设计", "abstract": ""})[0]


def test_hits_carry_field_and_count():
    _, hits = evaluate(parse_query("denoising"), texts(SUPERPC))
    assert {(hit.field, hit.count) for hit in hits} == {("title", 1), ("abstract", 1)}


@pytest.mark.parametrize(
    ("name", "key"),
    [("Li, Wei", ("li", "w")), ("Wei Li", ("li", "w")), ("W. Li", ("li", "w")), ("Zoë Müller", ("muller", "z"))],
)
def test_author_key_name_forms(name, key):
    assert author_key(name) == key


@pytest.mark.parametrize(
    ("followed", "author", "same"),
    [
        ("Li, Wei", "Wei Li", True),
        ("W. Li", "Wei Li", True),
        ("W. Li", "Weiwei Li", True),  # an initial cannot tell these two apart
        ("Wei Li", "Weiwei Li", False),
        ("Li, Wei", "Wen Li", False),
        ("Zhu, Xiao Xiang", "Xiao-Xiang Zhu", True),
        ("Zhu, Xiao Xiang", "Xiaoxiang Zhu", True),
        ("Zhu, Xiao Xiang", "Xiaobin Zhu", False),
        ("X. X. Zhu", "Xiao Xiang Zhu", True),
        ("X. X. Zhu", "Xinghao Zhu", False),
        ("X. Zhu", "X. X. Zhu", True),
        ("J.-P. Serre", "Jean-Pierre Serre", True),
        ("Zoë Müller", "Zoe Muller", True),
        ("Hao Fei", "Fei, H.", True),
        ("Hao Fei", "Hao Feng", False),
    ],
)
def test_same_person_name_forms(followed, author, same):
    assert author_name(followed).same_person(author_name(author)) is same
    assert author_name(author).same_person(author_name(followed)) is same


def test_author_filter_full_given_names():
    papers = [
        Candidate("a", "Diffusion", "", ["Wei Li", "Anna Berg"], ["cs.LG"], ["arxiv"]),
        Candidate("b", "Diffusion", "", ["Weiwei Li"], ["cs.LG"], ["arxiv"]),
        Candidate("c", "Diffusion", "", ["W. Li"], ["cs.LG"], ["arxiv"]),
    ]
    full = RadarConfig(id="r", name="R", language="en", query="diffusion", authors=["Li, Wei"])
    initial = RadarConfig(id="r", name="R", language="en", query="diffusion", authors=["W. Li"])
    assert sorted(m.paper_id for m in match_radar(full, papers)) == ["a", "c"]
    assert sorted(m.paper_id for m in match_radar(initial, papers)) == ["a", "b", "c"]


def radar(**fields) -> RadarConfig:
    values = {"id": "r", "name": "R", "language": "en", "query": "diffusion OR LLM*"}
    values.update(fields)
    return RadarConfig(**values)


def test_match_ranks_title_hits_first():
    matches = match_radar(radar(query="denoising OR LLM*"), [COMMAND_R, SUPERPC])
    # SuperPC: denoising in title (3) and abstract (1) = 4; Command R: LLM in title (3) and LLMs in abstract (1) = 4;
    # the tie is broken by paper id.
    assert [m.paper_id for m in matches] == ["arxiv:2503.14558", "arxiv:2503.14603"]
    assert [m.rank for m in matches] == [1, 2]
    assert matches[0].score == pytest.approx(4.0)
    assert 'title: "denoising"' in matches[0].reasons


def test_match_filters():
    both = [SUPERPC, COMMAND_R]
    assert [m.paper_id for m in match_radar(radar(categories=["cs.CL"]), both)] == ["arxiv:2503.14603"]
    assert [m.paper_id for m in match_radar(radar(sources=["arxiv-cs-ro"]), both)] == ["arxiv:2503.14558"]
    assert [m.paper_id for m in match_radar(radar(authors=["Du, Yi"]), both)] == ["arxiv:2503.14558"]
    assert len(match_radar(radar(max_papers=1), both)) == 1


def test_invalid_radar_query_rejected_at_load(tmp_path):
    path = tmp_path / "radars.yaml"
    path.write_text("radars:\n  - {id: bad, name: Bad, language: en, query: '(diffusion OR'}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_radars(path)
    assert "radars.0 (id 'bad').query" in str(raised.value)
    assert "position 13" in str(raised.value)


def test_unknown_language_rejected(tmp_path):
    path = tmp_path / "radars.yaml"
    path.write_text("radars:\n  - {id: r, name: R, language: fr, query: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="language"):
        load_radars(path)


def test_shipped_radars_load():
    radars = load_radars(REPO / "config" / "radars.yaml").radars
    languages = [r.language for r in radars]
    assert len(radars) >= 4
    assert languages.count("zh-CN") >= 2


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("diffusion or flow", [("or", 10)]),
        ("diffusion and (protein OR molecule)", [("and", 10)]),
        ("(protein OR molecule) and diffusion", [("and", 22)]),
        ("diffusion not survey", [("not", 10)]),
        ("not survey", [("not", 0)]),
        ("a or b and c", [("or", 2), ("and", 7)]),
        ("diffusion Or flow", [("Or", 10)]),
        ("diffusion or NOT survey", [("or", 10)]),
        ("diffusion OR flow", []),
        ('diffusion "or" flow', []),
        ('"rock and roll"', []),
        ("ti:or diffusion", []),
        ("diffusion or", []),
        ("or diffusion", []),
        ("orbit AND android", []),
    ],
)
def test_lowercase_operators_found(query, found):
    assert [(token.text, token.position) for token in lowercase_operators(query)] == found


def test_lowercase_operator_warned_at_load(tmp_path, caplog):
    path = tmp_path / "radars.yaml"
    path.write_text(
        "radars:\n"
        "  - {id: flows, name: Flows, language: en, query: 'diffusion or flow matching'}\n"
        "  - {id: clean, name: Clean, language: en, query: 'diffusion OR \"or\"'}\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="hub_pipeline.lib.config"):
        radars = load_radars(path)

    # The query is still accepted, with "or" searched as a word.
    assert [radar.query for radar in radars.radars] == ["diffusion or flow matching", 'diffusion OR "or"']
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert caplog.records[0].levelname == "WARNING"
    assert "radar 'flows'" in message
    assert "lower-case 'or' at position 10" in message
    assert "did you mean OR?" in message
    assert str(path) in message


def test_lowercase_operator_warned_once(tmp_path, caplog):
    path = tmp_path / "radars.yaml"
    path.write_text(
        "radars:\n"
        "  - {id: flows, name: Flows, language: en, query: 'diffusion or flow or matching'}\n"
        "  - {id: other, name: Other, language: en, query: 'diffusion or flow or matching'}\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="hub_pipeline.lib.config"):
        load_radars(path)
        load_radars(path)  # a run loads the file again in every step that uses it

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 4  # two positions in each of two radars, each warned once
    assert sum("radar 'flows'" in message and "position 10 (counting from 0)" in message for message in messages) == 1
    assert sum("radar 'flows'" in message and "position 18 (counting from 0)" in message for message in messages) == 1
    assert sum("radar 'other'" in message for message in messages) == 2


def test_shipped_radars_load_without_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="hub_pipeline.lib.config"):
        load_radars(REPO / "config" / "radars.yaml")
    assert caplog.records == []


def test_folded_query_caret_under_query():
    # A YAML folded string (query: >) keeps its final newline.
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query("diffusion AND\n")
    assert str(raised.value).splitlines()[1:] == ["  diffusion AND", "  " + " " * 13 + "^"]


def test_caret_counts_wide_characters_twice():
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query("高斯泼溅 AND )")
    assert raised.value.position == 9
    # Four wide characters take eight columns, then " AND " five more.
    assert str(raised.value).splitlines()[1:] == ["  高斯泼溅 AND )", "  " + " " * 13 + "^"]


def test_literal_block_query_shown_on_one_line():
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query("diffusion AND\n(flow OR or")
    assert raised.value.position == 14
    assert str(raised.value).splitlines()[1:] == ["  diffusion AND (flow OR or", "  " + " " * 14 + "^"]


def test_glossary_entry_may_be_one_term(tmp_path):
    path = tmp_path / "radars.yaml"
    path.write_text(
        "radars:\n  - {id: r, name: R, language: zh-CN, query: 推理 OR 思维链, glossary: {推理: reasoning, 思维链: [CoT, chain of thought]}}\n",
        encoding="utf-8",
    )
    assert load_radars(path).radars[0].glossary == {"推理": ["reasoning"], "思维链": ["CoT", "chain of thought"]}
    path.write_text("radars:\n  - {id: r, name: R, language: zh-CN, query: 推理, glossary: {推理: ''}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a plain word or phrase"):
        load_radars(path)
