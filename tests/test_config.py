"""Loading and validating sources.yaml."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from hub_pipeline.lib.config import ConfigError, load_sources
from tests.conftest import REPO


def test_shipped_sources_cover_the_fields():
    sources = load_sources(REPO / "config" / "sources.yaml").sources
    categories = {s.category for s in sources if s.kind == "arxiv_rss"}
    assert {"cs.CL", "cs.LG", "cs.AI", "cs.CV", "quant-ph", "math.PR"} <= categories
    assert any(s.kind == "biorxiv_rss" and "medrxiv" in s.url for s in sources)
    assert any(s.kind == "biorxiv_rss" and "biorxiv" in s.url for s in sources)
    assert sum(s.kind == "rss" for s in sources) >= 3
    assert all(s.url.startswith("https://") for s in sources)


def test_offline_example_resolves_to_fixtures(fixtures):
    sources = load_sources(REPO / "config" / "sources-2025-03-20-offline.yaml").sources
    assert len(sources) == 6
    for source in sources:
        assert source.url.startswith("file:///")
        assert source.url.endswith(".xml")
    paths = {Path(unquote(urlsplit(source.url).path)).resolve() for source in sources}
    assert (fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.CL.xml").resolve() in paths


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fetch: {contact_email: a@b.org}\nsources:\n  - {id: x, kind: atom, url: 'https://e.org'}\n", "sources.0 (id 'x').kind"),
        ("fetch: {contact_email: a@b.org}\nsources:\n  - {id: x, kind: rss, url: 'ftp://e.org'}\n", "http://"),
        ("fetch: {contact_email: a@b.org}\nsources:\n  - {id: x, kind: rss}\n", "sources.0 (id 'x').url"),
        ("sources: []\n", "fetch: Field required (add a fetch: section with contact_email"),
        ("fetch: {timeout_s: 10}\nsources: []\n", "fetch.contact_email: Field required (your e-mail address"),
        ("fetch: {contact_email: a@b.org}\nsources:\n  - {id: x, kind: rss, url: 'https://a'}\n  - {id: x, kind: rss, url: 'https://b'}\n", "duplicate source id"),
        ("fetch: [\n", "not valid YAML"),
    ],
)
def test_invalid_sources_named(tmp_path, text, message):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_sources(tmp_path / "absent.yaml")


@pytest.mark.parametrize(("text", "shown"), [("", "the file is empty"), ("- a\n- b\n", "the file is a list, not a mapping")])
def test_sources_file_not_a_mapping(tmp_path, text, shown):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert f"{path}: invalid configuration: {shown}" in str(raised.value)


def test_duplicate_id_without_value_error_prefix(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("fetch: {contact_email: a@b.org}\nsources:\n  - {id: x, kind: rss, url: 'https://a'}\n  - {id: x, kind: rss, url: 'https://b'}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert str(raised.value) == f"{path}: invalid configuration: duplicate source id 'x' (entries 0 and 1, counting from 0)"
