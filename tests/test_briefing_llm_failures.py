"""LLM writer failures, language check, batching, cache and budget, against the stub on 127.0.0.1."""

from __future__ import annotations

import json

from hub_pipeline.lib.briefing import make_client, to_markdown
from hub_pipeline.lib.briefing.cache import MemoryCache, cache_key
from hub_pipeline.lib.briefing.llm import LLMSettings, LLMWriter
from hub_pipeline.lib.briefing.prompt import PAPERS_END, PAPERS_START, PARTIALS_START, split_batches
from tests.openai_stub_server import ScriptedResponse, chat_completion, error_body, serve_openai_stub
from tests.test_briefing_llm import API_KEY, MODEL, completion, good_reply
from tests.test_briefing_offline import DAY, DIFFUSION_IDS, LLM_IDS, radar, real_papers

ENGLISH_REPLY = {
    "headline": "Nine papers today: five on diffusion models and four on large language models and their uses.",
    "themes": [{"title": "Diffusion", "text": "Diffusion models for point clouds, denoising and video restoration.", "paper_ids": DIFFUSION_IDS}],
    "reading_list": [{"paper_id": "arxiv:2503.14558", "why": "One diffusion model handles four point cloud tasks at once."}],
}
CHINESE_REPLY_FOR_EN = {
    "headline": "今日九篇论文，其中五篇关于扩散模型，四篇关于大语言模型及其应用。",
    "themes": [{"title": "扩散模型", "text": "扩散模型用于点云、去噪与视频修复。", "paper_ids": DIFFUSION_IDS}],
    "reading_list": [{"paper_id": "arxiv:2503.14558", "why": "一个扩散模型同时完成四项点云任务。"}],
}


def settings(**changes) -> LLMSettings:
    values = {"model": MODEL, "max_retries": 0, "retry_backoff_s": 0.01, "timeout_s": 10}
    values.update(changes)
    return LLMSettings(**values)


def write(responses, *, language="zh-CN", papers=None, cache=None, **changes):
    """Write one briefing with an LLMWriter against a fresh stub; return it and the requests."""
    papers = real_papers() if papers is None else papers
    with serve_openai_stub(responses) as stub:
        client = make_client(stub.base_url + "/v1", API_KEY, timeout_s=10, max_retries=0)
        writer = LLMWriter(client, settings(**changes), cache)
        briefing = writer.write(radar(language), DAY, papers)
    return briefing, stub.requests


def rate_limited(code: str | None = None, retry_after_ms: str = "10") -> ScriptedResponse:
    body = error_body("Rate limit reached for requests", "requests")
    if code:
        body = {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                          "type": "insufficient_quota", "param": None, "code": code}}
    return ScriptedResponse(status=429, body=body, headers={"retry-after-ms": retry_after_ms})


def refusal_reply(refusal: str) -> ScriptedResponse:
    body = chat_completion("", model=MODEL)
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": refusal}
    return ScriptedResponse(body=body)


def test_429_then_success():
    briefing, requests = write([rate_limited(), completion(good_reply())], max_retries=2)
    assert len(requests) == 2
    assert briefing.generator == "llm"
    assert briefing.failure is None
    assert briefing.requests == 2


def test_429_retries_exhausted():
    briefing, requests = write([rate_limited(), rate_limited(), rate_limited()], max_retries=2)
    assert len(requests) == 3
    assert briefing.generator == "offline"
    assert briefing.failure == "rate_limited"
    assert briefing.error == "LLM call rate limited (HTTP 429) after 3 attempts: Rate limit reached for requests"


def test_429_backoff_without_header():
    # No Retry-After: the exponential backoff with jitter applies, starting at retry_backoff_s.
    no_header = ScriptedResponse(status=429, body=error_body("Rate limit reached", "requests"))
    briefing, requests = write([no_header, completion(good_reply())], max_retries=1, retry_backoff_s=0.01)
    assert len(requests) == 2
    assert briefing.generator == "llm"


def test_quota_not_retried():
    briefing, requests = write([rate_limited("insufficient_quota"), completion(good_reply())], max_retries=3)
    assert len(requests) == 1
    assert briefing.failure == "quota_exhausted"
    assert briefing.error.startswith("LLM quota exhausted (HTTP 429 insufficient_quota): You exceeded your current quota")


def test_quota_stops_later_briefings():
    with serve_openai_stub([rate_limited("insufficient_quota"), completion(good_reply())]) as stub:
        client = make_client(stub.base_url + "/v1", API_KEY, timeout_s=10, max_retries=0)
        writer = LLMWriter(client, settings(max_retries=3))
        first = writer.write(radar("zh-CN"), DAY, real_papers())
        second = writer.write(radar("en"), DAY, real_papers())
    assert len(stub.requests) == 1
    assert first.failure == "quota_exhausted"
    assert second.failure == "quota_exhausted"
    assert second.error.startswith("not requested: LLM quota exhausted")
    assert second.requests == 0


def test_refusal_labelled():
    briefing, _ = write([refusal_reply("I can't help with that request.")])
    assert briefing.generator == "offline"
    assert briefing.failure == "refused"
    assert briefing.error == "the model refused: I can't help with that request."


def test_content_filter_labelled():
    body = chat_completion("", finish_reason="content_filter", model=MODEL)
    briefing, _ = write([ScriptedResponse(body=body)])
    assert briefing.failure == "refused"
    assert "content_filter" in briefing.error


def test_refusal_affects_one_briefing():
    with serve_openai_stub([refusal_reply("No."), completion(good_reply())]) as stub:
        client = make_client(stub.base_url + "/v1", API_KEY, timeout_s=10, max_retries=0)
        writer = LLMWriter(client, settings())
        refused = writer.write(radar("zh-CN"), DAY, real_papers())
        papers = real_papers()
        papers[0].abstract += " "  # another input set, so another cache key
        written = writer.write(radar("zh-CN"), DAY, papers)
    assert refused.failure == "refused"
    assert written.generator == "llm"
    assert written.failure is None


def test_timeout_labelled():
    slow = ScriptedResponse(body=chat_completion("{}"), delay_s=5)
    briefing, _ = write([slow], timeout_s=0.3)
    assert briefing.failure == "timeout"
    assert briefing.error == "LLM call timed out after 0.3 s"


def test_invalid_json_labelled():
    briefing, _ = write([completion("not json")])
    assert briefing.failure == "invalid_reply"


def test_unknown_ids_only_labelled():
    reply = {"headline": "今日没有可引用的论文，全部引用都不在当日论文集中。", "themes": [],
             "reading_list": [{"paper_id": "arxiv:0000.00000", "why": "不存在的论文。"}]}
    briefing, _ = write([completion(reply)])
    assert briefing.failure == "no_valid_citations"


def test_wrong_language_retried_once():
    briefing, requests = write([completion(ENGLISH_REPLY), completion(good_reply())])
    assert len(requests) == 2
    assert briefing.generator == "llm"
    assert briefing.headline.startswith("今日九篇论文")
    retry = requests[1].json()["messages"]
    assert retry[-1]["role"] == "user"
    assert "Simplified Chinese" in retry[-1]["content"]
    assert retry[-2]["role"] == "assistant"


def test_wrong_language_twice_falls_back():
    briefing, requests = write([completion(ENGLISH_REPLY), completion(ENGLISH_REPLY), completion(good_reply())])
    assert len(requests) == 2
    assert briefing.failure == "wrong_language"
    assert briefing.error.startswith("LLM reply was not in zh-CN after one retry")
    assert briefing.tokens_in == 2 * 2817


def test_en_radar_chinese_reply_retried():
    briefing, requests = write([completion(CHINESE_REPLY_FOR_EN), completion(ENGLISH_REPLY)], language="en")
    assert len(requests) == 2
    assert briefing.generator == "llm"
    assert briefing.headline.startswith("Nine papers today")


def test_batches_small_budget():
    papers = real_papers()
    batches = split_batches(radar("zh-CN"), DAY, sorted(papers, key=lambda p: p.rank), 1400)
    assert len(batches) >= 3
    replies = [completion(good_reply(), prompt_tokens=900, completion_tokens=300) for _ in range(len(batches) + 1)]
    briefing, requests = write(replies, max_input_tokens=1400)
    assert len(requests) == len(batches) + 1
    assert briefing.generator == "llm"
    assert briefing.batches == len(batches)
    assert briefing.tokens_in == 900 * len(requests)
    assert briefing.tokens_out == 300 * len(requests)


def test_batches_cover_every_paper():
    papers = real_papers()
    replies = [completion(good_reply()) for _ in range(10)]
    _, requests = write(replies, max_input_tokens=1400)
    seen = []
    for request in requests[:-1]:
        user = request.json()["messages"][1]["content"]
        block = user.split(PAPERS_START + "\n", 1)[1].split("\n" + PAPERS_END, 1)[0]
        seen += [json.loads(line)["id"] for line in block.splitlines()]
    assert sorted(seen) == sorted(paper.paper_id for paper in papers)


def test_combine_request_has_partials():
    replies = [completion(good_reply()) for _ in range(10)]
    _, requests = write(replies, max_input_tokens=1400)
    combine = requests[-1].json()["messages"]
    assert PARTIALS_START in combine[1]["content"]
    assert "Combine them into one briefing" in combine[0]["content"]
    for paper_id in DIFFUSION_IDS + LLM_IDS:
        assert f'"id": "{paper_id}"' in combine[1]["content"]


def test_cache_second_run_no_request():
    cache = MemoryCache()
    first, first_requests = write([completion(good_reply())], cache=cache)
    second, second_requests = write([], cache=cache)
    assert len(first_requests) == 1
    assert second_requests == []
    assert second.generator == "llm"
    assert second.cached is True
    assert (second.tokens_in, second.tokens_out, second.cost_usd) == (0, 0, 0.0)
    assert second.headline == first.headline
    assert second.cache_key == first.cache_key


def test_cache_miss_on_new_version():
    papers = real_papers()
    key = cache_key(MODEL, "llm-3", radar("zh-CN"), papers)
    papers[0].version = 2
    assert cache_key(MODEL, "llm-3", radar("zh-CN"), papers) != key


def test_cache_key_parts():
    papers = real_papers()
    key = cache_key(MODEL, "llm-3", radar("zh-CN"), papers)
    assert cache_key("other-model", "llm-3", radar("zh-CN"), papers) != key
    assert cache_key(MODEL, "llm-2", radar("zh-CN"), papers) != key
    assert cache_key(MODEL, "llm-3", radar("en"), papers) != key
    assert cache_key(MODEL, "llm-3", radar("zh-CN"), list(reversed(papers))) == key


def test_failed_reply_not_cached():
    cache = MemoryCache()
    write([completion("not json")], cache=cache)
    assert cache.entries == {}


def test_budget_exhausted_no_request():
    briefing, requests = write([completion(good_reply())], run_token_budget=1000)
    assert requests == []
    assert briefing.failure == "budget_exhausted"
    assert "run token budget of 1000 would be exceeded" in briefing.error


def test_cost_estimate():
    briefing, _ = write([completion(good_reply(), prompt_tokens=2000, completion_tokens=500)],
                        price_in_per_1k=0.5, price_out_per_1k=2.0)
    assert briefing.cost_usd == 2.0


def test_removed_citations_said_in_markdown():
    reply = good_reply(extra_theme_ids=["arxiv:2503.99999"])
    briefing, _ = write([completion(reply)])
    markdown = to_markdown(briefing, real_papers())
    assert "已删除 1 处不在当日论文集中的引用：arxiv:2503.99999。" in markdown


def test_failure_kind_in_markdown():
    briefing, _ = write([refusal_reply("No.")], language="en")
    markdown = to_markdown(briefing, real_papers())
    assert "Failure kind: refused." in markdown
    assert "Reason: the language model call failed (the model refused: No.)." in markdown


def test_update_of_first_match_dropped():
    papers = real_papers()
    papers[5].published_journal = "Nature Machine Intelligence"
    reply = good_reply()
    reply["updates"] = [{"paper_id": "arxiv:2503.14917", "note": "已正式发表于 Nature Machine Intelligence。"}]
    briefing, _ = write([completion(reply)], papers=papers)
    assert briefing.updates == []
    assert "## 更新" not in to_markdown(briefing, papers)


def test_cross_domain_and_updates_kept():
    papers = real_papers()
    papers[5].is_update, papers[5].version = True, 3
    reply = good_reply()
    reply["cross_domain"] = [
        {"title": "Distillation", "text": "蒸馏（distillation）同时出现在 cs.CV 的生成模型与 cs.CL 的置信度校准中。",
         "paper_ids": ["arxiv:2503.15457", "arxiv:2503.14749"]},
        {"title": "Only one", "text": "只有一篇论文的联系。", "paper_ids": ["arxiv:2503.14558", "arxiv:2503.88888"]},
    ]
    reply["updates"] = [
        {"paper_id": "arxiv:2503.14917", "note": "v3 更新了实验。"},
        {"paper_id": "arxiv:2503.14558", "note": "不是新版本。"},
    ]
    briefing, _ = write([completion(reply)], papers=papers)
    assert [link.title for link in briefing.cross_domain] == ["Distillation"]
    assert [(item.paper_id, item.why) for item in briefing.updates] == [("arxiv:2503.14917", "v3 更新了实验。")]
    assert briefing.removed_ids == ["arxiv:2503.88888"]
    markdown = to_markdown(briefing, papers)
    assert "## 跨领域联系" in markdown
    assert "## 更新" in markdown


def test_glossary_in_prompt():
    info = radar("zh-CN")
    info.glossary = ["Gaussian Splatting", "NeRF"]
    with serve_openai_stub([completion(good_reply())]) as stub:
        client = make_client(stub.base_url + "/v1", API_KEY, timeout_s=10, max_retries=0)
        LLMWriter(client, settings()).write(info, DAY, real_papers())
    user = stub.requests[0].json()["messages"][1]["content"]
    assert "Glossary, keep these terms exactly as written: Gaussian Splatting; NeRF" in user
    assert cache_key(MODEL, "llm-3", info, real_papers()) != cache_key(MODEL, "llm-3", radar("zh-CN"), real_papers())
