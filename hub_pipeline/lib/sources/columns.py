"""Normalization of arXiv history records a column at a time.

The OAI-PMH and query-API parsers read each record's fields, as the source wrote them, into a
polars frame of RAW_SCHEMA (the API parser collects lists, which ``raw_frame`` turns into one).
``arxiv_records`` derives the raw.entries columns for a whole batch in one polars query: text
with its whitespace folded, arXiv id and version, title key, link, published time and
announcement day. Values of an unusual shape (markup, character references, invisible
characters, non-ASCII names in the title key, ids with other text around them) go through the
per-value functions of ``normalize``. So both paths give the same values, which
tests/test_history_columns.py checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from itertools import accumulate, chain

import polars as pl
import pyarrow as pa

from hub_pipeline.lib.ingest import ENTRY_SCHEMA
from hub_pipeline.lib.normalize import _OLD_ARCHIVES, clean_text, normalize_doi, split_arxiv_id, title_key
from hub_pipeline.lib.sources.schedule import announcement_day, announcement_day_from_date, mailing_for_deadline

# The raw.entries columns a history page yields, before the source's label and payload digest
# are added, plus the announcement day of each record.
PAGE_SCHEMA: dict[str, pl.DataType] = {
    name: dtype for name, dtype in ENTRY_SCHEMA.items() if name not in ("source_label", "payload_sha256")
}

# Fields a parser passes to arxiv_records: one list per field, one item per record, values as
# the source wrote them.
RAW_SCHEMA: dict[str, pl.DataType] = {
    "guid": pl.Utf8,  # the OAI header identifier or the Atom id
    "identifier": pl.Utf8,  # where the arXiv id is read from: "0704.0002", "http://arxiv.org/abs/2106.01234v2"
    "raw_title": pl.Utf8,
    "raw_summary": pl.Utf8,
    "authors": pl.List(pl.Utf8),  # names, each on one line already
    "categories": pl.List(pl.Utf8),
    "primary": pl.Utf8,  # the primary category when the source states one
    "doi": pl.Utf8,  # several DOIs separated by spaces keep the first valid one
    "journal_ref": pl.Utf8,
    "link": pl.Utf8,  # None: https://arxiv.org/abs/<identifier>
    "version": pl.Int32,  # the highest version when the record lists them (arXivRaw)
    "v1_rfc822": pl.Utf8,  # submission time of v1 as arXivRaw writes it: "Wed, 23 Jan 2008 21:06:41 GMT"
    "v1_iso": pl.Utf8,  # or as the API writes it: "2008-01-23T21:06:41Z"
    "v1_date": pl.Utf8,  # or only its date, as the OAI arXiv format writes it: "2008-01-23"
}
_ARROW = {pl.Utf8: pa.string(), pl.Int32: pa.int32(), pl.List(pl.Utf8): pa.list_(pa.string())}

# Characters after which clean_text does more than fold whitespace: markup, character
# references, and invisible characters that are not whitespace (which it removes). The same
# class is valid in Python's re and in the regex engine polars uses.
NEEDS_FULL_CLEAN = r"[&<\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]"
_NEEDS_FULL_CLEAN = re.compile(NEEDS_FULL_CLEAN)
# Values that clean_text changes beyond whitespace, matched more exactly for the column-wise
# cleaning: a character reference as normalize._ENTITY reads it, a "<" that can open a tag,
# a comment or CDATA, or an invisible character. A "<" in "$n<k$" or "1 < 2" needs no more than folding.
_MARKUP_OR_INVISIBLE = (
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|<\s*/?\s*[A-Za-z]|<!"
    r"|[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]"
)
# Whitespace XML admits beyond the ASCII space, tab, line feed and carriage return.
_OTHER_WHITESPACE = r"[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_NOT_SIMPLE_KEY = r"[^\x00-\x7f]|[&<]"
_NAME_SUFFIXES = ["jr", "sr", "ii", "iii", "iv"]
_ABS = "https://arxiv.org/abs/"
# arXiv ids that are the whole value, bare or as an abs link; anything else is read by split_arxiv_id.
_NEW_ID = r"^(?:https?://arxiv\.org/abs/)?(\d{4})\.(\d{4,5})(?:v(\d+))?$"
_OLD_ID = r"^(?:https?://arxiv\.org/abs/)?([a-z-]+)(?:\.[A-Za-z-]{2,})?/(\d{7})(?:v(\d+))?$"


def empty_raw() -> dict[str, list]:
    """Lists to collect the records of one or more pages into (see RAW_SCHEMA)."""
    return {name: [] for name in RAW_SCHEMA}


def collect_frames(
    bodies: list[bytes],
    read_page: Callable[[bytes, str], tuple[object, pl.DataFrame]],
    source_id: str,
    page_sizes: list[int] | None = None,
) -> pl.DataFrame:
    """Read several pages, each into a RAW_SCHEMA frame, and join them; append each page's count to page_sizes."""
    frames = []
    for body in bodies:
        _, frame = read_page(body, source_id)
        frames.append(frame)
        if page_sizes is not None:
            page_sizes.append(frame.height)
    return pl.concat(frames, how="vertical") if frames else raw_frame(empty_raw())


def collect_lists(
    bodies: list[bytes],
    read_page: Callable[[bytes, str], tuple[object, dict[str, list]]],
    source_id: str,
    page_sizes: list[int] | None = None,
) -> dict[str, list]:
    """Read several pages, each into lists of RAW_SCHEMA, into one set of lists.

    For pages of a few dozen records, one frame per batch costs less than one per page.
    """
    raw = empty_raw()
    for body in bodies:
        _, lists = read_page(body, source_id)
        for name, values in lists.items():
            raw[name] += values
        if page_sizes is not None:
            page_sizes.append(len(lists["identifier"]))
    return raw


def arxiv_records(
    raw: pl.DataFrame | dict[str, list], *, source_id: str, source_kind: str, feed_category: str | None = None, first_index: int = 0
) -> pl.DataFrame:
    """Turn parsed arXiv records (a RAW_SCHEMA frame, or its lists) into rows of PAGE_SCHEMA, in the same order.

    One lazy query derives the columns, so polars' fixed cost per operation is paid once per
    batch. The few values of an unusual shape are then patched in Python.
    """
    source = raw if isinstance(raw, pl.DataFrame) else raw_frame(raw)
    count = source.height
    if count == 0:
        return pl.DataFrame(schema=PAGE_SCHEMA)
    times = pl.coalesce(
        pl.col("v1_rfc822").str.strip_chars().str.strptime(pl.Datetime("us"), "%a, %d %b %Y %H:%M:%S GMT", strict=False),
        pl.col("v1_iso").str.strip_chars().str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ", strict=False),
    ).dt.replace_time_zone("UTC")
    lazy = source.lazy().with_columns(
        *_folded_text("raw_title", "title"),
        *_folded_text("raw_summary", "abstract"),
        *_folded_text("journal_ref", "_journal_ref"),
        _first_doi_shape(),
        v1_time=times,
        v1_day=pl.col("v1_date").str.strip_chars().str.to_date(strict=False),
    )
    lazy = lazy.with_columns(first_author=pl.col("authors").list.first())
    lazy = _with_arxiv_ids(lazy, "identifier")
    lazy = _with_title_keys(lazy, "title", "first_author")
    frame = _with_deadlines(lazy, "v1_time").collect()
    frame = _patched_texts(frame)
    arxiv_id, split_version = _patched_arxiv_ids(frame)
    times_read = _unparsed_times(frame)
    frame = frame.with_columns(
        arxiv_id=arxiv_id,
        arxiv_version=pl.coalesce(pl.col("version"), split_version),
        title_key=_patched_title_keys(frame, "title", "first_author"),
        day=_days(frame, times_read),
        v1_time=times_read,
        doi=_patched_dois(frame),
    ).with_columns(published=pl.coalesce(pl.col("v1_time"), pl.col("v1_day").cast(pl.Datetime("us", "UTC"))))
    identifier = pl.col("identifier").str.strip_chars()
    guid = pl.col("guid").str.strip_chars()
    category = pl.lit(feed_category, dtype=pl.Utf8) if feed_category else pl.coalesce(pl.col("primary"), pl.col("categories").list.first())
    return frame.select(
        pl.col("day"),
        pl.lit(source_id, dtype=pl.Utf8).alias("source_id"),
        pl.lit(source_kind, dtype=pl.Utf8).alias("source_kind"),
        (pl.int_range(count, dtype=pl.Int32) + first_index).alias("item_index"),
        category.alias("feed_category"),
        pl.coalesce(guid.replace("", None), identifier.replace("", None)).alias("guid"),
        pl.coalesce(pl.col("link"), pl.when(identifier != "").then(_ABS + identifier)).alias("link"),
        pl.col("title"),
        pl.col("abstract"),
        pl.col("raw_title").fill_null(""),
        pl.col("raw_summary").fill_null(""),
        pl.col("authors").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        pl.col("categories").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        pl.lit("new", dtype=pl.Utf8).alias("announce_type"),
        pl.col("arxiv_id"),
        pl.col("arxiv_version").cast(pl.Int32),
        pl.col("doi"),
        pl.col("published"),
        pl.lit("arXiv", dtype=pl.Utf8).alias("journal"),
        pl.col("title_key"),
        pl.lit(None, dtype=pl.Utf8).alias("version_label"),
        pl.lit(None, dtype=pl.Utf8).alias("published_doi"),
        pl.col("_journal_ref").replace("", None).alias("journal_ref"),
        pl.lit([], dtype=pl.List(pl.Utf8)).alias("relation_dois"),
    )


def _folded_text(source: str, target: str) -> list[pl.Expr]:
    """Fold ASCII whitespace, and mark in ``_odd_<target>`` the values that may need more.

    Regular expressions that match any whitespace run are slow on abstracts, so line feeds, tabs
    and carriage returns are replaced literally and runs of spaces folded after, about ten
    times faster. XML admits no other ASCII whitespace. A marked value (non-ASCII, or with "&", "<" or
    DEL) may contain other whitespace, markup, character references or invisible characters,
    which _patched_texts cleans.
    """
    text = pl.col(source).fill_null("")
    folded = text
    for character in ("\n", "\t", "\r"):
        folded = folded.str.replace_all(character, " ", literal=True)
    folded = folded.str.replace_all("  +", " ").str.strip_chars(" ")
    odd = text.str.len_bytes() != text.str.len_chars()
    for character in ("&", "<", "\x7f"):
        odd = odd | text.str.contains(character, literal=True)
    return [folded.alias(target), odd.alias(f"_odd_{target}")]


def _patched_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Clean the values that _folded_text marked, with the result clean_text gives.

    Unicode whitespace is folded too, and a value with markup, character references or
    invisible characters goes through clean_text itself. polars' \\s matches Unicode whitespace,
    as str.split and re's \\s do for the characters XML admits.
    """
    patched = {}
    for source, target in (("raw_title", "title"), ("raw_summary", "abstract"), ("journal_ref", "_journal_ref")):
        rows = frame[f"_odd_{target}"].arg_true()
        if not rows.len():
            continue
        texts, cleaned = frame[source].gather(rows), frame[target].gather(rows)
        spaced = texts.str.contains(_OTHER_WHITESPACE).arg_true()
        if spaced.len():
            cleaned = cleaned.scatter(spaced, texts.gather(spaced).str.replace_all(r"\s+", " ").str.strip_chars(" "))
        full = texts.str.contains(_MARKUP_OR_INVISIBLE).arg_true()
        if full.len():
            cleaned = cleaned.scatter(full, [clean_text(text) for text in texts.gather(full)])
        patched[target] = frame[target].scatter(rows, cleaned)
    return frame.with_columns(**patched) if patched else frame


# One DOI, the whole value, in printable ASCII without "%" and ending in a letter or digit:
# normalize_doi would only lower-case it. Any other value goes through _first_doi.
_PLAIN_DOI = r"^10\.\d{4,9}/[!-$&-~]*[0-9a-z]$"


def _first_doi_shape() -> pl.Expr:
    text = pl.col("doi").str.strip_chars().str.to_lowercase()
    return pl.when(text.str.contains(_PLAIN_DOI)).then(text).alias("_doi")


def _patched_dois(frame: pl.DataFrame) -> pl.Series:
    dois = frame["_doi"].alias("doi")
    rows = (frame["_doi"].is_null() & frame["doi"].is_not_null()).arg_true()
    if rows.len():
        dois = dois.scatter(rows, [_first_doi(text) if text else None for text in frame["doi"].gather(rows)])
    return dois


def clean_xml_text(text: str | None) -> str:
    """clean_text for text an XML parser returned, with fast paths for plain text.

    XML 1.0 admits no control characters but tab, line feed and carriage return, so ASCII text
    without "&", "<" or DEL needs only its whitespace folded, which str.replace does faster
    than a regular expression. Other text without markup or invisible characters is folded
    with str.split; the rest goes through clean_text.
    """
    if not text:
        return ""
    if text.isascii():
        if "&" in text or "<" in text or "\x7f" in text:
            return clean_text(text)
        if "\t" in text or "\r" in text:
            text = text.replace("\t", " ").replace("\r", " ")
        text = text.replace("\n", " ").strip()
        while "  " in text:
            text = text.replace("  ", " ")
        return text
    if _NEEDS_FULL_CLEAN.search(text):
        return clean_text(text)
    return " ".join(text.split())


def split_arxiv_column(identifiers: pl.Series) -> tuple[pl.Series, pl.Series]:
    """split_arxiv_id over a column: (id without version, version), null where there is no id."""
    frame = _with_arxiv_ids(pl.LazyFrame({"identifier": identifiers}), "identifier").collect()
    return _patched_arxiv_ids(frame)


def _with_arxiv_ids(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """Add _id and _version for values that are a bare arXiv id or its abs link, and _id_other
    for the non-empty values of another shape, which split_arxiv_id reads."""
    month = pl.col("_yymm").str.slice(2, 2).cast(pl.Int32, strict=False)
    old_month = pl.col("_old_number").str.slice(2, 2).cast(pl.Int32, strict=False)
    new_ok = (
        month.is_between(1, 12) & (pl.col("_yymm") >= "0704")
        & ((pl.col("_number").str.len_chars() == 5) == (pl.col("_yymm") >= "1501"))
    ).fill_null(False)
    old_ok = (pl.col("_archive").is_in(_OLD_ARCHIVES) & old_month.is_between(1, 12)).fill_null(False)
    return (
        frame.with_columns(_id_text=pl.col(column).fill_null("").str.strip_chars())
        .with_columns(_new=pl.col("_id_text").str.extract_groups(_NEW_ID), _old=pl.col("_id_text").str.extract_groups(_OLD_ID))
        .with_columns(
            _yymm=pl.col("_new").struct.field("1"),
            _number=pl.col("_new").struct.field("2"),
            _archive=pl.col("_old").struct.field("1"),
            _old_number=pl.col("_old").struct.field("2"),
        )
        .with_columns(_new_ok=new_ok, _old_ok=old_ok)
        .with_columns(
            _id=pl.when("_new_ok").then(pl.col("_yymm") + "." + pl.col("_number"))
            .when("_old_ok").then(pl.col("_archive") + "/" + pl.col("_old_number")),
            _version=pl.when("_new_ok").then(pl.col("_new").struct.field("3"))
            .when("_old_ok").then(pl.col("_old").struct.field("3")).cast(pl.Int32),
            _id_other=~pl.col("_new_ok") & ~pl.col("_old_ok") & (pl.col("_id_text") != ""),
        )
    )


def _patched_arxiv_ids(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    ids, versions = frame["_id"].alias("arxiv_id"), frame["_version"].alias("version")
    # Values of another shape (other text around the id, several ids) get split_arxiv_id itself.
    rows = frame["_id_other"].arg_true()
    if rows.len():
        splits = [split_arxiv_id(value) for value in frame["_id_text"].gather(rows)]
        ids = ids.scatter(rows, [item[0] if item else None for item in splits])
        versions = versions.scatter(rows, [item[1] if item else None for item in splits])
    return ids, versions


def title_key_column(titles: pl.Series, first_authors: pl.Series) -> pl.Series:
    """normalize.title_key over cleaned titles and first authors.

    ASCII titles and names are folded with polars; the rest, and names ending in two suffixes,
    go through title_key itself.
    """
    frame = pl.LazyFrame({"title": titles, "author": first_authors})
    return _patched_title_keys(_with_title_keys(frame, "title", "author").collect(), "title", "author")


def _with_title_keys(frame: pl.LazyFrame, title: str, author: str) -> pl.LazyFrame:
    """Add _key, the title key of ASCII titles and names, and _key_other for the other rows."""
    name = pl.col(author).fill_null("")
    words = name.str.replace_all(r"\s+", " ").str.strip_chars().str.split(" ")
    last, before = words.list.get(-1, null_on_oob=True), words.list.get(-2, null_on_oob=True)
    last_is_suffix = _fold_ascii(last).is_in(_NAME_SUFFIXES) & (words.list.len() > 1)
    surname = (
        pl.when(name.str.contains(",")).then(name.str.split(",").list.first())
        .when(last_is_suffix).then(before)
        .otherwise(last)
    )
    complex_name = last_is_suffix & _fold_ascii(before).is_in(_NAME_SUFFIXES) & (words.list.len() > 2)
    return frame.with_columns(
        _key=_fold_ascii(pl.col(title)) + "|" + _fold_ascii(surname).fill_null(""),
        _key_other=pl.col(title).str.contains(_NOT_SIMPLE_KEY) | name.str.contains(r"[^\x00-\x7f]") | complex_name.fill_null(False),
    )


def _patched_title_keys(frame: pl.DataFrame, title: str, author: str) -> pl.Series:
    keys = frame["_key"].alias("title_key")
    rows = frame["_key_other"].arg_true()
    if rows.len():
        pairs = zip(frame[title].gather(rows), frame[author].gather(rows))
        keys = keys.scatter(rows, [title_key(text, name or None) for text, name in pairs])
    return keys


def _fold_ascii(expression: pl.Expr) -> pl.Expr:
    return expression.str.to_lowercase().str.replace_all(r"[^0-9a-z\s]+", "").str.replace_all(r"\s+", " ").str.strip_chars()


def announcement_days(v1_time: pl.Series, v1_date: pl.Series) -> pl.Series:
    """Return each record's announcement day: from its v1 time when known, else from its v1 date."""
    frame = _with_deadlines(pl.LazyFrame({"v1_time": v1_time, "v1_day": v1_date}), "v1_time").collect()
    return _days(frame, frame["v1_time"])


def _with_deadlines(frame: pl.LazyFrame, time: str) -> pl.LazyFrame:
    """Add _deadline, the day whose submission window a v1 time falls in.

    The same rule as schedule.announcement_day: a submission after 14:00 US Eastern time, or
    on a weekend, belongs to the next weekday's window.
    """
    local = pl.col(time).dt.convert_time_zone("America/New_York")
    late = (local.dt.hour() >= 14) | (local.dt.weekday() >= 6)
    return frame.with_columns(_deadline=(local.dt.date().cast(pl.Int32) + late.cast(pl.Int32)).cast(pl.Date))


def _days(frame: pl.DataFrame, times: pl.Series) -> pl.Series:
    """Look up each window's mailing once per distinct deadline, or per distinct v1 date when
    only the date is known. ``times`` may hold times that polars did not parse (not in
    _deadline); their days come from announcement_day itself."""
    by_time = _lookup(frame["_deadline"], mailing_for_deadline)
    late_rows = (times.is_not_null() & frame["_deadline"].is_null()).arg_true()
    if late_rows.len():
        by_time = by_time.scatter(late_rows, [announcement_day(value) for value in times.gather(late_rows)])
    return by_time.fill_null(_lookup(frame["v1_day"], announcement_day_from_date)).alias("day")


def _lookup(days: pl.Series, rule: Callable[[date], date]) -> pl.Series:
    distinct = days.drop_nulls().unique()
    if distinct.len() == 0:
        return pl.Series(values=[None] * days.len(), dtype=pl.Date)
    table = {day: rule(day) for day in distinct}
    return days.replace_strict(table, default=None, return_dtype=pl.Date)


def _first_doi(text: str) -> str | None:
    for candidate in text.split():
        doi = normalize_doi(candidate)
        if doi:
            return doi
    return None


def raw_frame(columns: dict[str, list]) -> pl.DataFrame:
    """Build a RAW_SCHEMA frame from one list per field (empty lists for fields not read).

    pyarrow reads Python lists of strings and of lists several times faster than polars'
    constructor does.
    """
    count = max((len(values) for values in columns.values()), default=0)
    arrays = {}
    for name, dtype in RAW_SCHEMA.items():
        values = columns.get(name)
        if not values:
            arrays[name] = pa.nulls(count, type=_ARROW[dtype])
        elif dtype == pl.List(pl.Utf8):
            offsets = pa.array([0, *accumulate(len(items) for items in values)], type=pa.int32())
            arrays[name] = pa.ListArray.from_arrays(offsets, pa.array(list(chain.from_iterable(values)), type=pa.string()))
        else:
            arrays[name] = pa.array(values, type=_ARROW[dtype])
    return pl.from_arrow(pa.table(arrays)).cast(RAW_SCHEMA)


def _unparsed_times(frame: pl.DataFrame) -> pl.Series:
    """Return the v1 times, parsing with the standard library the values polars' formats missed."""
    times = frame["v1_time"]
    stated = frame["v1_rfc822"].is_not_null() | frame["v1_iso"].is_not_null()
    rows = (times.is_null() & stated).arg_true()
    if rows.len():
        pairs = zip(frame["v1_rfc822"].gather(rows), frame["v1_iso"].gather(rows))
        times = times.scatter(rows, [_rfc822(rfc) if rfc else _iso(iso) for rfc, iso in pairs])
    return times


def _rfc822(text: str) -> datetime | None:
    try:
        value = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _iso(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
