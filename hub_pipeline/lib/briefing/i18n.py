"""Interface text of the briefing writers and renderers, per radar language.

Each key maps to a ``str.format`` template. zh-CN text is written in Chinese and keeps
English technical terms (category codes, model names) as they are.
"""

from __future__ import annotations

from datetime import date

from hub_pipeline.lib.models import Language

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "headline_matched": "{date}有 {count} 篇论文与雷达「{radar}」匹配，来自 {fields}。",
        "headline_updates": "其中 {count} 篇是已报道论文的新版本。",
        "headline_none": "{date}没有论文与雷达「{radar}」匹配。",
        "more_fields": "及其他 {count} 个领域",
        "more_titles": "，另有 {count} 篇",
        "field_count": "{field}（{count} 篇）",
        "list_separator": "、",
        "title_separator": "；",
        "theme_text": "{count} 篇论文涉及「{term}」：{titles}。",
        "cross_domain": "跨领域：这些论文分属 {fields}。",
        "update_marker": "【新版本 v{version}】",
        "update_marker_no_version": "【新版本】",
        "reasons": "匹配原因：{reasons}。",
        "reason_title": "标题",
        "reason_abstract": "摘要",
        "reason_author": "作者",
        "reason_category": "分类",
        "reason_no_query_term": "未命中检索式，因相似度入选",
        "reason_followed_author": "关注的作者：\"{author}\"",
        "reason_followed_author_form": "关注的作者：\"{author}\"（过滤条件 \"{name}\"）",
        "reason_near_description": "与雷达描述相近（相似度 {similarity}）",
        "reason_nearest_seed": "最相近的种子论文：{seed}（相似度 {similarity}）",
        "reason_seed_paper": "本雷达的种子论文之一",
        "reason_near_negative": "更接近反例 {paper}（相似度 {similarity}）",
        "reason_on_topic": "模型核查：切题",
        "reason_on_topic_why": "模型核查：切题（{why}）",
        "reason_off_topic": "模型核查：不切题",
        "reason_off_topic_why": "模型核查：不切题（{why}）",
        "md_title": "研究雷达简报：{radar_id}（{day}）",
        "md_themes": "主题",
        "md_reading_list": "阅读清单",
        "md_also_cited": "主题中引用的其他论文",
        "md_update": "新版本",
        "md_published_in": "已正式发表于 {journal}",
        "md_published": "已正式发表",
        "md_by_llm": "本简报由语言模型 {model} 撰写（提示词版本 {prompt_version}），引用均已与当日论文集核对。",
        "md_by_offline": "本简报由离线摘录程序撰写（{prompt_version}），未使用语言模型。",
        "md_removed": "已删除 {count} 处不在当日论文集中的引用：{ids}。",
        "md_error": "原因：语言模型调用失败（{error}）。",
        "md_tokens": "消耗 token：输入 {tokens_in}，输出 {tokens_out}。",
        "md_cost": "估计费用：{cost} 美元。",
        "md_cached": "模型回复取自缓存，本次未消耗 token。",
        "md_batches": "论文分 {count} 批摘要后合并。",
        "md_cross_domain": "跨领域联系",
        "md_updates": "更新",
        "md_failure": "失败类型：{failure}。",
        "cross_link": "「{term}」把{parts}联系在一起。",
        "cross_part": "《{title}》（{field}）",
        "cross_joiner": "与",
        "update_note": "v{version}：本雷达此前报道过的论文发布了新版本。",
        "update_note_no_version": "本雷达此前报道过的论文发布了新版本。",
        "published_note": "已正式发表于 {journal}",
        "full_stop": "。",
        "published_note_no_journal": "预印本已正式发表。",
    },
    "en": {
        "headline_matched": "{count} papers matched the radar \u201c{radar}\u201d on {date}, from {fields}.",
        "headline_matched_one": "1 paper matched the radar \u201c{radar}\u201d on {date}, from {fields}.",
        "headline_updates": "{count} of them are new versions of papers reported before.",
        "headline_updates_one": "1 of them is a new version of a paper reported before.",
        "headline_none": "No paper matched the radar \u201c{radar}\u201d on {date}.",
        "more_fields": " and {count} more fields",
        "more_fields_one": " and 1 more field",
        "more_titles": " and {count} more",
        "field_count": "{field} ({count})",
        "list_separator": ", ",
        "title_separator": "; ",
        "theme_text": "{count} papers deal with \u201c{term}\u201d: {titles}.",
        "cross_domain": "Cross-domain: these papers come from {fields}.",
        "update_marker": "[Updated, v{version}] ",
        "update_marker_no_version": "[Updated] ",
        "reasons": "Matched on {reasons}.",
        "reason_title": "title",
        "reason_abstract": "abstract",
        "reason_author": "author",
        "reason_category": "category",
        "reason_no_query_term": "no query term; kept for its similarity",
        "reason_followed_author": "followed author: \"{author}\"",
        "reason_followed_author_form": "followed author: \"{author}\" (filter \"{name}\")",
        "reason_near_description": "close to the radar description (similarity {similarity})",
        "reason_nearest_seed": "nearest seed: {seed} (similarity {similarity})",
        "reason_seed_paper": "one of this radar's seed papers",
        "reason_near_negative": "closer to negative example {paper} (similarity {similarity})",
        "reason_on_topic": "model check: on topic",
        "reason_on_topic_why": "model check: on topic ({why})",
        "reason_off_topic": "model check: off topic",
        "reason_off_topic_why": "model check: off topic ({why})",
        "md_title": "Research radar briefing: {radar_id}, {day}",
        "md_themes": "Themes",
        "md_reading_list": "Reading list",
        "md_also_cited": "Other papers cited in the themes",
        "md_update": "new version",
        "md_published_in": "now published in {journal}",
        "md_published": "now published",
        "md_by_llm": "Written by the language model {model} (prompt version {prompt_version}); every citation was checked against the day's papers.",
        "md_by_offline": "Written offline by the extractive writer ({prompt_version}), without a language model.",
        "md_removed": "Removed {count} citations of papers that were not in the day's set: {ids}.",
        "md_removed_one": "Removed 1 citation of a paper that was not in the day's set: {ids}.",
        "md_error": "Reason: the language model call failed ({error}).",
        "md_tokens": "Tokens: {tokens_in} in, {tokens_out} out.",
        "md_cost": "Estimated cost: {cost} USD.",
        "md_cached": "The model's reply came from the response cache; this run spent no tokens on it.",
        "md_batches": "The papers were summarized in {count} batches, then combined.",
        "md_cross_domain": "Across fields",
        "md_updates": "Updates",
        "md_failure": "Failure kind: {failure}.",
        "cross_link": "\u201c{term}\u201d links {parts}.",
        "cross_part": "{title} ({field})",
        "cross_joiner": " with ",
        "update_note": "Version {version} of a paper this radar reported before.",
        "update_note_no_version": "A new version of a paper this radar reported before.",
        "published_note": "Now published in {journal}",
        "full_stop": ".",
        "published_note_no_journal": "The preprint is now published.",
    },
}


def text(language: Language, key: str, **values: object) -> str:
    """Format the interface text ``key`` in ``language``, using ``key_one`` when count is 1 and it exists."""
    table = STRINGS[language]
    if values.get("count") == 1 and f"{key}_one" in table:
        key = f"{key}_one"
    return table[key].format(**values)


def format_date(language: Language, day: date) -> str:
    """Format a briefing's day for its sentences: "2025年3月20日" in zh-CN, "2025-03-20" in en.

    Briefings name their day instead of saying "today", because a past day can be rebuilt or
    backfilled long after it was announced.
    """
    if language == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()
