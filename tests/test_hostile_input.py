"""Hostile and broken input through the pipeline: each payload is a clear error or a correct parse."""

from datetime import datetime, timezone

import duckdb
import pytest
import yaml

from hub_pipeline.lib.config import ConfigError, load_sources
from hub_pipeline.lib.xml_safety import xml_hazard
from tests.conftest import run_day
from tests.http_fixtures import Reply, serve

DAY = "2025-03-20"
SECRET = "TOP-SECRET-FROM-A-LOCAL-FILE"


def _rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>', doctype: str = "") -> str:
    return (
        f'{prolog}\n{doctype}<rss version="2.0"><channel><title>Journal</title><link>https://example.org</link>'
        f"<description>d</description>{items}</channel></rss>\n"
    )


def _item(title: str = "A title", link: str = "https://example.org/a", abstract: str = "An abstract.", date: str = "Thu, 20 Mar 2025 10:00:00 GMT") -> str:
    link_element = f"<link>{link}</link>" if link else ""
    return f"<item><title>{title}</title>{link_element}<description>{abstract}</description><pubDate>{date}</pubDate></item>"


def _bomb() -> str:
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    return _rss(_item(title="&l9;"), doctype="<!DOCTYPE rss [" + "".join(levels) + "]>")


def _write_config(path, sources, max_bytes=None):
    fetch = {"contact_email": "tests@example.org", "max_attempts": 1}
    if max_bytes:
        fetch["max_bytes"] = max_bytes
    path.write_text(yaml.safe_dump({"fetch": fetch, "sources": sources}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_day(tmp_path_factory, fixtures):
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    payloads = {
        "xxe": _rss(_item(title="A &xxe; B"), doctype=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>').encode(),
        "bomb": _bomb().encode(),
        "oversize": _rss("".join(_item(title=f"Item {n}", link=f"https://example.org/{n}") for n in range(50))).encode(),
        "truncated": _rss(_item(title="One", link="https://example.org/1") + _item(title="Two", link="https://example.org/2")).encode()[:-80],
        "wrong-charset": _rss(_item(title="Café Über Straße", link="https://example.org/cafe")).encode("latin-1"),
        "missing-charset": _rss(_item(title="Naïve Bayes für Ärzte", link="https://example.org/naive"), prolog="").encode("latin-1"),
        "odd-items": _rss(
            _item(title="Control\x01 chars\x1b here", link="https://example.org/control")
            + _item(title="Escaped CDATA", link="https://example.org/cdata", abstract="&lt;![CDATA[Text kept, <b>bold</b> removed]]&gt;")
            + _item(title="No time zone", link="https://example.org/no-tz", date="2025-03-20 10:00:00")
            + _item(title="French date", link="https://example.org/fr", date="jeu., 20 mars 2025 10:00:00 +0100")
            + _item(title="", link="https://example.org/untitled", abstract="A paper whose title is missing.")
            + _item(title="Without a link", link="")
            + _item(title="", link="", abstract="Neither title nor link.")
        ).encode(),
    }
    sources = []
    for name, body in payloads.items():
        path = root / f"{name}.xml"
        path.write_bytes(body)
        source = {"id": name, "kind": "rss", "url": path.as_uri()}
        if name == "oversize":
            source["max_bytes"] = 2000  # this payload is about 8 kB
        sources.append(source)
    latin1 = fixtures / "tricky" / "nonutf8_iso-8859-1_rss2.0_inovacaotecnologica-science-news.xml"
    sources.append({"id": "latin1", "kind": "rss", "url": latin1.resolve().as_uri()})

    data_dir = root / "data"
    result = run_day(data_dir, DAY, _write_config(root / "sources.yaml", sources))
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        log = {row[0]: row[1:] for row in conn.execute("SELECT source_id, outcome, items, reason, payload_sha256 FROM fetch_log").fetchall()}
        entries = conn.execute("SELECT source_id, title, abstract, link, published FROM raw.entries ORDER BY source_id, item_index").fetchall()
        dumped = "\n".join(
            repr(conn.execute(f"SELECT * FROM {table}").fetchall())
            for (table,) in conn.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
        )
    return data_dir, result, log, entries, dumped


def test_run_succeeds_with_every_hostile_source(hostile_day):
    assert hostile_day[1].success


@pytest.mark.parametrize("source", ["xxe", "bomb"])
def test_entity_payloads_are_source_errors(hostile_day, source):
    data_dir, _, log, _, _ = hostile_day
    outcome, items, reason, digest = log[source]
    assert (outcome, items) == ("source_error", 0)
    assert "declares XML entities" in reason
    assert (data_dir / "raw" / digest[:2] / f"{digest}.bin").is_file(), "the refused payload is kept"


def test_xxe_never_reads_the_local_file(hostile_day):
    data_dir, _, _, _, dumped = hostile_day
    assert SECRET not in dumped
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".bin":  # .bin: the stored payloads, which name the file
            assert SECRET.encode() not in path.read_bytes(), path


def test_oversize_payload_refused_by_source_limit(hostile_day):
    outcome, items, reason, digest = hostile_day[2]["oversize"]
    assert (outcome, items, digest) == ("source_error", 0, None)
    assert "larger than FetchSettings.max_bytes (2000)" in reason


def test_truncated_payload_is_a_parse_error(hostile_day):
    outcome, items, reason, _ = hostile_day[2]["truncated"]
    assert (outcome, items) == ("parse_error", 0)
    assert "source 'truncated': payload is truncated" in reason
    assert DAY in reason


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("wrong-charset", "Café Über Straße"),
        ("missing-charset", "Naïve Bayes für Ärzte"),
        # Read by hand: `iconv -f latin1 -t utf8 <fixture> | grep -o "<title>[^<]*</title>"`.
        ("latin1", "Revolução nas telas com pontos quânticos impressos em 3D"),
    ],
)
def test_charsets_decoded(hostile_day, source, title):
    outcome = hostile_day[2][source][0]
    titles = [row[1] for row in hostile_day[3] if row[0] == source]
    assert outcome == "loaded"
    assert title in titles


def test_odd_items_parsed(hostile_day):
    outcome, items, reason, _ = hostile_day[2]["odd-items"]
    rows = {row[3]: row for row in hostile_day[3] if row[0] == "odd-items"}
    assert outcome == "loaded"
    assert items == 6
    assert "has neither a title nor a link; dropped" in reason
    assert rows["https://example.org/control"][1] == "Control chars here"
    assert rows["https://example.org/cdata"][2] == "Text kept, bold removed"
    assert rows["https://example.org/no-tz"][4] == datetime(2025, 3, 20, 10, 0, tzinfo=timezone.utc)
    assert rows["https://example.org/fr"][4] is None  # a date feedparser cannot read is left empty, not guessed
    assert rows["https://example.org/untitled"][1] == ""
    assert rows[None][1] == "Without a link"


def test_dropped_item_counted_by_check(hostile_day):
    evaluations = {e.check_name: e for e in hostile_day[1].get_asset_check_evaluations()}
    counts = evaluations["expected_vs_observed_counts"].metadata["sources"].value
    assert counts["odd-items"] == {"expected": 7, "observed": 6}


def test_hazard_found_only_in_entity_declarations():
    assert xml_hazard(_bomb().encode())
    netscape = '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss/>'
    assert xml_hazard(netscape.encode()) is None
    assert xml_hazard(_rss(_item()).encode()) is None


def test_hostile_and_truncated_refetch_keep_the_good_day(tmp_path, fixtures):
    nature = (fixtures / "journals" / "nature_rss1.0-rdf_prism_2023-12-15_75items.rdf.xml").read_bytes()
    today = datetime.now(timezone.utc).date().isoformat()
    routes = {
        "/nature.rss": [
            Reply(200, nature, {"Content-Type": "application/rdf+xml"}),
            Reply(200, nature[: len(nature) // 2], {"Content-Type": "application/rdf+xml"}),
            Reply(200, _bomb().encode(), {"Content-Type": "application/rss+xml"}),
        ]
    }
    with serve(routes) as server:
        sources = _write_config(tmp_path / "sources.yaml", [{"id": "nature", "kind": "rss", "url": server.url("/nature.rss")}])
        results = [run_day(tmp_path / "data", today, sources) for _ in range(3)]

    assert all(result.success for result in results)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        outcome, items, reason = conn.execute("SELECT outcome, items, reason FROM fetch_log").fetchone()
        attempts = [row[0] for row in conn.execute("SELECT outcome FROM raw.fetch_attempts ORDER BY fetched_at").fetchall()]
        papers = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    # 75 <item> elements in the stored Nature feed.
    assert (outcome, items, papers) == ("loaded", 75, 75)
    assert "a later attempt ended in source_error" in reason
    assert attempts == ["fetched", "fetched", "source_error"]


def test_size_limit_must_be_positive(tmp_path):
    config = _write_config(tmp_path / "sources.yaml", [{"id": "x", "kind": "rss", "url": "https://example.org/x", "max_bytes": 0}])
    with pytest.raises(ConfigError, match="max_bytes"):
        load_sources(config)
