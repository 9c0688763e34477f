"""The article text format and its parser.

The grammar is written down in README.md ("The article format"); this module follows it.
Nothing here touches the database or Telegram: it turns text into a `ParsedArticle` or
raises `ArticleFormatError` that names the line and what was expected.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.articles.plaintext import one_line, shorten
from bot.articles.summary import summary_line
from bot.articles.tags import MAX_TAG_LENGTH, split_tag_list
from bot.i18n import N_, Msg, Problem
from storage.records import ParsedArticle, Tag, folded

MAX_TITLE_LENGTH = 300
MAX_FIELD_LENGTH = 100
MAX_URL_LENGTH = 2048
# A digest shows an article's tags on one line; 30 of the longest (50 characters) still
# leave its headline and summary room in one 4,096-character message.
MAX_TAGS = 30
MAX_ARTICLE_BYTES = 1_000_000
QUOTED = 60  # how much of a line a problem quotes back

HEADER_EXPECTED = N_("expected '<Category> <ISO timestamp>'")
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


class ArticleFormatError(Problem):
    """The text is not an article; ``line`` is 1-based, or None for the file as a whole.
    The template and parameters say the reason; ``str()`` is "line N: reason"."""

    def __init__(self, line: int | None, template: str, /, **params: object) -> None:
        super().__init__(template, **params)
        self.line = line
        self.reason = str(self.args[0])
        if line is not None:
            self.args = (f"line {line}: {self.reason}",)


# Unicode's control characters (Cc: C0, DEL, C1) and surrogates (Cs) but the tab: sets
# Unicode's stability policy fixes. One search a line, not a category look-up a character.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _check_characters(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        if found := _CONTROL.search(line):
            raise ArticleFormatError(
                number,
                N_("unexpected control character U+{code}; expected plain text"),
                code=f"{ord(found.group()):04X}",
            )


def _parse_header(line: str, number: int) -> tuple[str, datetime]:
    expected = HEADER_EXPECTED
    category, _, stamp = line.rpartition(" ")
    category = category.strip()
    if not category or not stamp:
        raise ArticleFormatError(
            number, N_("{expected}, got '{line}'"), expected=expected, line=shorten(line, QUOTED)
        )
    try:
        published = datetime.fromisoformat(stamp)
    except ValueError:
        raise ArticleFormatError(
            number,
            N_("{expected}, got '{line}': '{stamp}' is not an ISO timestamp"),
            expected=expected,
            line=shorten(line, QUOTED),
            stamp=shorten(stamp, 40),
        ) from None
    if published.tzinfo is None or published.utcoffset() is None:
        raise ArticleFormatError(
            number,
            N_("{expected}: the timestamp '{stamp}' needs a UTC offset, e.g. +03:00 or Z"),
            expected=expected,
            stamp=shorten(stamp, 40),
        )
    if len(category) > MAX_FIELD_LENGTH:
        raise ArticleFormatError(
            number, N_("category is longer than {limit} characters"), limit=MAX_FIELD_LENGTH
        )
    return category, published


def _blocks(lines: list[str], first: int) -> list[tuple[int, list[str]]]:
    """Group lines from index ``first`` into blank-line separated blocks (1-based line)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for index in range(first, len(lines)):
        line = lines[index]
        if line.strip():
            if not current:
                start = index + 1
            current.append(line.strip())
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _link(block: list[str]) -> str | None:
    if len(block) == 1 and _URL.fullmatch(block[0]):
        return block[0]
    return None


def _checked_link(url: str, number: int) -> str:
    if len(url) > MAX_URL_LENGTH:
        raise ArticleFormatError(
            number,
            N_("the link is {length:,} characters long; at most {limit:,}"),
            length=len(url),
            limit=MAX_URL_LENGTH,
        )
    return url


def _single_line(value: str, number: int, what: Msg, limit: int) -> str:
    value = one_line(value).strip()
    if not value:
        raise ArticleFormatError(number, N_("expected {what}, got an empty line"), what=what)
    if len(value) > limit:
        raise ArticleFormatError(
            number, N_("{what} is longer than {limit} characters"), what=what, limit=limit
        )
    return value


def _take_link(blocks: list[tuple[int, list[str]]], where: int) -> str | None:
    """Remove and return the link line at ``blocks[where]``, if that block is one."""
    if not blocks or (found := _link(blocks[where][1])) is None:
        return None
    url = _checked_link(found, blocks[where][0])
    blocks.pop(where)
    return url


# A paragraph, not a tags line: ends a sentence, and says more than tags do.
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
_PROSE_WORDS = 5


def _is_prose(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) and len(line.split()) >= _PROSE_WORDS


def _take_tags(blocks: list[tuple[int, list[str]]], last_line: int) -> tuple[int, list[Tag]]:
    """Remove the tags block from the front of ``blocks``; its line and its tags."""
    if not blocks:
        raise ArticleFormatError(
            last_line, N_("expected a line of comma-separated tags, got the end of the file")
        )
    if _is_prose(blocks[0][1][0]):
        # The body follows the title directly: read as tags, its lead paragraph made a
        # long tag, or left no body ("expected body paragraphs", past the last line).
        raise ArticleFormatError(
            blocks[0][0],
            N_(
                "the tags line is missing: expected one line of comma-separated tags "
                "(e.g. 'economy, Europe') before the body"
            ),
        )
    tags_line, tags_block = blocks.pop(0)
    if len(tags_block) != 1:
        raise ArticleFormatError(
            tags_line, N_("expected one line of comma-separated tags followed by a blank line")
        )
    tags = split_tag_list(tags_block[0])
    if not tags:
        raise ArticleFormatError(
            tags_line, N_("expected at least one tag, e.g. 'economy, Europe'")
        )
    if len(tags) > MAX_TAGS:
        raise ArticleFormatError(
            tags_line,
            N_("expected at most {limit} tags, got {count}"),
            limit=MAX_TAGS,
            count=len(tags),
        )
    for tag in tags:
        if len(tag.name) > MAX_TAG_LENGTH:
            raise ArticleFormatError(
                tags_line,
                N_(
                    "tag '{tag}' is longer than {limit} characters; "
                    "expected a line of comma-separated tags"
                ),
                tag=shorten(tag.name, 30),
                limit=MAX_TAG_LENGTH,
            )
    return tags_line, tags


def _check_body_blocks(blocks: list[tuple[int, list[str]]], tags_line: int) -> None:
    if not blocks:
        raise ArticleFormatError(
            tags_line, N_("expected body paragraphs after the tags line, got the end of the file")
        )
    for line_number, block in blocks:
        if _link(block) is not None:
            raise ArticleFormatError(
                line_number,
                N_("a link line may stand only before the tags or as the last paragraph"),
            )


def parse_article(text: str) -> ParsedArticle:
    """Parse one article; raise `ArticleFormatError` on anything else."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ARTICLE_BYTES:
        raise ArticleFormatError(
            None, N_("article is larger than {limit:,} bytes"), limit=MAX_ARTICLE_BYTES
        )
    text = text.removeprefix("\ufeff")
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    _check_characters(lines)
    # Blank lines before the header are tolerated; line numbers stay those of the file.
    offset = next((i for i, line in enumerate(lines) if line.strip()), None)
    if offset is None:
        raise ArticleFormatError(1, N_("{expected}, got an empty file"), expected=HEADER_EXPECTED)

    def line_at(index: int) -> str:
        return lines[index].strip() if index < len(lines) else ""

    category, published = _parse_header(line_at(offset), offset + 1)
    source = _single_line(line_at(offset + 1), offset + 2, N_("the source name"), MAX_FIELD_LENGTH)
    title = _single_line(line_at(offset + 2), offset + 3, N_("the title"), MAX_TITLE_LENGTH)
    if extra := line_at(offset + 3):
        raise ArticleFormatError(
            offset + 4,
            N_("expected a blank line after the title, got '{line}'"),
            line=shorten(extra, QUOTED),
        )

    blocks = _blocks(lines, offset + 3)
    # Optional blocks before the tags: the repeated title, then a link line.
    if blocks and folded(" ".join(blocks[0][1])) == folded(title):
        blocks.pop(0)
    url = _take_link(blocks, 0)
    tags_line, tags = _take_tags(blocks, len(lines))
    # Optional link line as the last paragraph, when none stood before the tags.
    if url is None:
        url = _take_link(blocks, -1)
    _check_body_blocks(blocks, tags_line)
    body = "\n\n".join("\n".join(block) for _, block in blocks)
    summary = summary_line(body)
    if not summary:
        raise ArticleFormatError(blocks[0][0], N_("expected a body paragraph with text"))
    return ParsedArticle(
        category=category,
        published_at=published,
        source=source,
        title=title,
        tags=tuple(tags),
        body=body,
        summary=summary,
        url=url,
    )


def parse_article_bytes(data: bytes) -> ParsedArticle:
    """Decode UTF-8 (with or without a BOM) and parse."""
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleFormatError(
            None, N_("article is larger than {limit:,} bytes"), limit=MAX_ARTICLE_BYTES
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ArticleFormatError(
            data.count(b"\n", 0, error.start) + 1, N_("expected UTF-8 text, got undecodable bytes")
        ) from None
    return parse_article(text)
