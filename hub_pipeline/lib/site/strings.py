"""Interface text of the static site, one table per radar language (zh-CN and en).

Only fixed labels live here. Paper titles, abstracts, radar names and source notes come
from the data and are shown as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from hub_pipeline.lib.models import Language

INTERFACE_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "site_tagline": "每日研究雷达 · 前沿文献精选",
        "site_intro": "每个研究雷达每天从预印本平台与期刊中挑出相关论文,并附上一份简报。",
        "radars_heading": "研究雷达",
        "no_radars": "还没有生成任何页面。",
        "latest_day": "最新一期",
        "all_days": "全部日期",
        "days_heading": "往期",
        "query": "检索式",
        "briefing": "当日简报",
        "no_briefing": "当日没有简报。",
        "source_notes": "来源说明",
        "papers_heading": "论文列表",
        "paper_count": "{count} 篇论文",
        "paper_count_one": "1 篇论文",
        "no_papers": "本日没有与该雷达匹配的论文。",
        "authors": "作者",
        "more_authors": "等,共 {count} 位作者",
        "abstract": "摘要",
        "no_abstract": "来源未提供摘要。",
        "reasons": "匹配原因",
        "categories": "分类",
        "update_tag": "更新",
        "published_in": "已正式发表于 {journal}",
        "published": "已正式发表",
        "label_separator": ":",
        "list_separator": "；",
        "home": "首页",
        "generated_at": "页面生成于 {time}",
        "footer_rights": "标题与摘要来自各文献来源,版权归原作者所有。",
        "skip_to_papers": "跳到论文列表",
    },
    "en": {
        "site_tagline": "Daily research radar · curated new literature",
        "site_intro": (
            "Each research radar picks the relevant new papers from preprint servers and "
            "journals every day and adds a briefing."
        ),
        "radars_heading": "Research radars",
        "no_radars": "No pages have been generated yet.",
        "latest_day": "Latest",
        "all_days": "All days",
        "days_heading": "Past days",
        "query": "Query",
        "briefing": "The day's briefing",
        "no_briefing": "There is no briefing for this day.",
        "source_notes": "Source notes",
        "papers_heading": "Papers",
        "paper_count": "{count} papers",
        "paper_count_one": "1 paper",
        "no_papers": "No papers matched this radar on this day.",
        "authors": "Authors",
        "more_authors": "et al., {count} authors in total",
        "abstract": "Abstract",
        "no_abstract": "The source gave no abstract.",
        "reasons": "Why it matched",
        "categories": "Categories",
        "update_tag": "Update",
        "published_in": "Now published in {journal}",
        "published": "Now published",
        "label_separator": ": ",
        "list_separator": "; ",
        "home": "Home",
        "generated_at": "Page generated {time}",
        "footer_rights": "Titles and abstracts come from their sources; copyright stays with the authors.",
        "skip_to_papers": "Skip to the papers",
    },
}

_WEEKDAYS: dict[str, tuple[str, ...]] = {
    "zh-CN": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def interface_text(language: Language | str) -> Mapping[str, str]:
    """Return the label table for a radar language, or raise ValueError for any other."""
    try:
        return INTERFACE_TEXT[language]
    except KeyError:
        supported = ", ".join(sorted(INTERFACE_TEXT))
        raise ValueError(
            f"invalid radar language {language!r}: the site has interface text for {supported} only"
        ) from None


def format_day(day: date, language: Language | str) -> str:
    """Format an announcement day with its weekday, e.g. "2025-03-20 星期四"."""
    weekday = _WEEKDAYS[language][day.weekday()]
    if language == "zh-CN":
        return f"{day.isoformat()} {weekday}"
    return f"{weekday}, {day.isoformat()}"


def format_paper_count(count: int, language: Language | str) -> str:
    """Format a number of papers, e.g. "3 篇论文", "1 paper"."""
    text = interface_text(language)
    if count == 1:
        return text["paper_count_one"]
    return text["paper_count"].format(count=count)


# --- the day's state per source ----------------------------------------------------------------

# One sentence per fetch_log outcome, worded for the reader. {source} is the source's label.
# {reason} is the technical reason fetch_log stores, kept in English and shown only for errors
# and unknown outcomes.
SOURCE_STATE_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "no_announcement:weekend": "{source}:本日 arXiv 无发布(arXiv 周末不发布新论文)。",
        "no_announcement:holiday": "{source}:本日 arXiv 无发布(arXiv 假日)。",
        "no_announcement:empty_feed": "{source}:本日 arXiv 无发布(订阅源中没有条目)。",
        "no_announcement:other": "{source}:该来源本日没有发布。",
        "unchanged": "{source}:订阅源自上次抓取以来没有变化,本日没有新条目。",
        "stale": "{source}:订阅源仍显示 {feed_day} 的内容,未计入本日。",
        "stale_unknown": "{source}:订阅源仍显示较早一天的内容,未计入本日。",
        "skipped": "{source}:RSS 订阅源只提供当前条目,无法补取过去的日期,本日未抓取。",
        "source_error": "{source}:抓取失败,本日缺少该来源的论文。原因:{reason}",
        "parse_error": "{source}:内容无法解析,本日缺少该来源的论文。原因:{reason}",
        "loaded_backfill": "{source}:已载入 {items} 条,由回填从该来源的存档取得。",
        "loaded_empty": "{source}:该来源本日没有条目。",
        "loaded": "{source}:已载入 {items} 条。",
        "other": "{source}:{outcome}。{reason}",
    },
    "en": {
        "no_announcement:weekend": "{source}: no arXiv mailing on this day (arXiv does not announce on weekends).",
        "no_announcement:holiday": "{source}: no arXiv mailing on this day (an arXiv holiday).",
        "no_announcement:empty_feed": "{source}: no arXiv mailing on this day (the feed has no items).",
        "no_announcement:other": "{source}: the source made no announcement on this day.",
        "unchanged": "{source}: the feed has not changed since the last fetch, so there are no new items for this day.",
        "stale": "{source}: the feed still shows the mailing of {feed_day}, so it is not counted for this day.",
        "stale_unknown": "{source}: the feed still shows an earlier mailing, so it is not counted for this day.",
        "skipped": "{source}: an RSS feed shows only its current items and cannot answer for a past day; not fetched.",
        "source_error": "{source}: fetching failed, so this day lacks this source's papers. Reason: {reason}",
        "parse_error": "{source}: the payload could not be parsed, so this day lacks this source's papers. Reason: {reason}",
        "loaded_backfill": "{source}: {items} items loaded by a backfill from the source's archive.",
        "loaded_empty": "{source}: the source listed no items on this day.",
        "loaded": "{source}: loaded {items} items.",
        "other": "{source}: {outcome}. {reason}",
    },
}


def describe_source_state(
    language: Language | str,
    *,
    source: str,
    outcome: str,
    items: int = 0,
    reason: str | None = None,
    feed_day: date | None = None,
    cause: str | None = None,
    backfilled: bool = False,
) -> str:
    """Word one source's state for the day in the reader's language.

    ``cause`` refines no_announcement: "weekend", "holiday" or "empty_feed" for arXiv.
    ``backfilled`` marks a day loaded from a harvest of the source's archive. A load's reason
    is never shown, because it is a diagnostic for the operator that stays in fetch_log.
    """
    interface_text(language)  # rejects an unknown language with the usual message
    table = SOURCE_STATE_TEXT[language]
    values = {"source": source, "items": items, "reason": reason or "", "outcome": outcome, "feed_day": feed_day}
    if outcome == "no_announcement":
        key = f"no_announcement:{cause}" if cause in ("weekend", "holiday", "empty_feed") else "no_announcement:other"
    elif outcome == "stale":
        key = "stale" if feed_day else "stale_unknown"
    elif outcome == "loaded" and backfilled:
        key = "loaded_backfill"
    elif outcome == "loaded":
        key = "loaded" if items else "loaded_empty"
    elif outcome in table:
        key = outcome
    else:
        key = "other"
    return table[key].format(**values).strip()
