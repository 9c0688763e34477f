"""Stories: /story, /split, /merge."""

from __future__ import annotations

from collections.abc import Sequence

from bot.articles.plaintext import shorten
from bot.i18n import Translator
from bot.telegram.lengths import tg_len
from bot.texts.common import MAX_ECHO, code, echo, usage
from storage.records import Member

# ---- stories

STORY_SHOWN = 25  # /story lists at most this many of a story's articles,
STORY_BUDGET = 3_500  # in this many UTF-16 units, leaving room for the head and the hint


def story_text(t: Translator, article_id: int, members: Sequence[Member]) -> str:
    """/story: the story of ``article_id``, earliest article first."""
    if len(members) <= 1:
        return t._(
            "Article {id} is a story of its own: no other article reports it.", id=article_id
        )
    head = t.ngettext(
        "<b>The story of article {id}</b>: {n} article",
        "<b>The story of article {id}</b>: {n} articles",
        len(members),
        id=article_id,
    )
    lines: list[str] = []
    used = 0
    for m in members[:STORY_SHOWN]:
        line = (
            f"<code>{m.id}</code> {echo(m.source, 30)} · {t.stamp(m.published_at)} · "
            f"{echo(m.title, 80)}"
        )
        # Telegram counts UTF-16 units of the visible text: an emoji is two, a flag four.
        size = tg_len(line) + 1
        if used + size > STORY_BUDGET:
            break
        lines.append(line)
        used += size
    if len(members) > len(lines):
        lines.append(t._("… and {n} more", n=len(members) - len(lines)))
    hint = t._("Take one out with {example}.", example=code(f"/split {members[-1].id}"))
    return "\n".join([head, *lines, "", hint])


def split_done(t: Translator, article_id: int, others: int) -> str:
    if not others:
        return t._(
            "Article {id} is a story of its own already; nothing to take out of.", id=article_id
        )
    return t.ngettext(
        "✂️ Article {id} is a story of its own now; {n} other article keeps the story.",
        "✂️ Article {id} is a story of its own now; {n} other articles keep the story.",
        others,
        id=article_id,
    )


def merge_problem(t: Translator, typed: str) -> str:
    shown = shorten(typed, MAX_ECHO, fold=True)
    problem = (
        t._("'{typed}' is not two article ids.", typed=shown)
        if shown
        else t._("Which two articles?")
    )
    return usage(t, "merge", "42 57", problem)


def merge_same(t: Translator, first: int, second: int) -> str:
    if first == second:
        return t._("That is one article twice; name two different ones.")
    return t._("Articles {a} and {b} are one story already.", a=first, b=second)


def merged(t: Translator, article_id: int, count: int) -> str:
    return t.ngettext(
        "🔗 Joined: the story now has {n} article. /story {id} shows it.",
        "🔗 Joined: the story now has {n} articles. /story {id} shows it.",
        count,
        id=article_id,
    )
