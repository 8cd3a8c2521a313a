"""The radar query language: terms and quoted phrases with AND, OR, NOT and parentheses.

    "diffusion model" AND (protein OR molecule) NOT ti:survey

Adjacent terms without an operator are joined by AND. Operators are upper-case words, so a
lower-case "and" or "or" is an ordinary term; ``lowercase_operators`` finds them so that the
config loader can warn. A term may be scoped to one field with ``ti:``,
``abs:``, ``au:`` or ``cat:``; unscoped terms look in the title and the abstract. A trailing
``*`` makes a term a prefix (``diffus*``). Matching is case-insensitive on word boundaries and
accepts an English plural (``model`` hits "models"); a term written in Chinese characters
matches as a substring, since Chinese has no spaces between words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

FIELDS = {"ti": "title", "abs": "abstract", "au": "authors", "cat": "categories"}
_DEFAULT_FIELDS = ("title", "abstract")
_OPERATORS = {"AND", "OR", "NOT"}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r'\s*(?:(?P<paren>[()])|(?P<phrase>(?:[a-z]+:)?"[^"]*"?)|(?P<word>[^\s()"]+))')


class QuerySyntaxError(ValueError):
    """A radar query that cannot be parsed; the message gives the position and the reason."""

    def __init__(self, query: str, position: int, reason: str) -> None:
        self.query = query
        self.position = position
        self.reason = reason
        # The query is shown on one line (a YAML block string may hold line breaks), and the
        # caret is indented by display columns, two for each wide (CJK) character.
        one_line = query.rstrip().replace("\n", " ").replace("\t", " ")
        indent = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in one_line[:position])
        super().__init__(f"invalid query at position {position}: {reason}\n  {one_line}\n  {' ' * indent}^")


@dataclass(frozen=True, slots=True)
class Hit:
    """A term that matched a paper: the term as written, the field, and how often."""

    term: str
    field: str
    count: int


@dataclass(slots=True)
class Node:
    kind: str  # "term", "and", "or", "not"
    children: list["Node"] = field(default_factory=list)
    term: str = ""
    fields: tuple[str, ...] = _DEFAULT_FIELDS
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "term"
    text: str
    position: int


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = _TOKEN.match(query, position)
        if match is None:  # pragma: no cover - the pattern accepts every non-space character
            raise QuerySyntaxError(query, position, "unexpected character")
        start = match.start(match.lastgroup or 0)
        text = match.group(match.lastgroup or 0)
        if match.lastgroup == "paren":
            tokens.append(Token(text, text, start))
        elif match.lastgroup == "phrase":
            if not text.endswith('"') or text.endswith(':"'):
                raise QuerySyntaxError(query, start, "unclosed quote")
            tokens.append(Token("term", text, start))
        elif text in _OPERATORS:
            tokens.append(Token(text, text, start))
        else:
            tokens.append(Token("term", text, start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, reason: str) -> QuerySyntaxError:
        token = self.peek()
        position = token.position if token else len(self.query.rstrip())
        return QuerySyntaxError(self.query, position, reason)

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError(self.query, 0, "the query is empty")
        node = self.parse_or()
        if self.peek() is not None:
            token = self.peek()
            assert token is not None
            reason = "unmatched ')'" if token.kind == ")" else f"unexpected {token.text!r}"
            raise self.fail(reason)
        if not _needs_hit(node):
            # Such a query matches papers without naming what in them matched.
            first_not = next(token.position for token in self.tokens if token.kind == "NOT")
            raise QuerySyntaxError(
                self.query, first_not, "the query can match a paper through NOT alone; add a term to match, as in 'diffusion NOT audio'"
            )
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Node("or", children)

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while (token := self.peek()) is not None and token.kind in {"AND", "NOT", "term", "("}:
            if token.kind == "AND":
                self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else Node("and", children)

    def parse_not(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            return Node("not", [self.parse_not()])
        return self.parse_atom()

    def parse_atom(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("the query ends where a term or '(' was expected")
        if token.kind == "(":
            self.take()
            node = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QuerySyntaxError(self.query, token.position, "'(' is never closed")
            self.take()
            return node
        if token.kind == "term":
            self.take()
            return _term_node(self.query, token)
        raise self.fail(f"expected a term or '(' but found {token.text!r}")


def _term_node(query: str, token: Token) -> Node:
    text = token.text
    fields = _DEFAULT_FIELDS
    scope, colon, rest = text.partition(":")
    if colon and scope in FIELDS:
        fields = (FIELDS[scope],)
        text = rest
    elif colon and scope.isalpha() and rest and not rest.startswith("//"):
        known = ", ".join(f"{name}:" for name in FIELDS)
        raise QuerySyntaxError(query, token.position, f"unknown field {scope!r}; use one of {known}")
    phrase = text.startswith('"')
    words_text = text.strip('"').strip()
    if not words_text and fields is not _DEFAULT_FIELDS:
        raise QuerySyntaxError(
            query, token.position, f"'{scope}:' needs a term or a quoted phrase right after it, as in {scope}:diffusion"
            f" (a scope applies to one term: write {scope}:a OR {scope}:b)"
        )
    if not words_text:
        raise QuerySyntaxError(query, token.position, "empty term")
    if not words_text.strip("*"):
        raise QuerySyntaxError(query, token.position, "a wildcard needs a word before '*', as in 'diffus*'")
    inner = words_text[:-1]
    if "*" in inner:
        # Only a prefix is supported: diffus* is any word that starts with diffus.
        offset = token.text.index(words_text) + inner.index("*")
        raise QuerySyntaxError(query, token.position + offset, "'*' may only end a term, as in 'diffus*'")
    return Node("term", term=words_text, fields=fields, pattern=_compile_term(words_text, phrase))


def _needs_hit(node: Node) -> bool:
    """Return whether every paper the node matches has a hit on some term."""
    if node.kind == "term":
        return True
    if node.kind == "not":
        return False
    if node.kind == "and":
        return any(_needs_hit(child) for child in node.children)
    return all(_needs_hit(child) for child in node.children)


def _compile_term(text: str, phrase: bool) -> re.Pattern[str]:
    lowered = text.lower()
    if _CJK.search(lowered):
        return re.compile(re.escape(lowered))
    prefix = lowered.endswith("*")
    words = lowered.rstrip("*").split()
    body = r"[\W_]+".join(re.escape(word) for word in words)
    # A plural suffix on the last word: "model" hits "models", "process" hits "processes".
    tail = r"\w*" if prefix else r"(?:s|es)?"
    return re.compile(rf"(?<!\w){body}{tail}(?!\w)")


def lowercase_operators(query: str) -> list[Token]:
    """Find words such as "or" that sit where an operator would and are searched as words.

    Operators are upper-case only, so "diffusion or flow" requires all three words. An "and" or
    "or" is reported when a term or ")" comes before it and a term, "(" or NOT after it. A "not"
    is reported when a term or "(" comes after it. Quoted phrases ("or") are never reported.
    """
    tokens = tokenize(query)
    found = []
    for index, token in enumerate(tokens):
        operator = token.text.upper()
        if token.kind != "term" or operator not in _OPERATORS or token.text == operator:
            continue
        before = tokens[index - 1].kind if index > 0 else None
        after = tokens[index + 1].kind if index + 1 < len(tokens) else None
        if operator == "NOT":
            if after in {"term", "("}:
                found.append(token)
        elif before in {"term", ")"} and after in {"term", "(", "NOT"}:
            found.append(token)
    return found


def parse_query(query: str) -> Node:
    """Parse a query into a tree; raise QuerySyntaxError naming the position on bad input."""
    return _Parser(query).parse()


def evaluate(node: Node, texts: dict[str, str]) -> tuple[bool, list[Hit]]:
    """Match a parsed query against lower-cased field texts; return (matched, hits)."""
    if node.kind == "term":
        assert node.pattern is not None
        hits = []
        for field_name in node.fields:
            count = len(node.pattern.findall(texts.get(field_name, "")))
            if count:
                hits.append(Hit(node.term, field_name, count))
        return bool(hits), hits
    if node.kind == "not":
        matched, _ = evaluate(node.children[0], texts)
        return not matched, []
    results = [evaluate(child, texts) for child in node.children]
    combine: Callable[[object], bool] = all if node.kind == "and" else any
    matched = combine(result[0] for result in results)
    hits = [hit for child_matched, child_hits in results if child_matched for hit in child_hits]
    return matched, hits if matched else []
