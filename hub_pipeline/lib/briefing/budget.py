"""Token estimates, cost and the reply-language check, without a tokenizer.

The estimate counts one token per CJK character and one per four other characters, which is
close to what BPE tokenizers of current chat models produce for English prose and Chinese
text. It decides batch sizes and checks the run budget; stored token counts come from the
provider's reported usage.
"""

from __future__ import annotations

import math
import re

from hub_pipeline.lib.models import Language

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Overhead of the chat format per message (role markers), as OpenAI's cookbook counts it.
MESSAGE_OVERHEAD_TOKENS = 4

# A zh-CN reply keeps English terms, so it is wrong only when Chinese is a small share of it.
MIN_CJK_SHARE_ZH = 0.3
MAX_CJK_SHARE_EN = 0.2
# Fewer CJK characters plus Latin words than this are too little text to judge.
MIN_UNITS_TO_JUDGE = 8


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of ``text``: CJK characters count one each, other characters a quarter."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def estimate_message_tokens(messages: list[dict[str, str]]) -> int:
    """Estimate the prompt tokens of a chat request."""
    return sum(estimate_tokens(message["content"]) + MESSAGE_OVERHEAD_TOKENS for message in messages)


def cost_usd(tokens_in: int, tokens_out: int, price_in_per_1k: float, price_out_per_1k: float) -> float:
    """Return the cost of a call from its token counts and the prices per 1,000 tokens."""
    return round(tokens_in / 1000 * price_in_per_1k + tokens_out / 1000 * price_out_per_1k, 8)


def cjk_share(text: str) -> float:
    """Return CJK characters / (CJK characters + Latin words), or 0.0 for text with neither.

    Latin words, not letters, are counted, because one Chinese character carries about as
    much as one English word.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return cjk / (cjk + words) if cjk + words else 0.0


def is_wrong_language(text: str, language: Language) -> bool:
    """Tell whether reply text is clearly not in ``language`` (zh-CN or en)."""
    units = len(_CJK.findall(text)) + len(_LATIN_WORD.findall(text))
    if units < MIN_UNITS_TO_JUDGE:
        return False
    share = cjk_share(text)
    if language == "zh-CN":
        return share < MIN_CJK_SHARE_ZH
    return share > MAX_CJK_SHARE_EN
