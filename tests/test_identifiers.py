"""Tables of real and hand-written cases for the canonical identifiers of works."""

from __future__ import annotations

import json

import defusedxml.ElementTree as ElementTree
import pytest
import yaml

from hub_pipeline.lib.identifiers import (
    arxiv_id_from_doi,
    arxiv_id_from_link,
    arxiv_metadata_identifiers,
    biorxiv_api_identifiers,
    canonical_doi,
    crossref_identifiers,
    doi_from_preprint_link,
    is_preprint_doi,
    normalize_link,
    split_preprint_doi,
    version_label_from_link,
)
from hub_pipeline.lib.normalize import split_arxiv_id

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Ids as the arXiv API, OAI-PMH and the Kaggle snapshot in the fixtures write them.
        ("http://arxiv.org/abs/2606.28227v1", ("2606.28227", 1)),
        ("http://arxiv.org/abs/math/0502287v1", ("math/0502287", 1)),
        ("http://arxiv.org/abs/0706.3031v3", ("0706.3031", 3)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("0704.0001", ("0704.0001", None)),
        # An archive whose name contains a "v", with and without a version.
        ("solv-int/9901001v3", ("solv-int/9901001", 3)),
        ("http://arxiv.org/abs/solv-int/9901001", ("solv-int/9901001", None)),
        ("chao-dyn/9510015v1", ("chao-dyn/9510015", 1)),
        # The subject class of an old id is not part of the identifier.
        ("math.GT/0309136v2", ("math/0309136", 2)),
        ("arXiv:2503.14603v12", ("2503.14603", 12)),
    ],
)
def test_split_arxiv_id_cases(text, expected):
    assert split_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("doi", "expected"),
    [
        # bioRxiv's old six-digit DOIs (plant-biology RSS) and dated ones, with versions.
        ("doi:10.1101/743294", ("10.1101/743294", None)),
        ("10.1101/2019.12.11.123456v2", ("10.1101/2019.12.11.123456", 2)),
        ("https://doi.org/10.1101/2020.03.20.20039834v1", ("10.1101/2020.03.20.20039834", 1)),
        # bioRxiv's new prefix (api.biorxiv.org, 2026).
        ("10.64898/2026.07.13.738145", ("10.64898/2026.07.13.738145", None)),
        ("10.64898/2025.12.19.695336v3", ("10.64898/2025.12.19.695336", 3)),
        # Other servers in the Crossref fixture write the version their own way.
        ("10.1002/essoar.10504562.1", ("10.1002/essoar.10504562", 1)),
        ("10.1002/essoar.10504562.2", ("10.1002/essoar.10504562", 2)),
        ("10.20944/preprints202604.0339.v1", ("10.20944/preprints202604.0339", 1)),
        ("10.21203/rs.3.rs-9882260/v1", ("10.21203/rs.3.rs-9882260", 1)),
        ("10.2139/ssrn.6761739", ("10.2139/ssrn.6761739", None)),
        ("10.48550/arXiv.2406.12345", ("10.48550/arxiv.2406.12345", None)),
        # Cold Spring Harbor journals share 10.1101 but are not preprints.
        ("10.1101/gr.279524.124", None),
        ("10.1101/gad.1234567", None),
        ("10.1101/cshperspect.a041234", None),
        # Journal DOIs from the fixtures.
        ("10.1029/2020MS002386", None),
        ("10.1103/PhysRevD.76.013009", None),
        (None, None),
        ("not a doi", None),
    ],
)
def test_split_preprint_doi(doi, expected):
    assert split_preprint_doi(doi) == expected
    assert is_preprint_doi(doi) == (expected is not None)


@pytest.mark.parametrize(
    ("doi", "expected"),
    [
        ("DOI:10.1101/2019.12.11.123456v2.", "10.1101/2019.12.11.123456"),
        ("https://dx.doi.org/10.1029/2020MS002386", "10.1029/2020ms002386"),
        ("  doi:10.1038/s41586-023-06951-3;", "10.1038/s41586-023-06951-3"),
        ("info:doi/10.1126/science.356.6343.1134-a", "10.1126/science.356.6343.1134-a"),
        ("10.1101/gr.279524.124", "10.1101/gr.279524.124"),
        ("10.1002/essoar.10504562.2", "10.1002/essoar.10504562"),
        ("10.1016/j.jnt.2026.04.004)", "10.1016/j.jnt.2026.04.004"),
        ("", None),
    ],
)
def test_canonical_doi(doi, expected):
    assert canonical_doi(doi) == expected


@pytest.mark.parametrize(
    ("doi", "expected"),
    [
        ("10.48550/arXiv.2503.14603", "2503.14603"),
        ("https://doi.org/10.48550/ARXIV.2503.14603", "2503.14603"),
        ("10.48550/arXiv.hep-th/9901001", "hep-th/9901001"),
        ("10.1016/j.jnt.2026.04.004", None),
        (None, None),
    ],
)
def test_arxiv_id_from_doi(doi, expected):
    assert arxiv_id_from_doi(doi) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://arxiv.org/abs/2503.14603", ("2503.14603", None)),
        ("http://export.arxiv.org/abs/2503.14603v2", ("2503.14603", 2)),
        ("https://arxiv.org/pdf/solv-int/9901001v1", ("solv-int/9901001", 1)),
        ("https://example.org/abs/2503.14603", None),
        (None, None),
    ],
)
def test_arxiv_id_from_link(link, expected):
    assert arxiv_id_from_link(link) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("http://biorxiv.org/cgi/content/short/743294v1?rss=1", ("10.1101/743294", 1)),
        ("https://www.biorxiv.org/content/10.1101/2020.03.20.000141v2?rss=1", ("10.1101/2020.03.20.000141", 2)),
        ("https://www.medrxiv.org/content/10.1101/2020.03.20.20039834v3.full.pdf", ("10.1101/2020.03.20.20039834", 3)),
        ("https://www.nature.com/articles/s41586-023-06789-1", None),
    ],
)
def test_doi_from_preprint_link(link, expected):
    assert doi_from_preprint_link(link) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("http://biorxiv.org/cgi/content/short/743294v1?rss=1", "v1"),
        ("https://www.biorxiv.org/content/10.1101/2020.03.20.000141v2", "v2"),
        ("https://www.nature.com/articles/s41586-023-06789-1", None),
    ],
)
def test_version_label_from_link(link, expected):
    assert version_label_from_link(link) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        # The same article seen through feeds that decorate its link differently.
        ("https://www.nature.com/articles/s41586-023-06789-1", "https://nature.com/articles/s41586-023-06789-1"),
        ("http://www.nature.com/articles/s41586-023-06789-1/", "https://nature.com/articles/s41586-023-06789-1"),
        ("https://WWW.Nature.com/articles/s41586-023-06789-1#Abs1", "https://nature.com/articles/s41586-023-06789-1"),
        (
            "http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1",
            "https://science.sciencemag.org/cgi/content/short/356/6343/1134-a",
        ),
        (
            "https://onlinelibrary.wiley.com/doi/10.1111/jvs.12345?af=R&utm_source=rss",
            "https://onlinelibrary.wiley.com/doi/10.1111/jvs.12345",
        ),
        # A query that names the article stays.
        ("https://example.org/article?id=42&rss=1", "https://example.org/article?id=42"),
        ("mailto:editor@example.org", None),
        ("", None),
    ],
)
def test_normalize_link(link, expected):
    assert normalize_link(link) == expected


# --- API records from the fixtures --------------------------------------------------------------


def test_biorxiv_api_records(fixtures):
    path = next((fixtures / "biorxiv").glob("biorxiv_api_details_*.json"))
    records = json.loads(path.read_text(encoding="utf-8"))["collection"]
    identifiers = [biorxiv_api_identifiers(record) for record in records]
    # Read by hand: DOIs under the new prefix, versions "1", "1", "3", "published": "NA".
    assert [item.doi for item in identifiers] == [
        "10.64898/2026.07.13.738145",
        "10.64898/2026.07.13.738249",
        "10.64898/2025.12.19.695336",
    ]
    assert [item.version_label for item in identifiers] == ["v1", "v1", "v3"]
    assert [item.published_doi for item in identifiers] == [None, None, None]


def test_biorxiv_api_published_doi():
    # Written after the API's field set: a published preprint names its article's DOI.
    record = {"doi": "10.1101/2020.03.20.000141", "version": "2", "published": "10.1038/S41586-020-2012-7"}
    identifiers = biorxiv_api_identifiers(record)
    assert identifiers.doi == "10.1101/2020.03.20.000141"
    assert identifiers.version_label == "v2"
    assert identifiers.published_doi == "10.1038/s41586-020-2012-7"


def _crossref_items(fixtures):
    cassette = next((fixtures / "crossref").glob("crossref_works_vcr-cassette_*.yml"))
    for interaction in yaml.safe_load(cassette.read_text(encoding="utf-8"))["http_interactions"]:
        body = interaction["response"]["body"]["string"]
        if not body.startswith("{"):
            continue
        message = json.loads(body)["message"]
        yield from message.get("items", [message]) if isinstance(message, dict) else []


def test_crossref_relations(fixtures):
    by_doi = {item["DOI"]: crossref_identifiers(item) for item in _crossref_items(fixtures)}
    # Read by hand: ESS Open Archive preprint version 1 "is-preprint-of" a JAMES article.
    first = by_doi["10.1002/essoar.10504562.1"]
    assert first.doi == "10.1002/essoar.10504562"
    assert first.version_label == "v1"
    assert first.relation_dois == ["is-preprint-of:10.1029/2020ms002386"]
    # Version 2 of the same preprint carries no relation but is the same work.
    second = by_doi["10.1002/essoar.10504562.2"]
    assert second.doi == first.doi
    assert second.version_label == "v2"
    assert second.relation_dois == []
    # A journal article keeps its DOI whole.
    assert by_doi["10.1038/nnano.2014.279"].doi == "10.1038/nnano.2014.279"


def test_crossref_relation_to_other_id_types_is_skipped():
    work = {
        "DOI": "10.1234/ABC",
        "relation": {
            "has-preprint": [{"id-type": "doi", "id": "10.1101/2020.01.01.000001", "asserted-by": "object"}],
            "is-supplemented-by": [{"id-type": "uri", "id": "https://example.org/data"}],
        },
    }
    assert crossref_identifiers(work).relation_dois == ["has-preprint:10.1101/2020.01.01.000001"]


def _arxiv_api_entries(text):
    root = ElementTree.fromstring(text)
    for entry in root.iter(f"{ATOM}entry"):
        yield {
            "id": entry.findtext(f"{ATOM}id"),
            "doi": entry.findtext(f"{ARXIV}doi"),
            "journal_ref": entry.findtext(f"{ARXIV}journal_ref"),
        }


def test_arxiv_api_doi_and_journal_ref(fixtures):
    results = {}
    for path in sorted((fixtures / "arxiv_api").glob("*.xml")):
        for fields in _arxiv_api_entries(path.read_bytes()):
            item = arxiv_metadata_identifiers(fields["id"], doi=fields["doi"], journal_ref=fields["journal_ref"])
            results[item.arxiv_id] = item
    # Read by hand from the math.NT/math.AG and deep-dream responses.
    number_theory = results["2606.28227"]
    assert number_theory.arxiv_version == 1
    assert number_theory.doi == "10.48550/arxiv.2606.28227"
    assert number_theory.published_doi == "10.1016/j.jnt.2026.04.004"
    assert number_theory.journal_ref == "J. Number Theory v291 (2027)"
    math_z = results["1403.7984"]
    assert math_z.published_doi == "10.1007/s00209-015-1472-1"
    assert math_z.journal_ref == "Mathematische Zeitschrift 280, 1185-1202, 2015"
    assert results["1511.08339"].published_doi == "10.3847/0004-637x/820/2/107"
    assert results["1511.08339"].journal_ref is None
    # An old-style id, without DOI or journal reference.
    assert results["math/0502287"].published_doi is None
    assert results["2606.28256"].published_doi is None


def test_arxiv_api_journal_ref_in_recorded_response(fixtures):
    path = next((fixtures / "arxiv_api").glob("*idlist-astro-ph_0601001*.json"))
    body = json.loads(path.read_text(encoding="utf-8"))["body"]
    [fields] = list(_arxiv_api_entries(body.encode("utf-8")))
    item = arxiv_metadata_identifiers(fields["id"], doi=fields["doi"], journal_ref=fields["journal_ref"])
    assert item.arxiv_id == "astro-ph/0601001"
    assert item.journal_ref == "ActaAstron.56:1-50,2006"
    assert item.published_doi is None


def test_kaggle_snapshot_doi_is_the_published_article(fixtures):
    path = next((fixtures / "corpus").glob("kaggle_arxiv-metadata-oai-snapshot_*.jsonl"))
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    item = arxiv_metadata_identifiers(first["id"], doi=first["doi"], journal_ref=first["journal-ref"])
    assert item.arxiv_id == "0704.0001"
    assert item.published_doi == "10.1103/physrevd.76.013009"
    assert item.journal_ref == "Phys.Rev.D76:013009,2007"


def test_arxiv_metadata_with_two_dois_keeps_the_first():
    item = arxiv_metadata_identifiers("0704.0046", doi="10.1103/PhysRevA.76.012303 10.1103/PhysRevA.77.049902")
    assert item.published_doi == "10.1103/physreva.76.012303"
