"""Tokens per briefing for 2025-03-20 with the shipped radars, and a second run of the same day.

    .venv/bin/python bench/briefing_tokens.py [--fixtures ../shared/fixtures]

Runs the whole daily graph in-process over the six stored arXiv feeds of 2025-03-20
(config/sources-2025-03-20-offline.yaml) and config/radars.yaml, with the LLM writer pointed at
an OpenAI-compatible server on 127.0.0.1. That server writes a valid briefing from the paper
ids it receives. It reports usage as the tokenizer-free estimate of
hub_pipeline.lib.briefing.budget (one token per CJK character, one per four other
characters), so the token counts are estimates, not a real tokenizer's. The day is then run a
second time on the same warehouse, and the requests and tokens of that run are counted.
The per-paper-TLDR baseline is 2,000 tokens per matched paper.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub_pipeline.lib.briefing.budget import estimate_message_tokens, estimate_tokens  # noqa: E402

DAY = "2025-03-20"
TLDR_TOKENS_PER_PAPER = 2000
_ID = re.compile(r'"id": "([^"]+)"')


class EstimatingStub:
    """Chat completions that cite the request's papers, with usage from the token estimate."""

    def __init__(self) -> None:
        self.requests = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, messages: list[dict]) -> dict:
        user = messages[1]["content"]
        ids = list(dict.fromkeys(_ID.findall(user)))
        chinese = "Language: zh-CN" in user
        why = "该论文与本雷达主题直接相关，方法值得关注。" if chinese else "It bears directly on this radar's topic."
        content = {
            "headline": ("今日论文集中在几个方向，下面按主题与阅读顺序整理。" if chinese else "Today's papers fall into a few directions, summarized below."),
            "themes": [{"title": "Theme", "text": ("这些论文共享同一类方法。" if chinese else "These papers share one kind of method."), "paper_ids": ids[:4]}],
            "cross_domain": [],
            "reading_list": [{"paper_id": paper_id, "why": why} for paper_id in ids[:10]],
            "updates": [],
        }
        text = json.dumps(content, ensure_ascii=False)
        prompt_tokens = estimate_message_tokens(messages)
        completion_tokens = estimate_tokens(text)
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": "bench-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        }

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests += 1
                payload = json.dumps(stub.reply(body["messages"])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        return Handler


def run_day(data_dir: Path, base_url: str, max_input_tokens: int):
    from dagster import DagsterInstance, materialize
    from dagster_duckdb import DuckDBResource

    from hub_pipeline.definitions import ALL_ASSETS
    from hub_pipeline.defs.resources import HubSettings, LLMResource

    resources = {
        "duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")),
        "hub": HubSettings(
            data_dir=str(data_dir),
            sources_file=str(REPO / "config" / "sources-2025-03-20-offline.yaml"),
            radars_file=str(REPO / "config" / "radars.yaml"),
        ),
        "llm": LLMResource(model="bench-model", base_url=base_url, max_retries=0, max_input_tokens=max_input_tokens),
    }
    result = materialize(ALL_ASSETS, partition_key=DAY, resources=resources, instance=DagsterInstance.ephemeral())
    if not result.success:
        sys.exit("the day run failed")


def briefing_rows(data_dir: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(
            "SELECT radar_id, language, len(input_ids), requests, batches, tokens_in, tokens_out, cost_usd, cached, generator "
            "FROM briefings ORDER BY radar_id"
        ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default=str(REPO.parent / "shared" / "fixtures"), help="the shared fixtures folder")
    parser.add_argument("--max-input-tokens", type=int, default=12000, help="prompt tokens per request before batching (default 12000)")
    args = parser.parse_args()
    os.environ["HUB_FIXTURES_DIR"] = args.fixtures
    os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"

    stub = EstimatingStub()
    stub.thread.start()
    with tempfile.TemporaryDirectory(prefix="hub-bench-briefing-") as folder:
        data_dir = Path(folder)
        run_day(data_dir, stub.base_url, args.max_input_tokens)
        first_requests, first = stub.requests, briefing_rows(data_dir)
        run_day(data_dir, stub.base_url, args.max_input_tokens)
        second_requests, second = stub.requests - first_requests, briefing_rows(data_dir)
    stub.server.shutdown()

    print(f"max_input_tokens={args.max_input_tokens}, max_tokens=1500 (LLMResource default)")
    print("| radar | language | papers | requests | batches | tokens in | tokens out | tokens total | in + 1,500 out per request | per-paper TLDR (2,000/paper) | ratio | cost USD |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals = [0, 0, 0, 0, 0, 0]
    for radar_id, language, papers, requests, batches, tokens_in, tokens_out, cost, _, generator in first:
        total = tokens_in + tokens_out
        tldr = papers * TLDR_TOKENS_PER_PAPER
        bound = tokens_in + 1500 * requests
        ratio = f"{total / tldr:.2f}" if tldr else "-"
        print(f"| {radar_id} | {language} | {papers} | {requests} | {batches} | {tokens_in:,} | {tokens_out:,} | {total:,} | {bound:,} | {tldr:,} | {ratio} | {cost:.4f} |")
        for index, value in enumerate((papers, requests, tokens_in, tokens_out, tldr, bound)):
            totals[index] += value
        if generator != "llm":
            print(f"  (radar {radar_id} was written by the {generator} writer)")
    papers, requests, tokens_in, tokens_out, tldr, bound = totals
    print(f"| all | | {papers} | {requests} | | {tokens_in:,} | {tokens_out:,} | {tokens_in + tokens_out:,} | {bound:,} | {tldr:,} | {(tokens_in + tokens_out) / tldr:.2f} | |")
    print()
    spent = sum(row[5] + row[6] for row in second)
    cached = sum(bool(row[8]) for row in second)
    with_papers = sum(row[2] > 0 for row in second)
    print(f"second run of {DAY}: {second_requests} requests, {spent} tokens, {cached} of the {with_papers} briefings with papers from the cache")


if __name__ == "__main__":
    main()
