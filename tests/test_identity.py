"""Identity resolution over hand-written entries: identifiers first, then title and authors."""

from __future__ import annotations

from datetime import date

import pytest

from hub_pipeline.lib.identity import WorkText, author_score, compare, resolve_rows
from hub_pipeline.lib.normalize import title_key

DAY = date(2025, 3, 20)
NEXT_DAY = date(2025, 3, 21)

TITLE = "Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM"
AUTHORS = ["Yazeed Alnumay", "Alexandre Barbet", "Anna Bialas"]


def entry(source_id: str, item_index: int = 0, day: date = DAY, **fields) -> dict:
    row = {
        "day": day,
        "source_id": source_id,
        "item_index": item_index,
        "title": TITLE,
        "abstract": "An abstract.",
        "authors": AUTHORS,
        "guid": None,
        "link": None,
        "arxiv_id": None,
        "arxiv_version": None,
        "doi": None,
        "version_label": None,
        "published_doi": None,
    }
    row.update(fields)
    row["title_key"] = title_key(row["title"], row["authors"][0] if row["authors"] else None)
    return row


def paper_ids(resolution) -> list[str]:
    return resolution.identity.sort(["day", "source_id", "item_index"])["paper_id"].to_list()


def test_cross_list_and_arxiv_doi_and_link_are_one_work():
    resolution = resolve_rows(
        [
            entry("arxiv-cs-cl", arxiv_id="2503.14603", arxiv_version=1, link="https://arxiv.org/abs/2503.14603"),
            entry("arxiv-cs-lg", arxiv_id="2503.14603", arxiv_version=1, link="https://arxiv.org/abs/2503.14603"),
            entry("digest-a", day=NEXT_DAY, doi="10.48550/arXiv.2503.14603", link="https://digest.example/1"),
            entry("digest-b", day=NEXT_DAY, link="https://arxiv.org/abs/2503.14603v2"),
        ]
    )
    assert set(paper_ids(resolution)) == {"arxiv:2503.14603"}
    rows = resolution.identity.sort("source_id").to_dicts()
    assert [row["identity_rule"] for row in rows] == ["arxiv"] * 4
    assert rows[-1]["version"] == 2  # read from the link
    assert resolution.candidates.height == 0


def test_journal_guid_change_keeps_one_paper():
    # The same article on two days: the feed changed the guid and decorated the link.
    resolution = resolve_rows(
        [
            entry("science", guid="hwp:resource-id:sci;356/6343/1134-a", link="http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1"),
            entry("science", day=NEXT_DAY, guid="tag:science,2017:1134-a", link="https://science.sciencemag.org/cgi/content/short/356/6343/1134-a"),
        ]
    )
    ids = paper_ids(resolution)
    assert ids[0] == ids[1]
    assert ids[0].startswith("url:")
    assert set(resolution.identity["identity_rule"]) == {"link"}


def test_journal_items_keyed_by_doi_before_link():
    resolution = resolve_rows(
        [
            entry("nature", doi="10.1038/s41586-023-06789-1", guid="a", link="https://www.nature.com/articles/s41586-023-06789-1"),
            entry("nature", day=NEXT_DAY, doi="10.1038/S41586-023-06789-1", guid="b", link="https://nature.com/x?rss=1"),
        ]
    )
    assert paper_ids(resolution) == ["doi:10.1038/s41586-023-06789-1"] * 2


def test_home_page_link_is_not_an_identity():
    # A feed that points every item at the journal's home page: the link names no article.
    rows = [
        entry("news", item_index=index, title=f"News item number {index} about science", guid=f"g{index}", link="https://news.example/")
        for index in range(3)
    ]
    resolution = resolve_rows(rows)
    assert len(set(paper_ids(resolution))) == 3
    assert set(resolution.identity["identity_rule"]) == {"guid"}


def test_biorxiv_versions_are_one_work():
    resolution = resolve_rows(
        [
            entry("biorxiv", doi="10.1101/2019.12.11.123456", link="https://www.biorxiv.org/content/10.1101/2019.12.11.123456v1?rss=1"),
            entry("biorxiv", day=NEXT_DAY, doi="10.1101/2019.12.11.123456v2"),
            entry("biorxiv-old", link="http://biorxiv.org/cgi/content/short/743294v1?rss=1", title="Another preprint on wheat kinases"),
        ]
    )
    frame = resolution.identity.sort(["source_id", "day"])
    assert frame["paper_id"].to_list() == ["doi:10.1101/2019.12.11.123456", "doi:10.1101/2019.12.11.123456", "doi:10.1101/743294"]
    assert frame["version"].to_list() == [1, 2, 1]


def test_cold_spring_harbor_journal_is_not_merged_with_preprint():
    # Genome Research shares the 10.1101 prefix; the preprint names the article as published.
    resolution = resolve_rows(
        [
            entry("biorxiv", doi="10.1101/2023.01.01.522222", published_doi="10.1101/gr.279524.124"),
            entry("genome-research", doi="10.1101/gr.279524.124", link="https://genome.cshlp.org/content/34/1/1"),
        ]
    )
    frame = resolution.identity.sort("source_id")
    assert frame["paper_id"].to_list() == ["doi:10.1101/2023.01.01.522222", "doi:10.1101/gr.279524.124"]
    assert frame["published_doi"].to_list() == ["10.1101/gr.279524.124", None]
    # Same title and authors but two DOIs: a candidate for review, never a merge.
    [candidate] = resolution.candidates.to_dicts()
    assert candidate["reason"] == "same title and authors but different identifiers"


def test_arxiv_journal_doi_becomes_published_doi():
    resolution = resolve_rows(
        [
            entry("arxiv-backfill", arxiv_id="2606.28227", arxiv_version=1, doi="10.1016/j.jnt.2026.04.004"),
            entry("jnt", doi="10.1016/j.jnt.2026.04.004", link="https://doi.org/10.1016/j.jnt.2026.04.004"),
        ]
    )
    frame = resolution.identity.sort("source_id")
    assert frame["paper_id"].to_list() == ["arxiv:2606.28227", "doi:10.1016/j.jnt.2026.04.004"]
    assert frame["published_doi"].to_list() == ["10.1016/j.jnt.2026.04.004", None]
    assert frame["work_doi"].to_list() == ["10.48550/arxiv.2606.28227", "10.1016/j.jnt.2026.04.004"]


def test_weak_entry_merges_by_title_and_authors():
    resolution = resolve_rows(
        [
            entry("arxiv-cs-cl", arxiv_id="2503.14603", arxiv_version=1),
            entry(
                "blog",
                day=NEXT_DAY,
                title="Command R7B Arabic: a small, enterprise-focused, multilingual and culturally aware Arabic LLM",
                authors=["Alnumay, Y.", "Barbet, A."],
                guid="post-17",
            ),
        ]
    )
    assert paper_ids(resolution) == ["arxiv:2503.14603"] * 2
    blog = resolution.identity.filter(source_id="blog").to_dicts()[0]
    assert blog["identity_rule"] == "fuzzy"
    assert 0.9 < blog["identity_confidence"] < 1.0
    assert resolution.fuzzy_merges == 1
    # The id the blog entry had alone now points at the arXiv paper.
    assert resolution.aliases["paper_id"].to_list() == ["arxiv:2503.14603"]


def test_weak_entry_matching_two_works_is_a_candidate():
    resolution = resolve_rows(
        [
            entry("arxiv-cs-cl", arxiv_id="2503.14603", arxiv_version=1),
            entry("journal", doi="10.1234/abc"),
            entry("blog", guid="post-17"),
        ]
    )
    assert len(set(paper_ids(resolution))) == 3
    reasons = sorted(resolution.candidates["reason"].to_list())
    assert "matches more than one work; not merged" in reasons
    assert resolution.fuzzy_merges == 0


def test_short_titles_never_merge():
    resolution = resolve_rows(
        [
            entry("nature", title="Research highlights", authors=["Ann Lee"], guid="a"),
            entry("science", title="Research highlights", authors=["Ann Lee"], guid="b"),
        ]
    )
    assert len(set(paper_ids(resolution))) == 2
    assert resolution.candidates["reason"].to_list() == ["similar title or authors; not merged"]


def test_shared_link_with_two_dois_is_recorded_not_merged():
    resolution = resolve_rows(
        [
            entry("journal-a", doi="10.1234/one", link="https://journal.example/article/7"),
            entry("journal-b", doi="10.1234/two", link="https://journal.example/article/7", title="An unrelated work with another title"),
        ]
    )
    assert paper_ids(resolution) == ["doi:10.1234/one", "doi:10.1234/two"]
    assert resolution.candidates["reason"].to_list() == ["share url but have different DOIs"]


def test_weak_id_becomes_alias_when_a_doi_arrives():
    link = "https://journal.example/article/9"
    first = resolve_rows([entry("journal", guid="a", link=link)])
    later = resolve_rows([entry("journal", guid="a", link=link), entry("journal", day=NEXT_DAY, guid="b", link=link, doi="10.1234/nine")])
    old_id = first.identity["paper_id"][0]
    assert old_id.startswith("url:")
    assert set(paper_ids(later)) == {"doi:10.1234/nine"}
    assert later.aliases.rows() == [(old_id, "doi:10.1234/nine")]


@pytest.mark.parametrize(
    ("a", "b", "decision"),
    [
        # Case and punctuation only.
        (WorkText("Interpreting the Linear Structure of Vision-language Model Embedding Spaces", ("Isabel Papadimitriou", "Huangyuan Su")),
         WorkText("Interpreting the linear structure of vision-language model embedding spaces", ("Papadimitriou, I.", "Su, H.")), "same"),
        # Different works that share a template title.
        (WorkText("A Survey on Large Language Models for Code Generation", ("Juyong Jiang",)),
         WorkText("A Survey on Large Language Models for Recommendation", ("Likang Wu",)), "different"),
        # The same title by other authors.
        (WorkText("Attention Is All You Need In Speech Separation", ("Cem Subakan",)),
         WorkText("Attention Is All You Need In Speech Separation", ("Ann Lee",)), "possible"),
        (WorkText("", ()), WorkText("Anything at all here", ()), "different"),
    ],
)
def test_compare(a, b, decision):
    assert compare(a, b).decision == decision


def test_author_score_tolerates_name_order():
    assert author_score(["Wei Wang", "Li Na"], ["Wang Wei", "Na Li"]) == 1.0
    assert author_score(["Kaur, M.", "Shukla, A."], ["Manpreet Kaur", "Anuj Shukla"]) == 1.0
    assert author_score([], ["Ann Lee"]) == 0.0


# --- real feeds ---------------------------------------------------------------------------------


def _rows(parsed, source_id: str, day: date) -> list[dict]:
    rows = []
    for item in parsed.entries:
        row = {
            "day": day,
            "source_id": source_id,
            "item_index": item.item_index,
            "title": item.title,
            "abstract": item.abstract,
            "authors": item.authors,
            "guid": item.guid,
            "link": item.link,
            "arxiv_id": item.arxiv_id,
            "arxiv_version": item.arxiv_version,
            "doi": item.doi,
            "version_label": item.version_label,
            "published_doi": item.published_doi,
            "title_key": item.title_key,
        }
        rows.append(row)
    return rows


def test_science_feed_with_new_guids_keeps_its_papers(fixtures):
    import re

    from hub_pipeline.lib.parsing import parse_payload

    body = next((fixtures / "journals").glob("science_twis_*.xml")).read_bytes()
    # The next day's feed, as a publisher that renumbers its guids would send it: the same
    # items and links, other rdf:about values (feedparser's guid for RSS 1.0).
    counter = iter(range(1000))
    renumbered = re.sub(
        rb'rdf:about="http://science[^"]*"', lambda _: b'rdf:about="tag:science,2017-06-16:%d"' % next(counter), body
    )
    first = parse_payload("rss", "science", body)
    second = parse_payload("rss", "science", renumbered)
    assert first.entries[0].guid != second.entries[0].guid
    assert first.entries[0].link == second.entries[0].link

    resolution = resolve_rows(_rows(first, "science", DAY) + _rows(second, "science", NEXT_DAY))
    items = len(first.entries)
    assert items == 69  # <item> elements counted with grep
    assert resolution.identity["paper_id"].n_unique() == items
    # The items carry "doi:10.1126/..." in dc:identifier, the strongest key after an arXiv id.
    assert set(resolution.identity["identity_rule"]) == {"doi"}

    # A day whose feed also drops the DOIs still finds each item by its link.
    without_dois = parse_payload("rss", "science", re.sub(rb"<dc:identifier>[^<]*</dc:identifier>", b"", renumbered))
    assert without_dois.entries[0].doi is None
    resolution = resolve_rows(_rows(first, "science", DAY) + _rows(without_dois, "science", NEXT_DAY))
    assert resolution.identity["paper_id"].n_unique() == items
    assert all(paper_id.startswith("doi:10.1126/") for paper_id in resolution.identity["paper_id"])


def test_biorxiv_feed_versions_and_dois(fixtures):
    from hub_pipeline.lib.parsing import parse_payload

    body = next((fixtures / "biorxiv").glob("biorxiv_rss1.0_*.xml")).read_bytes()
    parsed = parse_payload("biorxiv_rss", "biorxiv-plant", body)
    first = parsed.entries[0]
    # Read by hand: the first item is 743294v1 with dc:identifier doi:10.1101/743294.
    assert (first.doi, first.version_label) == ("10.1101/743294", "v1")
    resolution = resolve_rows(_rows(parsed, "biorxiv-plant", DAY))
    row = resolution.identity.to_dicts()[0]
    assert (row["paper_id"], row["version"], row["identity_rule"]) == ("doi:10.1101/743294", 1, "doi")
    assert resolution.identity["paper_id"].n_unique() == 30
