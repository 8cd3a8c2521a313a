"""Briefing writers: one briefing per radar and day, written by a chat model or offline.

``write_with_llm`` requests the briefing from an OpenAI-compatible model and checks its citations.
On any failure it returns ``write_offline``'s extractive briefing with the error recorded. ``render`` turns a
briefing into Markdown or a JSON-ready dict.
"""

from hub_pipeline.lib.briefing.grounding import check_citations
from hub_pipeline.lib.briefing.llm import PROMPT_VERSION, make_client, write_with_llm
from hub_pipeline.lib.briefing.offline import write_offline
from hub_pipeline.lib.briefing.render import to_json, to_markdown

__all__ = [
    "PROMPT_VERSION",
    "check_citations",
    "make_client",
    "to_json",
    "to_markdown",
    "write_offline",
    "write_with_llm",
]
