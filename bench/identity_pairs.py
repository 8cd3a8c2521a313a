"""Build and score the labelled duplicate / non-duplicate pairs of the title-and-author matcher.

    python bench/identity_pairs.py build      # rewrite tests/data/identity_pairs.csv from the fixtures
    python bench/identity_pairs.py evaluate   # precision and recall of lib.identity.compare
    python bench/identity_pairs.py scale      # time lib.identity.resolve over the daily-arXiv corpus

The CSV stores references into the shared fixtures (file, record id) plus a short title and
how the label was decided, never the records themselves; both commands read the records from
the fixtures (HUB_FIXTURES_DIR, default ../shared/fixtures beside the repository).

Ground truth comes from identifiers the matcher never sees: two records of one arXiv id are
the same work, and two arXiv ids are different works. Pairs of two arXiv ids whose folded
titles are identical and whose authors overlap are left out, because arXiv holds duplicate
submissions of one work under two ids and the label would be a guess. So are the pairs in
AMBIGUOUS, read by hand as possibly one work resubmitted under a new id (an abbreviation
spelled out, a venue prefix or "(Journal version)" added).
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from collections import defaultdict
from functools import cache
from pathlib import Path

from lxml import etree
from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub_pipeline.lib.identity import WorkText, compare  # noqa: E402
from hub_pipeline.lib.normalize import clean_text, fold_text, surname  # noqa: E402
from hub_pipeline.lib.parsing import parse_payload  # noqa: E402

PAIRS_FILE = REPO / "tests" / "data" / "identity_pairs.csv"
DENGWEI = "corpus/daily-arxiv-ai-enhanced_dw-dengwei"
OAI_CORPUS = "corpus/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09"
ARXIV_RAW = "arxiv_oai/arxiv_oai_ListRecords_arXivRaw_2014-01-16_cursor46000_token496549-47001.xml"
OAI_PAGE1 = "arxiv_oai/arxiv_oai_ListRecords_arXiv_set-cs_2016-03-09_page001_cursor0.xml"
KAGGLE = "corpus/kaggle_arxiv-metadata-oai-snapshot_first200_0704.0001-0704.0200.jsonl"
RSS_DAY = "2025-03-20"
FIELDS = ["pair_id", "label", "ref_a", "ref_b", "title_a", "how_decided"]
AMBIGUOUS = {
    frozenset(pair)
    for pair in [
        ("2504.12673", "2512.08943"),  # "ACoRN: " prefixed to the same title
        ("2503.21055", "2506.00101"),  # "EgoVIS@CVPR: " prefixed to the same title
        ("2602.22092", "2604.15555"),  # "Overview of the " prefixed, same authors
        ("2503.18064", "2503.20808"),  # "FCL" and "Federated Continual Learning"
        ("2511.14087", "2512.23990"),  # the same title reworded, same authors
        ("2510.06953", "2510.13850"),  # "UID" and "Uniform Information Density"
        ("0905.3201", "0906.1618"),  # "(Journal version)" appended
        ("0801.1282", "0810.1105"),  # "LDPC" and "Low-Density Parity-Check"
        ("0801.3971", "0804.0524"),  # "A ... for the Nurse Scheduling Problem" shortened
        ("0811.1825", "0906.4162"),  # "(Short Version)" appended
        ("0903.1556", "0911.3256"),  # "Encoding in the" and "Coding for", same authors
    ]
}


def fixtures_dir() -> Path:
    import os

    configured = os.environ.get("HUB_FIXTURES_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "fixtures"


# --- reading records by reference ---------------------------------------------------------------
# A reference is "<kind>:<file inside the fixtures>:<arXiv id>".


@cache
def _dengwei_file(path: Path) -> dict[str, WorkText]:
    records = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records.setdefault(record["id"], WorkText(record["title"], tuple(record["authors"])))
    return records


@cache
def _rss_file(path: Path) -> dict[str, WorkText]:
    parsed = parse_payload("arxiv_rss", "labelled-pairs", path.read_bytes())
    return {entry.arxiv_id: WorkText(entry.title, tuple(entry.authors)) for entry in parsed.entries if entry.arxiv_id}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@cache
def _oai_file(path: Path) -> dict[str, WorkText]:
    """Read an OAI-PMH page in the arXiv format (keyname/forenames) or arXivRaw (one author string)."""
    records = {}
    for _, element in etree.iterparse(str(path), tag="{*}metadata", resolve_entities=False, no_network=True):
        body = element[0]
        fields = {_local(child.tag): child for child in body}
        identifier = (fields["id"].text or "").strip()
        title = clean_text(fields["title"].text)
        if _local(body.tag) == "arXivRaw":
            authors = tuple(name.strip() for name in (fields["authors"].text or "").replace(" and ", ", ").split(","))
        else:
            authors = tuple(
                " ".join(filter(None, [author.findtext("{*}forenames"), author.findtext("{*}keyname")]))
                for author in fields["authors"]
            )
        records[identifier] = WorkText(title, tuple(name for name in authors if name))
        element.clear()
    return records


@cache
def _kaggle_file(path: Path) -> dict[str, WorkText]:
    records = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        authors = tuple(" ".join(filter(None, [given, family])) for family, given, *_ in record["authors_parsed"])
        records[record["id"]] = WorkText(record["title"], authors)
    return records


_READERS = {"dw": _dengwei_file, "rss": _rss_file, "oai": _oai_file, "kaggle": _kaggle_file}


def load(reference: str, fixtures: Path) -> WorkText:
    kind, file, identifier = reference.split(":", 2)
    records = _READERS[kind](fixtures / file)
    if identifier not in records:
        raise KeyError(f"{reference}: no record {identifier} in {file}; rebuild the pairs with `build`")
    return records[identifier]


# --- building the set ---------------------------------------------------------------------------


def _dengwei_files(fixtures: Path) -> list[Path]:
    return sorted((fixtures / DENGWEI).glob("arxiv_listing_*.jsonl"))


def _ref(kind: str, path: Path, identifier: str, fixtures: Path) -> str:
    return f"{kind}:{path.relative_to(fixtures).as_posix()}:{identifier}"


def _positives(fixtures: Path) -> list[dict]:
    rows = []
    # 1. One arXiv id listed on two days of the daily-arXiv corpus (a replacement or a late cross-list).
    sightings: dict[str, list[Path]] = defaultdict(list)
    for path in _dengwei_files(fixtures):
        for identifier in _dengwei_file(path):
            sightings[identifier].append(path)
    for identifier, paths in sorted(sightings.items()):
        if len(paths) > 1:
            rows.append(
                (_ref("dw", paths[0], identifier, fixtures), _ref("dw", paths[-1], identifier, fixtures),
                 "same arXiv id on two listing days of the daily-arXiv corpus")
            )
    # 2. One arXiv id in the arXivRaw page and in the arXiv-format pages of another harvest.
    raw = _oai_file(fixtures / ARXIV_RAW)
    for path in sorted((fixtures / OAI_CORPUS).glob("*.xml")):
        for identifier in sorted(set(raw) & set(_oai_file(path))):
            rows.append(
                (_ref("oai", fixtures / ARXIV_RAW, identifier, fixtures), _ref("oai", path, identifier, fixtures),
                 "same arXiv id in two OAI-PMH formats (arXivRaw, arXiv)")
            )
    # 3. One arXiv id in the Kaggle snapshot and in the first OAI page.
    kaggle, page1 = _kaggle_file(fixtures / KAGGLE), _oai_file(fixtures / OAI_PAGE1)
    for identifier in sorted(set(kaggle) & set(page1)):
        rows.append(
            (_ref("kaggle", fixtures / KAGGLE, identifier, fixtures), _ref("oai", fixtures / OAI_PAGE1, identifier, fixtures),
             "same arXiv id in the Kaggle snapshot and an OAI-PMH page")
        )
    # 4. One arXiv id as an RSS item and as a record scraped from the listing page of the same day.
    listing = fixtures / DENGWEI / f"arxiv_listing_{RSS_DAY}.jsonl"
    rss_pairs = []
    for feed in sorted((fixtures / "arxiv_rss_days" / RSS_DAY).glob("*.xml")):
        for identifier in sorted(set(_rss_file(feed)) & set(_dengwei_file(listing))):
            rss_pairs.append(
                (_ref("rss", feed, identifier, fixtures), _ref("dw", listing, identifier, fixtures),
                 "same arXiv id: RSS item and listing-page record of one day")
            )
    rows += random.Random(5).sample(rss_pairs, 80)
    return [{"label": "duplicate", "ref_a": a, "ref_b": b, "how_decided": how} for a, b, how in rows]


def _hard_negatives(records: dict[str, tuple[Path, WorkText]], fixtures: Path, kind: str, limit: int) -> list[dict]:
    """Pairs of different arXiv ids that share a title prefix or first author and look alike."""
    folded = {identifier: fold_text(clean_text(text.title)) for identifier, (_, text) in records.items()}
    blocks: dict[str, list[str]] = defaultdict(list)
    for identifier, (_, text) in records.items():
        words = [word for word in folded[identifier].split() if len(word) > 2]
        if len(words) >= 2:
            blocks["t:" + " ".join(words[:3])].append(identifier)
        if text.authors:
            blocks["a:" + fold_text(surname(text.authors[0]))].append(identifier)

    scored: dict[tuple[str, str], float] = {}
    for members in blocks.values():
        members = sorted(set(members))
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                score = fuzz.ratio(folded[a], folded[b])
                if score >= 70:
                    scored[(a, b)] = score

    rows = []
    for (a, b), score in sorted(scored.items(), key=lambda item: (-item[1], item[0])):
        text_a, text_b = records[a][1], records[b][1]
        result = compare(text_a, text_b)
        if folded[a].replace(" ", "") == folded[b].replace(" ", "") and result.author_score > 0:
            continue  # possibly one work submitted twice; the label would be a guess
        if frozenset((a, b)) in AMBIGUOUS:
            continue
        rows.append(
            {
                "label": "different",
                "ref_a": _ref(kind, records[a][0], a, fixtures),
                "ref_b": _ref(kind, records[b][0], b, fixtures),
                "how_decided": f"two arXiv ids; titles differ in words (ratio {score:.0f}); read by hand: series, companion or unrelated papers",
            }
        )
        if len(rows) >= limit:
            break
    return rows


def _negatives(fixtures: Path) -> list[dict]:
    dengwei: dict[str, tuple[Path, WorkText]] = {}
    for path in _dengwei_files(fixtures):
        for identifier, text in _dengwei_file(path).items():
            dengwei.setdefault(identifier, (path, text))
    oai: dict[str, tuple[Path, WorkText]] = {}
    for path in sorted((fixtures / OAI_CORPUS).glob("*.xml")):
        for identifier, text in _oai_file(path).items():
            oai.setdefault(identifier, (path, text))
    return _hard_negatives(dengwei, fixtures, "dw", 120) + _hard_negatives(oai, fixtures, "oai", 60)


def build(fixtures: Path) -> None:
    rows = _positives(fixtures) + _negatives(fixtures)
    PAIRS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with PAIRS_FILE.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            title = load(row["ref_a"], fixtures).title
            writer.writerow({"pair_id": number, **row, "title_a": " ".join(clean_text(title).split()[:8])})
    print(f"wrote {len(rows)} pairs to {PAIRS_FILE.relative_to(REPO)}")


# --- scoring ------------------------------------------------------------------------------------


def read_pairs(path: Path = PAIRS_FILE) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def evaluate(fixtures: Path, pairs: list[dict] | None = None) -> dict:
    """Run the matcher on every pair; "same" counts as a merge, "possible" and "different" do not."""
    pairs = pairs if pairs is not None else read_pairs()
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "possible_duplicates": 0, "possible_different": 0}
    wrong = []
    for pair in pairs:
        result = compare(load(pair["ref_a"], fixtures), load(pair["ref_b"], fixtures))
        duplicate = pair["label"] == "duplicate"
        merged = result.decision == "same"
        key = ("tp" if merged else "fn") if duplicate else ("fp" if merged else "tn")
        counts[key] += 1
        if result.decision == "possible":
            counts["possible_duplicates" if duplicate else "possible_different"] += 1
        if key in ("fp", "fn"):
            wrong.append((pair["pair_id"], key, pair["title_a"], result))
    counts["pairs"] = len(pairs)
    counts["precision"] = counts["tp"] / (counts["tp"] + counts["fp"]) if counts["tp"] + counts["fp"] else 1.0
    counts["recall"] = counts["tp"] / (counts["tp"] + counts["fn"]) if counts["tp"] + counts["fn"] else 1.0
    counts["wrong"] = wrong
    return counts


def scale(fixtures: Path) -> None:
    """Time resolve() over every record of the daily-arXiv corpus, once with its arXiv ids and
    once without them (so every record goes through the title-and-author matcher)."""
    from datetime import date

    from hub_pipeline.lib.identity import resolve_rows
    from hub_pipeline.lib.normalize import title_key

    rows = []
    for path in _dengwei_files(fixtures):
        day = date.fromisoformat(path.stem.removeprefix("arxiv_listing_"))
        for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            record = json.loads(line)
            authors = record["authors"]
            rows.append(
                {
                    "day": day, "source_id": "corpus", "item_index": index, "title": record["title"],
                    "abstract": record["summary"] or "", "authors": authors, "guid": None,
                    "link": record["abs"], "arxiv_id": record["id"], "arxiv_version": None, "doi": None,
                    "version_label": None, "published_doi": None,
                    "title_key": title_key(record["title"], authors[0] if authors else None),
                }
            )
    for label, prepared in (
        ("with arXiv ids", rows),
        ("without identifiers", [{**row, "arxiv_id": None, "link": None} for row in rows]),
    ):
        started = time.perf_counter()
        resolution = resolve_rows(prepared)
        elapsed = time.perf_counter() - started
        print(
            f"{label}: {len(prepared)} entries -> {resolution.identity['paper_id'].n_unique()} papers, "
            f"{resolution.fuzzy_merges} fuzzy merges, {resolution.candidates.height} candidates, {elapsed:.1f} s"
        )


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "evaluate"
    fixtures = fixtures_dir()
    if command == "build":
        build(fixtures)
        return
    if command == "scale":
        scale(fixtures)
        return
    started = time.perf_counter()
    result = evaluate(fixtures)
    elapsed = time.perf_counter() - started
    duplicates = result["tp"] + result["fn"]
    print(f"pairs: {result['pairs']} ({duplicates} duplicates, {result['pairs'] - duplicates} different)")
    print(f"merged correctly {result['tp']}, wrongly {result['fp']}; missed {result['fn']}; kept apart {result['tn']}")
    print(f"candidates (possible): {result['possible_duplicates']} duplicates, {result['possible_different']} different")
    print(f"precision {result['precision']:.3f}, recall {result['recall']:.3f}  ({elapsed:.1f} s)")
    for pair_id, kind, title, match in result["wrong"]:
        print(f"  {kind} #{pair_id}: {title!r} title {match.title_score:.1f} authors {match.author_score:.2f}")


if __name__ == "__main__":
    main()
