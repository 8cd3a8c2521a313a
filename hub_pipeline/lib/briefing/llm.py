"""LLM briefing writer: chat completions per radar and day, checked against the day's papers.

Works with any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, Moonshot, Ollama, vLLM).
Papers that do not fit ``max_input_tokens`` are summarized in batches, and the batch replies
are combined by one more request. Validated replies are cached by model, prompt version,
language and inputs. Every failure falls back to the offline writer with ``Briefing.failure``
(a kind) and ``Briefing.error`` (the reason) set, so a failed call is recorded per briefing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import openai
import tenacity
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub_pipeline.lib.briefing.budget import cjk_share, cost_usd, estimate_message_tokens, is_wrong_language
from hub_pipeline.lib.briefing.cache import ReplyCache, cache_key
from hub_pipeline.lib.briefing.grounding import check_citations
from hub_pipeline.lib.briefing.offline import write_offline
from hub_pipeline.lib.briefing.prompt import (  # noqa: F401  (the delimiters are re-exported)
    PAPERS_END,
    PAPERS_START,
    PROMPT_VERSION,
    build_combine_messages,
    build_messages,
    split_batches,
)
from hub_pipeline.lib.briefing.text import shorten
from hub_pipeline.lib.models import Briefing, BriefingPaper, BriefingTheme, RadarInfo, ReadingItem

logger = logging.getLogger(__name__)

ReplyModel = TypeVar("ReplyModel", bound=BaseModel)

# Words for a day relative to now. The prompt forbids them, because a briefing is often read or
# rebuilt by a backfill, long after its day.
_RELATIVE_DAY = re.compile(r"\b(?:today|yesterday|tonight)\b|今天|今日|昨天|昨日", re.IGNORECASE)

GENERATOR = "llm"
ERROR_CHARS = 300
MAX_RETRY_AFTER_S = 60.0

_LANGUAGE_RETRY = {
    "zh-CN": "Your reply was not written in Simplified Chinese. Reply again with the same JSON shape, every text field in Simplified Chinese (keep English technical terms).",
    "en": "Your reply was not written in English. Reply again with the same JSON shape, every text field in English.",
}


@dataclass(slots=True)
class LLMSettings:
    """Model, request limits, retry policy, budget and prices of the LLM writer."""

    model: str
    max_tokens: int = 1500  # completion tokens per request
    timeout_s: float = 60.0  # per request
    max_retries: int = 2  # retries after a 429 (except quota exhaustion), 5xx or connection error
    retry_backoff_s: float = 1.0  # first backoff; doubles per retry, plus up to as much jitter
    max_input_tokens: int = 12000  # estimated prompt tokens per request; more papers are batched
    run_token_budget: int = 0  # tokens all briefings of one run may spend; 0 means no limit
    price_in_per_1k: float = 0.0  # USD per 1,000 prompt tokens, for the cost estimate
    price_out_per_1k: float = 0.0  # USD per 1,000 completion tokens


class _Group(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str
    text: str
    paper_ids: list[str] = Field(default_factory=list)


class _ReadingItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    paper_id: str
    why: str = ""


class _Update(BaseModel):
    model_config = ConfigDict(extra="ignore")

    paper_id: str
    note: str = ""


class _Reply(BaseModel):
    """The JSON object the model must return."""

    model_config = ConfigDict(extra="ignore")

    headline: str = Field(min_length=1)
    themes: list[_Group] = Field(default_factory=list)
    cross_domain: list[_Group] = Field(default_factory=list)
    reading_list: list[_ReadingItem] = Field(default_factory=list)
    updates: list[_Update] = Field(default_factory=list)


class LLMFailure(Exception):
    """A request or reply that cannot give a briefing. ``kind`` labels it in files, tables and metadata."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class Usage:
    """Tokens and requests spent on one briefing or one model check."""

    tokens_in: int = 0
    tokens_out: int = 0
    requests: int = 0


def make_client(base_url: str | None, api_key: str, timeout_s: float, max_retries: int) -> openai.OpenAI:
    """Build an OpenAI-compatible client. A ``base_url`` of None selects OPENAI_BASE_URL or api.openai.com."""
    if not api_key:
        raise ValueError("LLM API key is missing: set one, or use the offline briefing writer")
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)


class LLMWriter:
    """Writer of one run's briefings, with the run's token count, the cache and a quota stop.

    After a quota error (HTTP 429 with code insufficient_quota) the run makes no further request.
    The remaining briefings fall back to the offline writer with that reason.
    """

    def __init__(self, client: openai.OpenAI, settings: LLMSettings, cache: ReplyCache | None = None) -> None:
        # Retries are made here, so a quota error is not retried like a rate limit.
        self.client = client.with_options(max_retries=0)
        self.api_key = getattr(client, "api_key", "") or ""
        self.settings = settings
        self.cache = cache
        self.tokens_spent = 0
        self.quota_error: str | None = None

    def write(self, radar: RadarInfo, day: date, papers: list[BriefingPaper], cache: ReplyCache | None = None) -> Briefing:
        """Write one radar's briefing for one day, grounded in ``papers``.

        An LLMFailure (any failed request or unusable reply) becomes an offline briefing with
        ``failure`` and ``error`` set instead of an exception.
        """
        if not papers:
            return write_offline(radar, day, papers)
        cache = cache or self.cache
        settings = self.settings
        # The radar's rank, not its score: a model check moves papers judged off topic to the end.
        ranked = sorted(papers, key=lambda paper: (paper.rank, -paper.score, paper.paper_id))
        key = cache_key(settings.model, PROMPT_VERSION, radar, ranked)

        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            logger.info("LLM briefing for radar %s on %s: reply taken from the cache, 0 tokens", radar.radar_id, day)
            reply = _Reply.model_validate(cached["reply"])
            return self._briefing(radar, day, papers, reply, Usage(), key, cached=True, batches=cached.get("batches", 0))

        usage = Usage()
        batches = split_batches(radar, day, ranked, settings.max_input_tokens)
        requests = len(batches) + (1 if len(batches) > 1 else 0)
        estimate = sum(estimate_message_tokens(build_messages(radar, day, batch)) for batch in batches)
        estimate += requests * settings.max_tokens
        try:
            self.ensure_can_spend(estimate)
            if len(batches) == 1:
                reply = self._ask(radar, build_messages(radar, day, batches[0]), usage)
            else:
                partials = []
                for number, batch in enumerate(batches, start=1):
                    partial = self._ask(radar, build_messages(radar, day, batch, (number, len(batches))), usage)
                    partials.append(partial.model_dump())
                reply = self._ask(radar, build_combine_messages(radar, day, ranked, partials), usage)
        except LLMFailure as failure:
            return self._fall_back(radar, day, papers, failure, usage, key)

        batch_count = len(batches) if len(batches) > 1 else 0
        briefing = self._briefing(radar, day, papers, reply, usage, key, cached=False, batches=batch_count)
        if briefing.generator == GENERATOR and cache is not None:
            cache.put(
                key,
                {
                    "reply": reply.model_dump(),
                    "model": settings.model,
                    "prompt_version": PROMPT_VERSION,
                    "language": radar.language,
                    "batches": batch_count,
                    "tokens_in": usage.tokens_in,
                    "tokens_out": usage.tokens_out,
                },
            )
        return briefing

    def _briefing(
        self,
        radar: RadarInfo,
        day: date,
        papers: list[BriefingPaper],
        reply: _Reply,
        usage: Usage,
        key: str,
        *,
        cached: bool,
        batches: int,
    ) -> Briefing:
        cleaned, cited_ids, removed_ids = check_citations(reply.model_dump(), [paper.paper_id for paper in papers])
        if not cited_ids:
            reason = f"LLM reply cited no paper of the day's set ({len(removed_ids)} citations removed)"
            fallback = self._fall_back(radar, day, papers, LLMFailure("no_valid_citations", reason), usage, key)
            fallback.removed_ids = removed_ids
            return fallback

        # An update note claims the radar reported the work before, so keep it only where that is true.
        is_update = {paper.paper_id: paper.is_update for paper in papers}
        updates = [item for item in cleaned["updates"] if is_update.get(item["paper_id"])]

        relative = sorted({word.lower() for word in _RELATIVE_DAY.findall(_reply_text(reply))})
        if relative:
            logger.warning(
                "LLM briefing for radar %s on %s contains %s although the prompt requests the date; the text is kept as written",
                radar.radar_id, day, ", ".join(repr(word) for word in relative),
            )
        logger.info(
            "LLM briefing for radar %s on %s: %d papers, %d cited, %d citations removed, %d requests, tokens %d in / %d out",
            radar.radar_id, day, len(papers), len(cited_ids), len(removed_ids), usage.requests, usage.tokens_in, usage.tokens_out,
        )
        return Briefing(
            radar_id=radar.radar_id,
            radar_name=radar.name,
            day=day,
            language=radar.language,
            generator=GENERATOR,
            model=self.settings.model,
            prompt_version=PROMPT_VERSION,
            headline=cleaned["headline"],
            themes=[BriefingTheme(**theme) for theme in cleaned["themes"]],
            reading_list=[ReadingItem(**item) for item in cleaned["reading_list"]],
            input_ids=[paper.paper_id for paper in papers],
            cited_ids=cited_ids,
            removed_ids=removed_ids,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cross_domain=[BriefingTheme(**link) for link in cleaned["cross_domain"]],
            updates=[ReadingItem(paper_id=item["paper_id"], why=item["note"]) for item in updates],
            cache_key=key,
            cached=cached,
            requests=usage.requests,
            batches=batches,
            cost_usd=self.cost(usage),
        )

    def _ask(self, radar: RadarInfo, messages: list[dict[str, str]], usage: Usage) -> _Reply:
        """Request one reply and validate it; a reply in the wrong language is requested once more."""
        content = self.complete(messages, usage)
        reply = _parse_content(content)
        if not is_wrong_language(_reply_text(reply), radar.language):
            return reply

        logger.warning(
            "LLM reply for radar %s is not in %s (CJK share %.2f); requesting it once more",
            radar.radar_id, radar.language, cjk_share(_reply_text(reply)),
        )
        retry = messages + [
            {"role": "assistant", "content": content},
            {"role": "user", "content": _LANGUAGE_RETRY[radar.language]},
        ]
        reply = _parse_content(self.complete(retry, usage))
        if is_wrong_language(_reply_text(reply), radar.language):
            share = cjk_share(_reply_text(reply))
            raise LLMFailure(
                "wrong_language", f"LLM reply was not in {radar.language} after one retry (CJK share {share:.2f})"
            )
        return reply

    def ensure_can_spend(self, estimate: int) -> None:
        """Raise LLMFailure when a quota error stopped this run, or ``estimate`` tokens exceed its budget."""
        if self.quota_error:
            raise LLMFailure("quota_exhausted", f"not requested: {self.quota_error}")
        budget = self.settings.run_token_budget
        if budget and self.tokens_spent + estimate > budget:
            raise LLMFailure(
                "budget_exhausted",
                f"run token budget of {budget} would be exceeded: {self.tokens_spent} spent, "
                f"about {estimate} needed; raise run_token_budget",
            )

    def complete(self, messages: list[dict[str, str]], usage: Usage) -> str:
        """Make one chat completion request with retries and return the reply text.

        The tokens it cost are added to ``usage`` and to the run's ``tokens_spent``. A quota
        error stops every later request of this writer.
        """
        settings = self.settings
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(settings.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_is_retryable),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    usage.requests += 1
                    response = self.client.chat.completions.create(
                        model=settings.model,
                        messages=messages,
                        response_format={"type": "json_object"},
                        max_tokens=settings.max_tokens,
                        timeout=settings.timeout_s,
                    )
        except openai.APITimeoutError:
            raise LLMFailure("timeout", f"LLM call timed out after {settings.timeout_s:g} s") from None
        except openai.RateLimitError as exc:
            if _is_quota_error(exc):
                self.quota_error = f"LLM quota exhausted (HTTP 429 insufficient_quota): {self._message(exc)}"
                raise LLMFailure("quota_exhausted", self.quota_error) from None
            raise LLMFailure(
                "rate_limited", f"LLM call rate limited (HTTP 429) after {settings.max_retries + 1} attempts: {self._message(exc)}"
            ) from None
        except openai.APIStatusError as exc:
            raise LLMFailure("http_error", f"LLM call failed: HTTP {exc.status_code} {self._message(exc)}") from None
        except openai.APIConnectionError:
            raise LLMFailure("connection_error", f"LLM call failed: could not connect to {self.client.base_url}") from None
        except openai.OpenAIError as exc:
            raise LLMFailure("http_error", f"LLM call failed: {type(exc).__name__} {self._message(exc)}") from None

        # A misconfigured base_url can return HTML with status 200, which the client returns as str.
        reported = getattr(response, "usage", None)
        if reported is not None:
            tokens_in = getattr(reported, "prompt_tokens", 0) or 0
            tokens_out = getattr(reported, "completion_tokens", 0) or 0
            usage.tokens_in += tokens_in
            usage.tokens_out += tokens_out
            self.tokens_spent += tokens_in + tokens_out
        return _reply_content(response, settings.max_tokens)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Return the server's Retry-After delay when it sent one, else an exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after_s(exc)
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        backoff = self.settings.retry_backoff_s
        return tenacity.wait_exponential_jitter(multiplier=backoff, max=MAX_RETRY_AFTER_S, jitter=backoff)(state)

    def _fall_back(
        self, radar: RadarInfo, day: date, papers: list[BriefingPaper], failure: LLMFailure, usage: Usage, key: str
    ) -> Briefing:
        reason = self.redact(failure.message)
        logger.warning(
            "LLM briefing for radar %s on %s failed (%s), offline writer used: %s", radar.radar_id, day, failure.kind, reason
        )
        briefing = write_offline(radar, day, papers)
        briefing.error = reason
        briefing.failure = failure.kind
        briefing.tokens_in = usage.tokens_in
        briefing.tokens_out = usage.tokens_out
        briefing.requests = usage.requests
        briefing.cache_key = key
        briefing.cost_usd = self.cost(usage)
        return briefing

    def cost(self, usage: Usage) -> float:
        return cost_usd(usage.tokens_in, usage.tokens_out, self.settings.price_in_per_1k, self.settings.price_out_per_1k)

    def _message(self, exc: openai.OpenAIError) -> str:
        return self.redact(_short_message(exc))

    def redact(self, reason: str) -> str:
        """Remove the API key from an error text, in case the server echoed it back."""
        if len(self.api_key) >= 4:
            reason = reason.replace(self.api_key, "***")
        return reason


def write_with_llm(
    client: openai.OpenAI,
    model: str,
    radar: RadarInfo,
    day: date,
    papers: list[BriefingPaper],
    *,
    max_tokens: int = 1500,
    timeout_s: float = 60,
    cache: ReplyCache | None = None,
) -> Briefing:
    """Write one briefing with default settings and the client's retry count; see ``LLMWriter``."""
    settings = LLMSettings(model=model, max_tokens=max_tokens, timeout_s=timeout_s, max_retries=client.max_retries)
    return LLMWriter(client, settings, cache).write(radar, day, papers)


def _reply_content(response: object, max_tokens: int) -> str:
    """Return the text of the first choice, or raise LLMFailure for a refusal or an unusable reply."""
    if isinstance(response, (str, bytes)):
        raise LLMFailure("invalid_reply", "LLM endpoint returned a body that is not a chat completion; check the base URL")
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise LLMFailure("invalid_reply", "LLM reply had no choices")
    message = getattr(choices[0], "message", None)
    finish_reason = getattr(choices[0], "finish_reason", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise LLMFailure("refused", f"the model refused: {shorten(str(refusal), ERROR_CHARS)}")
    if finish_reason == "content_filter":
        raise LLMFailure("refused", "the provider's content filter stopped the reply (finish_reason content_filter)")
    if finish_reason == "length":
        raise LLMFailure("invalid_reply", f"LLM reply was cut off at max_tokens={max_tokens}")
    content = (getattr(message, "content", None) or "").strip()
    if not content:
        raise LLMFailure("invalid_reply", "LLM reply was empty")
    return content


def _parse_content(content: str) -> _Reply:
    """Validate reply text as a briefing, or raise LLMFailure("invalid_reply")."""
    return parse_json_reply(content, _Reply, "LLM reply", "the briefing schema")


def parse_json_reply(content: str, schema: type[ReplyModel], label: str, schema_name: str) -> ReplyModel:
    """Validate JSON reply text against ``schema``, or raise LLMFailure("invalid_reply").

    ``label`` and ``schema_name`` word the error, e.g. "LLM reply did not match the briefing schema".
    """
    # Some OpenAI-compatible servers wrap JSON mode output in a Markdown code fence.
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", content, re.DOTALL)
    if fenced:
        content = fenced.group(1)
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LLMFailure("invalid_reply", f"{label} was not valid JSON ({exc.msg} at position {exc.pos})") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "reply"
        raise LLMFailure("invalid_reply", f"{label} did not match {schema_name}: {where}: {first['msg']}") from None


def _reply_text(reply: _Reply) -> str:
    """Join the prose fields of a reply; titles are left out because they often stay in English."""
    parts = [reply.headline]
    parts += [group.text for group in reply.themes + reply.cross_domain]
    parts += [item.why for item in reply.reading_list] + [item.note for item in reply.updates]
    return "\n".join(parts)


def _is_quota_error(exc: BaseException) -> bool:
    if not isinstance(exc, openai.RateLimitError):
        return False
    codes = {getattr(exc, "code", None), getattr(exc, "type", None)}
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            codes |= {inner.get("code"), inner.get("type")}
    return "insufficient_quota" in codes


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.RateLimitError):
        return not _is_quota_error(exc)
    if isinstance(exc, openai.APITimeoutError):
        return False
    return isinstance(exc, (openai.InternalServerError, openai.APIConnectionError))


def _retry_after_s(exc: BaseException | None) -> float | None:
    """Return the delay the server asked for in retry-after-ms or retry-after (seconds), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            continue
    return None


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    logger.warning("LLM request failed (%s), retry %d in %.1f s", type(exc).__name__, state.attempt_number, delay)


def _short_message(exc: openai.OpenAIError) -> str:
    """Return the server's error message, or the exception text, on one short line."""
    message = None
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    if not message:
        message = getattr(exc, "message", None) or str(exc)
    return shorten(str(message), ERROR_CHARS)
