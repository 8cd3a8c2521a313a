"""Tables of real and hand-written cases for the text and identifier normalizers."""

from __future__ import annotations

import pytest

from hub_pipeline.lib.normalize import (
    clean_text,
    find_doi,
    normalize_doi,
    split_arxiv_id,
    split_authors,
    strip_arxiv_prefix,
    title_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  plain   text \n", "plain text"),
        # Nature titles are HTML inside CDATA.
        (
            "Superconductivity in pressurized trilayer La<sub>4</sub>Ni<sub>3</sub>"
            "O<sub>10−<i>δ</i></sub> single crystals",
            "Superconductivity in pressurized trilayer La4Ni3O10−δ single crystals",
        ),
        ("Catalysis of an S<sub>N</sub>2 pathway", "Catalysis of an SN2 pathway"),
        ("<i>Nature</i>’s 10: ten people", "Nature’s 10: ten people"),
        # Escaped once, twice and three times.
        ("Q&amp;A pairs", "Q&A pairs"),
        ("x &amp;lt; y", "x < y"),
        ("H&amp;amp;amp;M", "H&M"),
        ("CO&lt;sub&gt;2&lt;/sub&gt; uptake", "CO2 uptake"),
        ("&#916;G and &#x3b1;", "ΔG and α"),
        # Block elements separate words, inline ones do not.
        ("<h4>Question</h4><div class=\"para\"><p>In many plants</p></div>", "Question In many plants"),
        ("one<br/>two", "one two"),
        ("<p>kept</p><script>alert(1)</script><!-- note -->", "kept"),
        # LaTeX is kept exactly as written.
        ("Whisper $X_m$", "Whisper $X_m$"),
        ("Di$\\mathtt{[M]}$O: Distilling", "Di$\\mathtt{[M]}$O: Distilling"),
        ("the \\texttt{[EOS]} token", "the \\texttt{[EOS]} token"),
        ("gains of \\(+17.84\\) points", "gains of \\(+17.84\\) points"),
        ("when $a<b$ holds", "when $a<b$ holds"),
        ("tokens $\\texttt{<think>}$ and $x <i and j> y$", "tokens $\\texttt{<think>}$ and $x <i and j> y$"),
        # "<" that is no tag stays.
        ("all p<0.001 and (<10%)", "all p<0.001 and (<10%)"),
        ("the <think> block and <eos> token", "the <think> block and <eos> token"),
        ("<s> and </s> markers", "<s> and </s> markers"),
        # Legacy references without ";" are text, not entities.
        ("R&D at AT&T &notation", "R&D at AT&T &notation"),
        # Control and invisible characters go, and tabs and newlines fold to one space.
        ("a\x00b\x1bc\u200bd\ufeff", "abcd"),
        ("one\ttwo\r\nthree\u00a0four", "one two three four"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_is_idempotent():
    text = "CO<sub>2</sub> &amp;amp; $a<b$ <think>"
    assert clean_text(clean_text(text)) == clean_text(text)


@pytest.mark.parametrize(
    ("description", "abstract", "details"),
    [
        (
            "arXiv:2503.14603v1 Announce Type: new \nAbstract: Building high-quality models",
            "Building high-quality models",
            {"arxiv_id": "2503.14603", "version": 1, "announce_type": "new"},
        ),
        (
            "arXiv:2508.16332v3 Announce Type: replace \nAbstract: Controllable human voice",
            "Controllable human voice",
            {"arxiv_id": "2508.16332", "version": 3, "announce_type": "replace"},
        ),
        (
            "arXiv:2501.05310v3 Announce Type: replace-cross \nAbstract: Text",
            "Text",
            {"arxiv_id": "2501.05310", "version": 3, "announce_type": "replace-cross"},
        ),
        (
            "arXiv:hep-th/9901001v2 Announce Type: cross \nAbstract: Old style",
            "Old style",
            {"arxiv_id": "hep-th/9901001", "version": 2, "announce_type": "cross"},
        ),
        ("An abstract without a prefix.", "An abstract without a prefix.", {}),
        ("We cite arXiv:2406.12345 here.", "We cite arXiv:2406.12345 here.", {}),
        ("", "", {}),
    ],
)
def test_strip_arxiv_prefix(description, abstract, details):
    assert strip_arxiv_prefix(description) == (abstract, details)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2406.12345v2", ("2406.12345", 2)),
        ("2406.12345", ("2406.12345", None)),
        ("arXiv:2406.12345", ("2406.12345", None)),
        ("oai:arXiv.org:2503.14603v1", ("2503.14603", 1)),
        ("https://arxiv.org/abs/2406.12345v3", ("2406.12345", 3)),
        ("https://arxiv.org/pdf/2406.12345v1.pdf", ("2406.12345", 1)),
        ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("solv-int/9901001v2", ("solv-int/9901001", 2)),
        ("solv-int/9901001", ("solv-int/9901001", None)),
        ("0704.0001", ("0704.0001", None)),
        ("1412.9999v12", ("1412.9999", 12)),
        ("10.48550/arXiv.2406.12345", ("2406.12345", None)),
        (None, None),
        ("", None),
        ("no identifier here", None),
        # A four-digit number after 1412 and a five-digit one before 1501 do not exist.
        ("2406.1234", None),
        ("1201.12345", None),
        ("2413.12345", None),
        ("0612.1234", None),
        # Digits inside a DOI or a longer number are not an arXiv id.
        ("10.1111/j.1654-1103.2012.12036.x", None),
        ("2406.123456", None),
        ("https://www.nature.com/articles/s41586-023-06789-1", None),
        ("foo/9901001", None),
    ],
)
def test_split_arxiv_id(text, expected):
    assert split_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1038/s41586-023-06951-3", "10.1038/s41586-023-06951-3"),
        ("doi:10.1101/743294", "10.1101/743294"),
        ("DOI: 10.1111/JVS.12120", "10.1111/jvs.12120"),
        ("info:doi/10.1126/science.356.6343.1134-a", "10.1126/science.356.6343.1134-a"),
        ("https://doi.org/10.1038/Nature12373", "10.1038/nature12373"),
        ("http://dx.doi.org/10.1038/nature12373", "10.1038/nature12373"),
        ("10.1038/nature12373.", "10.1038/nature12373"),
        ("10.1038/nature12373;", "10.1038/nature12373"),
        ("10.1038/nature12373),", "10.1038/nature12373"),
        ("10.1002/(SICI)1097-4636(199706)35:4", "10.1002/(sici)1097-4636(199706)35:4"),
        ("10.1002/(SICI)1097-4636(199706)", "10.1002/(sici)1097-4636(199706)"),
        ("10.1111%2Fjvs.12120", "10.1111/jvs.12120"),
        (None, None),
        ("", None),
        ("hwp:resource-id:sci;356/6343/1134-a", None),
        ("11.1234/abc", None),
        ("10.1234", None),
        ("10.12/abc", None),
    ],
)
def test_normalize_doi(raw, expected):
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://onlinelibrary.wiley.com/doi/10.1111/jvs.12345?af=R", "10.1111/jvs.12345"),
        ("https://onlinelibrary.wiley.com/doi/abs/10.1111/jvs.12345#section", "10.1111/jvs.12345"),
        ("http://onlinelibrary.wiley.com/resolve/doi?DOI=10.1111%2Fjvs.12120", "10.1111/jvs.12120"),
        ("http://doi.org/10.1038/s41586-023-06951-3", "10.1038/s41586-023-06951-3"),
        ("http://dx.doi.org/10.1038/NATURE12373", "10.1038/nature12373"),
        ("https://doi.org/10.1002/%28SICI%291097-4636", "10.1002/(sici)1097-4636"),
        ("https://www.biorxiv.org/content/10.1101/2020.03.20.000141v2?rss=1", "10.1101/2020.03.20.000141"),
        ("doi:10.1038/d41586-023-03953-z", "10.1038/d41586-023-03953-z"),
        ("info:doi/10.1126/science.356.6343.1134-a", "10.1126/science.356.6343.1134-a"),
        ("see doi:10.1000/xyz123).", "10.1000/xyz123"),
        # Article links that carry no DOI.
        ("https://www.nature.com/articles/s41586-023-06789-1", None),
        ("http://biorxiv.org/cgi/content/short/743294v1?rss=1", None),
        ("http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1", None),
        ("hwp:resource-id:sci;356/6343/1134-a", None),
        ("https://example.org/page?next=10.1234/abc", None),
        ("", None),
        (None, None),
    ],
)
def test_find_doi(text, expected):
    assert find_doi(text) == expected


@pytest.mark.parametrize(
    ("title", "author", "expected"),
    [
        (
            "Command R7B Arabic: A Small, Enterprise Focused, Multilingual, and Culturally Aware Arabic LLM",
            "Yazeed Alnumay",
            "command r7b arabic a small enterprise focused multilingual and culturally aware arabic llm|alnumay",
        ),
        ("Whisper $X_m$", "Akif Islam", "whisper xm|islam"),
        ("Crème  Brûlée:\n Self-Supervised", "José Müller-Lüdenscheidt", "creme brulee selfsupervised|mullerludenscheidt"),
        ("Food for fungi", "Hines, P. J.", "food for fungi|hines"),
        ("Food for fungi", "Kaur, M.", "food for fungi|kaur"),
        ("A Title", "Martin Luther King Jr.", "a title|king"),
        ("La<sub>4</sub>Ni<sub>3</sub>O<sub>10</sub>", "Yinghao Zhu", "la4ni3o10|zhu"),
        ("CO&amp;lt;sub&amp;gt;2&amp;lt;/sub&amp;gt;", "Ann Lee", "co2|lee"),
        ("Weak identity", None, "weak identity|"),
        ("", "Ann Lee", "|lee"),
    ],
)
def test_title_key(title, author, expected):
    assert title_key(title, author) == expected


def test_title_key_matches_across_sources():
    arxiv = title_key("GenM$^3$: Generative Pretrained Multi-path Motion Model", "Junyu Shi")
    journal = title_key("GenM<sup>3</sup>: generative pretrained multi-path motion model", "Shi, J.")
    assert arxiv == journal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Akif Islam, Raufun Nahar, Md. Ekramul Hamid", ["Akif Islam", "Raufun Nahar", "Md. Ekramul Hamid"]),
        ("Th\\'eo Charlot, Tarek Kunze", ["Th\\'eo Charlot", "Tarek Kunze"]),
        ("J. Tormo, B. Moreira, J.G. Pausas", ["J. Tormo", "B. Moreira", "J.G. Pausas"]),
        ("A. One and B. Two", ["A. One", "B. Two"]),
        ("A. One, B. Two, and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("A. One; B. Two", ["A. One", "B. Two"]),
        ("Alexandra Witze", ["Alexandra Witze"]),
        # "Surname, Initials" lists as bioRxiv and Science write them.
        (" Kaur, M., Shukla, A., Bhati, K. K., Pandey, A. K. ", ["Kaur, M.", "Shukla, A.", "Bhati, K. K.", "Pandey, A. K."]),
        ("Hines, P. J.", ["Hines, P. J."]),
        ("Ash, C., Mueller, K. L.", ["Ash, C.", "Mueller, K. L."]),
        ("Guo, T., Lin, H.-X., Chen, K.", ["Guo, T.", "Lin, H.-X.", "Chen, K."]),
        ("Zhang, a., jiang, x., zhang, x.", ["Zhang, a.", "jiang, x.", "zhang, x."]),
        ("Skiada, V., PAPADOPOULOU, K.", ["Skiada, V.", "PAPADOPOULOU, K."]),
        ("Pereira Mendes, M., Van Dijken, A. J. H.", ["Pereira Mendes, M.", "Van Dijken, A. J. H."]),
        ("", []),
        ("   ", []),
        (None, []),
    ],
)
def test_split_authors(raw, expected):
    assert split_authors(raw) == expected
