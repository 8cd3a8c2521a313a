"""Hostile titles, abstracts, authors and links go through the whole pipeline and stay inert in
every generated page, checked by loading each page in headless Chromium.

Each page is loaded as written and again with its Content-Security-Policy removed, so the test
shows that escaping alone keeps the payloads inert, not only the policy.
"""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_day

DAY = "2025-03-20"
# Each payload, if it ever ran, would rename the page and mark the root element.
RUN = "document.title='PWNED';document.documentElement.setAttribute('data-pwned','1')"
RADARS = """radars:
  - {id: hostile-en, name: Hostile feed, language: en, query: 'ti:hostile'}
  - {id: hostile-zh, name: 恶意订阅源, language: zh-CN, query: 'ti:hostile'}
"""
_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>', re.IGNORECASE)


def _escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hostile_feed() -> str:
    items = [
        (f'Hostile svg <svg onload="{RUN}">x</svg> title', "https://example.org/1", f'<details open ontoggle="{RUN}">abstract</details>', "Eve"),
        (f"Hostile script <script>{RUN}</script> title", f"javascript:{RUN}", f"<script>{RUN}</script> abstract text", f'<svg/onload="{RUN}">'),
        (f'Hostile link <a href="javascript:{RUN}">click</a> title', "https://example.org/3", f'<iframe srcdoc="<script>{RUN}</script>"></iframe> text', "Mallory"),
        (f"Hostile escaped &lt;img src=x onerror=\"{RUN}\"&gt; title", "https://example.org/4", f"&lt;script&gt;{RUN}&lt;/script&gt; escaped", "Trudy"),
    ]
    body = "".join(
        f"<item><title>{_escape_xml(title)}</title><link>{_escape_xml(link)}</link>"
        f"<description>{_escape_xml(abstract)}</description><dc:creator>{_escape_xml(author)}</dc:creator>"
        "<pubDate>Thu, 20 Mar 2025 10:00:00 GMT</pubDate></item>"
        for title, link, abstract, author in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Hostile</title><link>https://example.org</link><description>d</description>{body}</channel></rss>\n"
    )


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self._in_title = False
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.text.append(data)


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed, so the pages are not loaded in a browser")
    root = tmp_path_factory.mktemp("inert")
    feed = root / "hostile.xml"
    feed.write_text(_hostile_feed(), encoding="utf-8")
    sources = root / "sources.yaml"
    sources.write_text(
        "fetch: {contact_email: tests@example.org, max_attempts: 1}\n"
        f"sources:\n  - {{id: hostile, kind: rss, name: Hostile, url: '{feed.as_uri()}'}}\n",
        encoding="utf-8",
    )
    radars = root / "radars.yaml"
    radars.write_text(RADARS, encoding="utf-8")
    result = run_day(root / "data", DAY, sources, radars)
    assert result.success
    return chromium, root / "data" / "site", root


def test_hostile_text_reaches_the_pages(hostile_site):
    _, site_dir, _ = hostile_site
    page = (site_dir / "hostile-en" / f"{DAY}.html").read_text(encoding="utf-8")
    # The payloads are shown as text, escaped: the reader sees what the feed sent.
    assert "onload=&#34;document.title" in page or "onload=&quot;document.title" in page
    assert "Hostile" in page


def test_every_page_inert_in_chromium(hostile_site):
    chromium, site_dir, root = hostile_site
    pages = sorted(site_dir.rglob("*.html"))
    feeds = sorted([*site_dir.rglob("*.atom"), *site_dir.rglob("*.xml")])
    assert len(pages) == 5  # the site index, and an index and a day page per radar
    assert len(feeds) == 2  # an Atom feed per radar
    loaded = 0
    for page in [*pages, *feeds]:
        original = page.read_text(encoding="utf-8")
        without_policy = page.with_name(page.stem + ".no-csp" + page.suffix)
        without_policy.write_text(_CSP_META.sub("", original), encoding="utf-8")
        for variant in (page, without_policy):
            dom_text = _dump_dom(chromium, variant, root / f"profile-{loaded}")
            loaded += 1
            dom = _Dom()
            dom.feed(dom_text)
            assert "PWNED" not in dom.title, f"a script ran in {variant}"
            for tag, attrs in dom.tags:
                assert "data-pwned" not in attrs, f"a script marked <{tag}> in {variant}"
                assert tag not in ("script", "iframe", "svg", "details"), f"<{tag}> from the feed is live in {variant}"
                assert not [name for name in attrs if name.startswith("on")], f"<{tag}> has a handler in {variant}"
                assert not attrs.get("href", "").strip().lower().startswith("javascript:"), f"javascript: link in {variant}"
        without_policy.unlink()
    assert loaded == 2 * (len(pages) + len(feeds))
