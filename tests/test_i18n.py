"""Languages: complete catalogs, Ukrainian plurals, dates, weekdays typed in either
language, and every text valid Telegram HTML in every language."""

from __future__ import annotations

import ast
import collections.abc
import importlib
import inspect
import io
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import is_dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import Enum
from functools import cache
from pathlib import Path
from types import SimpleNamespace, UnionType
from typing import Any, BinaryIO, Literal, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from hypothesis import given
from hypothesis import strategies as st
from telegram.constants import MessageLimit

from bot import texts
from bot.articles.format import ArticleFormatError, parse_article
from bot.config import ConfigError, load_settings
from bot.feeds.model import FeedAdded, OpmlReport, PollResult
from bot.feeds.policy import FeedStatus, FeedView
from bot.feeds.views import FEEDS_PAGE_SIZE
from bot.i18n import (
    DOMAIN,
    N_,
    Msg,
    Problem,
    Translator,
    catalog_path,
    choose,
    languages,
    translator,
)
from bot.subscriptions.model import SubscribeResult, Suggestion, UnsubscribeResult
from bot.subscriptions.schedule import Frequency, ScheduleError, parse_frequency, parse_weekday
from bot.telegram import buttons
from bot.texts import digest as digest_texts
from bot.words.keywords import MAX_QUERY_LENGTH, TermError, parse_terms
from bot.words.model import RemoveResult, WordsResult
from emulator.html import parse_html
from emulator.utf16 import utf16_len
from scripts.catalogs import marked_calls, marked_text, problems, template
from storage.records import ChatCounts, Member, Outcome, Stats, WordKind
from storage.repo import Forgotten
from tests.auxil.data import ROOT

EN, UK = translator("en"), translator("uk")


@cache  # read once: a hypothesis test asks for it in every example (200 ms when loaded)
def _catalog(code: str) -> Catalog:
    with catalog_path(code).open("rb") as po:
        return read_po(po, locale=code, domain=DOMAIN)


# ---- the catalogs


def test_the_bot_speaks_english_and_ukrainian() -> None:
    assert languages() == ("en", "uk")


@pytest.mark.parametrize("code", ["en", "uk"])
def test_every_text_is_translated_with_the_same_placeholders(code: str) -> None:
    catalog = _catalog(code)
    assert problems(catalog) == []
    source = {m.id for m in template() if m.id}
    assert {m.id for m in catalog if m.id} == source, "run `make catalogs`"


def test_the_check_finds_untranslated_fuzzy_and_mismatched_entries() -> None:
    catalog = Catalog(locale="uk", domain=DOMAIN, fuzzy=False)
    catalog.add("Hello {name}", "")
    catalog.add("Bye {name}", "Бувай {name}", flags=["fuzzy"])
    catalog.add("Saved {count}", "Збережено {кількість}")
    catalog.add("<b>Stats</b>", "Статистика")
    catalog.add(("{n} article", "{n} articles"), ("{n} стаття", "{n} статті", "{n} статей {x}"))
    found = problems(catalog)
    assert found == [
        "untranslated or fuzzy: 'Hello {name}'",
        "untranslated or fuzzy: 'Bye {name}'",
        "placeholders ['{кількість}'] instead of ['{count}']: 'Saved {count}'",
        "HTML tags differ: '<b>Stats</b>'",
        "placeholders ['{n}', '{x}'] instead of ['{n}']: '{n} article'",
    ]
    catalog.fuzzy = True
    assert problems(catalog)[0] == "the header is fuzzy, so its plural rule would be ignored"


def test_the_ukrainian_catalog_keeps_its_three_plural_forms() -> None:
    assert _catalog("uk").num_plurals == 3


# ---- plurals


def _ukrainian_form(n: int) -> int:
    """CLDR's rule for Ukrainian integers: one (1, 21, 31…), few (2–4, 22–24…), many."""
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


NEW_STORIES = ("{n} new story", "{n} new stories")


def header(t: Translator, new: int, updates: int = 0, **where: bool) -> str:
    return digest_texts.digest_header(
        t, new, updates, group=where.get("group", False), weekly=where.get("weekly", False)
    )


@given(st.integers(min_value=0, max_value=200))
def test_ukrainian_plurals_follow_the_cldr_rule(n: int) -> None:
    message = _catalog("uk").get(NEW_STORIES)
    assert message is not None
    assert isinstance(message.string, tuple)
    expected = message.string[_ukrainian_form(n)].format(n=n)
    assert header(UK, n) == f"📰 Ваш дайджест: {expected}"
    assert header(EN, n) == "📰 Your digest: " + (NEW_STORIES[n != 1]).format(n=n)


def test_ukrainian_story_and_update_counts_read_right() -> None:
    words = {n: header(UK, n).split()[-1] for n in (1, 2, 5, 11, 21, 22, 25, 112)}
    assert words == {
        1: "історія",
        2: "історії",
        5: "історій",
        11: "історій",
        21: "історія",
        22: "історії",
        25: "історій",
        112: "історій",
    }
    assert header(UK, 3, 1) == "📰 Ваш дайджест: 3 нові історії · 1 оновлення"
    assert header(UK, 0, 5) == "📰 Ваш дайджест: 5 оновлень"


def test_a_digest_header_counts_stories_and_updates_and_names_whose_it_is() -> None:
    assert header(EN, 3, 1) == "📰 Your digest: 3 new stories · 1 update"
    assert header(EN, 1, 0) == "📰 Your digest: 1 new story"
    assert header(EN, 0, 2) == "📰 Your digest: 2 updates"
    # A group's or channel's digest is everyone's there: never "Your digest".
    assert header(EN, 2, 0, group=True) == "📰 Today's digest: 2 new stories"
    assert header(EN, 2, 1, group=True, weekly=True) == (
        "📰 This week's digest: 2 new stories · 1 update"
    )
    assert header(UK, 1, 0, group=True) == "📰 Дайджест дня: 1 нова історія"
    assert header(UK, 1, 0, group=True, weekly=True) == "📰 Дайджест тижня: 1 нова історія"


def test_how_long_ago_in_the_readers_language_and_timezone() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    kyiv = ZoneInfo("Europe/Kyiv")
    cases = [
        (now, "just now", "щойно"),
        (now - timedelta(minutes=20), "20m ago", "20 хв тому"),
        (now - timedelta(hours=2, minutes=10), "2h ago", "2 год тому"),
        # Older than a day: the date where the reader is (23:30 UTC is the next day in Kyiv).
        (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), "28 Nov", "28 лист."),
        (datetime(2024, 7, 15, 1, 48, tzinfo=UTC), "15 Jul 2024", "15 лип. 2024"),
    ]
    for when, english, ukrainian in cases:
        assert digest_texts.ago(EN, when, now, kyiv) == english
        assert digest_texts.ago(UK, when, now, kyiv) == ukrainian


# ---- dates, times and weekdays


def test_dates_are_formatted_for_the_language_in_the_chats_zone() -> None:
    when = datetime(2026, 11, 5, 5, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Kyiv"))
    assert EN.day(when) == "05 Nov 2026"
    assert UK.day(when) == "05 лист. 2026"
    assert EN.moment(when) == "Thu 05 Nov, 07:30"
    assert UK.moment(when) == "чт 05 лист., 07:30"
    assert UK.weekday(0) == "понеділок"
    assert texts.describe_schedule(UK, time(7, 30), Frequency.WEEKLY, 4) == UK._(
        "weekly on {day} at {time}", day="пʼятниця", time="07:30"
    )


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("mon", 0),
        ("Friday", 4),
        ("пн", 0),
        ("ПОНЕДІЛОК", 0),
        ("вів", 1),
        ("пʼятниця", 4),
        ("п'ятниця", 4),  # the apostrophe people type
        ("п’ятн", 4),
        ("нд", 6),
        ("нд.", 6),
    ],
)
def test_a_weekday_is_read_in_either_language(typed: str, day: int) -> None:
    assert parse_weekday(typed) == day


@pytest.mark.parametrize("typed", ["п", "пх", "mo", "неділ ля", ""])
def test_what_is_not_a_weekday_is_refused_in_the_readers_language(typed: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_weekday(typed)
    assert str(caught.value) == f"'{typed}' is not a weekday, e.g. monday or mon"
    assert UK.problem(caught.value) != str(caught.value)
    assert f"'{typed}'" in UK.problem(caught.value)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["weekly", "пн"], (Frequency.WEEKLY, 0)),
        (["щотижня", "sun"], (Frequency.WEEKLY, 6)),
        (["Щодня"], (Frequency.DAILY, 0)),
        (["daily"], (Frequency.DAILY, 0)),
    ],
)
def test_a_frequency_is_read_in_either_language(
    words: list[str], expected: tuple[str, int]
) -> None:
    assert parse_frequency(words) == expected


# ---- choosing the language


@pytest.mark.parametrize(
    ("code", "default", "expected"),
    [
        ("uk", "en", "uk"),
        ("uk-UA", "en", "uk"),
        ("UK", "en", "uk"),
        ("en-GB", "uk", "en"),
        ("ru", "en", "en"),
        ("de", "uk", "uk"),
        (None, "uk", "uk"),
        ("", "en", "en"),
        ("x" * 300, "en", "en"),
    ],
)
def test_the_language_comes_from_telegrams_language_code(
    code: str | None, default: str, expected: str
) -> None:
    assert choose(code, default) == expected


def test_a_default_language_without_a_catalog_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, default_language="de")
    assert str(caught.value) == "DEFAULT_LANGUAGE: expected one of en, uk; got 'de'"
    assert load_settings(_env_file=None, default_language=" UK ").default_language == "uk"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("l:uk:1", buttons.SetLanguage("uk", 1)),
        ("l:en:7", buttons.SetLanguage("en", 7)),
        ("l:de:1", None),
        ("l:UK:1", None),
        ("l:uk", None),
        ("l:uk:1:1", None),
        ("l::1", None),
    ],
)
def test_a_language_button_names_a_language_the_bot_speaks(
    data: str, expected: buttons.SetLanguage | None
) -> None:
    assert buttons.decode(data) == expected
    if expected is not None:
        assert buttons.encode(expected) == data


# ---- problems keep what makes them useful


def test_an_article_problem_keeps_its_line_and_the_offending_text_in_ukrainian() -> None:
    with pytest.raises(ArticleFormatError) as caught:
        parse_article("Politics 2024-07-15T04:48:11+03:00\nUkrainian news\n<b>Title</b>\nextra")
    english = parse_html(texts.not_stored(EN, caught.value))[0]
    ukrainian = parse_html(texts.not_stored(UK, caught.value))[0]
    assert english == "❌ Not stored: line 4: expected a blank line after the title, got 'extra'"
    assert ukrainian != english
    assert ukrainian.startswith("❌ ")
    assert "4" in ukrainian
    assert "'extra'" in ukrainian


def test_a_term_problem_quotes_the_term_in_both_languages() -> None:
    with pytest.raises(TermError) as caught:
        parse_terms('"<b>&')
    for t in (EN, UK):
        parse_html(texts.term_problem(t, "follow", caught.value))


# ---- every text is valid Telegram HTML, and fits a message, in every language

HOSTILE = "<b>&\"'<i></code>" + "й" * 300 + "\u202e"
WHEN = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
FEED = FeedView(
    feed_id=7,
    title=HOSTILE,
    url="https://example.com/?" + "&" * 500,
    tags=(HOSTILE,) * 3,
    polled_at=WHEN,
    status=FeedStatus.BROKEN,
    failures=3,
    error=HOSTILE,
    added_24h=5,
    dropped=9_500,
    moved_to="https://example.com/?" + "&" * 500,
)
SUBSCRIBED = SubscribeResult(
    subscribed=[HOSTILE],
    already=[HOSTILE],
    without_articles=[HOSTILE],
    suggestions={HOSTILE: [Suggestion(tag_id=1, name=HOSTILE)]},
    too_long=[HOSTILE],
    over_pending_limit=[HOSTILE],
    pending_limit=21,
)
WORDS = WordsResult(
    kind=WordKind.MUTE,
    added=[HOSTILE],
    already=[HOSTILE],
    switched=[HOSTILE],
    over_limit=[HOSTILE],
    limit=22,
)


def _renderings(t: Translator) -> list[str]:
    problem = ScheduleError("'{text}' is not a known timezone", text=HOSTILE)
    return [
        texts.help_text(t, True),
        t._(texts.WELCOME),
        t._(texts.NO_SUBSCRIPTIONS),
        t._(texts.NO_FEEDS),
        t._(texts.NOTHING_NEW),
        texts.language_text(t),
        *texts.subscribe_lines(t, SUBSCRIBED),
        *texts.unsubscribe_lines(
            t,
            UnsubscribeResult(
                removed=[HOSTILE],
                missing=[HOSTILE, "x"],
                suggestions={HOSTILE: SUBSCRIBED.suggestions[HOSTILE]},
            ),
        ),
        texts.subscribe_usage(t),
        texts.too_many_tags(t, 23, limit=20),
        texts.subscriptions_text(t, [HOSTILE] * 3, 1, 3),
        texts.tags_text(t, 2, 5),
        texts.settings_text(
            t,
            digest_time=time(7, 5),
            timezone="Europe/Kyiv",
            frequency=Frequency.WEEKLY,
            weekday=6,
            paused=False,
            next_due_at=WHEN,
        ),
        texts.stats_text(
            t,
            Stats(
                articles=10**6,
                tags=3,
                subscribers_active=1,
                subscribers_paused=2,
                subscribers_blocked=3,
                chats=ChatCounts(private=1, groups=2, channels=3),
                subscriptions=4,
                digests_sent_24h=5,
            ),
        ),
        texts.added_text(
            t,
            article_id=1,
            title=HOSTILE,
            tags=[HOSTILE],
            summary=HOSTILE,
            outcome=Outcome.UPDATED,
        ),
        texts.article_list(t, [(1, HOSTILE, WHEN)] * 15),
        texts.file_too_big(t, 1_000_000),
        texts.article_id_problem(t, HOSTILE),
        texts.confirm_delete(t, 1, HOSTILE),
        texts.deleted(t, 1, HOSTILE),
        texts.kept(t, 1, HOSTILE),
        texts.current_time(t, time(7, 30)),
        texts.current_timezone(t, "Europe/Kyiv"),
        texts.time_problem(
            t, ScheduleError("'{text}' is not a time of day as HH:MM, e.g. 07:30", text=HOSTILE)
        ),
        texts.timezone_problem(t, problem, ["Europe/Kyiv", "Europe/Kirov"]),
        texts.frequency_problem(t, [HOSTILE], ScheduleError()),
        texts.frequency_problem(t, [], ScheduleError()),
        texts.input_problem(t, problem),
        texts.feed_add_usage(t),
        texts.feed_tags_usage(t),
        texts.feed_id_problem(t, "feed_remove", HOSTILE),
        texts.no_such_feed(t, 3),
        texts.feed_not_added(t, ValueError(HOSTILE)),
        texts.feed_added(
            t,
            FeedAdded(
                feed_id=3,
                title=HOSTILE,
                url=HOSTILE,
                tags=(HOSTILE,),
                entries=21,
                added=2,
                skipped=(HOSTILE,) * 5,
            ),
        ),
        texts.feed_removed(t, 3, HOSTILE),
        texts.feed_tags_set(t, 3, [HOSTILE]),
        texts.feeds_text(t, [FEED] * FEEDS_PAGE_SIZE, 2, 9, 60),
        texts.opml_imported(
            t,
            OpmlReport(
                added=[PollResult(feed_id=1, title=HOSTILE, url=HOSTILE)],
                already=["a"],
                failed=[(HOSTILE, Problem(HOSTILE))] * 20,
            ),
        ),
        texts.not_opml(t, ValueError(HOSTILE)),
        *texts.words_lines(t, WORDS),
        *texts.words_lines(t, replace(WORDS, kind=WordKind.FOLLOW)),
        *texts.remove_lines(
            t, RemoveResult(kind=WordKind.FOLLOW, removed=[HOSTILE], missing=[HOSTILE])
        ),
        texts.words_text(t, [(HOSTILE, True), (HOSTILE, False)], 0, 2),
        texts.no_results(t, HOSTILE[:MAX_QUERY_LENGTH]),
        texts.search_text(
            t,
            HOSTILE[:MAX_QUERY_LENGTH],
            [(HOSTILE, HOSTILE, "https://e.com/?a=1&b=2", WHEN)] * 10,
            first=11,
            more=True,
        ),
        texts.shared_article(t, HOSTILE, HOSTILE, "https://e.com/?a&b", WHEN),
        texts.article_id_problem(t, HOSTILE, "story"),
        texts.story_text(t, 1, [Member(9, 9, HOSTILE, HOSTILE, None, HOSTILE, WHEN)] * 40),
        texts.story_text(t, 1, []),
        texts.split_done(t, 1, 0),
        texts.split_done(t, 1, 3),
        texts.merge_problem(t, HOSTILE),
        texts.merge_problem(t, ""),
        texts.merge_same(t, 1, 1),
        texts.merge_same(t, 1, 2),
        texts.merged(t, 1, 5),
        texts.privacy_text(t, 30, 8, 30, HOSTILE, "https://example.org/p?a=1&b=<2>"),
        texts.privacy_text(t, 1, 1, 1, None, None),
        texts.confirm_forget(t, HOSTILE * 10),
        texts.export_caption(t, HOSTILE),
        texts.forgotten(
            t, HOSTILE, Forgotten(subscriptions=1, words=2, ledger=5, digests=21, links=0)
        ),
    ]


@pytest.mark.parametrize("code", ["en", "uk"])
def test_every_text_is_valid_html_that_fits_a_message(code: str) -> None:
    for rendered in _renderings(translator(code)):
        plain, _ = parse_html(rendered)  # raises where Telegram would refuse the HTML
        assert utf16_len(plain) <= MessageLimit.MAX_TEXT_LENGTH, rendered[:80]


def test_ukrainian_texts_are_ukrainian() -> None:
    english, ukrainian = _renderings(EN), _renderings(UK)
    same = [e for e, u in zip(english, ukrainian, strict=True) if e == u]
    assert same == []


# ---- every text the code can say reaches the reader translated
#
# Derived from the code, not listed by hand: each public function of bot.texts that takes
# a Translator is called with arguments made from its type hints (str values taken from
# the literals the function and its helpers compare or look up), each pair of parameters
# varied over its values; each public constant is said. A Ukrainian translator records
# every message id it is asked for that its catalog does not translate.


class _Recording(Translations):
    """A catalog that notes each message id it had no translation for."""

    def __init__(self, fp: BinaryIO) -> None:
        super().__init__(fp, domain=DOMAIN)
        self.asked: set[str] = set()
        self.missing: set[str] = set()

    def gettext(self, message: str) -> str:
        self.asked.add(message)
        if message not in self._catalog:
            self.missing.add(message)
        return super().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.asked.add(msgid1)
        if (msgid1, 0) not in self._catalog:
            self.missing.add(msgid1)
        return super().ngettext(msgid1, msgid2, n)


def _recording_translator(code: str) -> tuple[Translator, _Recording]:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(code), use_fuzzy=False)
    compiled.seek(0)
    recording = _Recording(compiled)
    return Translator(code, recording), recording


NEUTRAL = "Ґ<&>“й”"  # outside text: no English in it, HTML and quotes to escape
_KNOWN = ("Europe/Kyiv", *languages())  # values valid beyond bot.texts' own literals
# Every module of the bot.texts package (one per feature), parsed, by module name.
_TEXTS_TREES = {
    f"{texts.__name__}.{path.stem}": ast.parse(path.read_text(encoding="utf-8"))
    for path in sorted(Path(texts.__file__).parent.glob("*.py"))
    if path.stem != "__init__"
}
_DEFINED = {
    node.name: (node, importlib.import_module(module))
    for module, tree in _TEXTS_TREES.items()
    for node in tree.body
    if isinstance(node, ast.FunctionDef)
}


def _literals(name: str, seen: set[str] | None = None) -> set[str]:
    """The strings a texts function (and the texts functions it calls) compares with or
    looks up: the values its str parameters are meant to take."""
    seen = set() if seen is None else seen
    if name in seen or name not in _DEFINED:
        return set()
    seen.add(name)
    found: set[str] = set()
    function, module = _DEFINED[name]
    for node in ast.walk(function):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    found.add(side.value)
        elif isinstance(node, ast.Name):
            value = getattr(module, node.id, None)
            if isinstance(value, dict):
                found.update(key for key in value if isinstance(key, str))
            found |= _literals(node.id, seen)
    return found


def _errors() -> list[BaseException]:
    with pytest.raises(ArticleFormatError) as caught:
        parse_article(f"Politics 2024-07-15T04:48:11+03:00\nWire\n{NEUTRAL}\nextra")
    return [
        ScheduleError(N_("'{text}' is not a weekday, e.g. monday or mon"), text=NEUTRAL),
        ScheduleError(),  # no template: the caller says what is wrong
        caught.value,  # with its line
        ValueError(NEUTRAL),  # not a Problem: said as it is
    ]


_PLAIN: dict[Any, Callable[[Sequence[str], Translator], list[Any]]] = {
    Translator: lambda _, t: [t],
    str: lambda words, _: [NEUTRAL, "", "21", *words],
    bool: lambda *_: [False, True],
    int: lambda *_: [2, 0, 1, 25],
    float: lambda *_: [2.5, 0.0],
    datetime: lambda *_: [WHEN],
    time: lambda *_: [time(7, 5)],
    tzinfo: lambda *_: [ZoneInfo("Europe/Kyiv")],
    type(None): lambda *_: [None],
    object: lambda *_: [1],
    Msg: lambda *_: _constants(),  # a text function that says one of the package's messages
}


def _apart(columns: Sequence[Sequence[Any]], two: bool = False) -> list[list[Any]]:
    """The first value of each column, then each column's other values in turn (with
    ``two``, each pair of columns' values) with the rest kept at their first."""
    plain = [values[0] for values in columns]
    rows = [plain] + [
        [*plain[:i], value, *plain[i + 1 :]]
        for i, values in enumerate(columns)
        for value in values[1:]
    ]
    if two:
        for (i, a), (j, b) in itertools.combinations(enumerate(columns), 2):
            for x, y in itertools.product(a[1:], b[1:]):
                row = list(plain)
                row[i], row[j] = x, y
                rows.append(row)
    return rows


def _union(args: tuple[Any, ...], words: Sequence[str], t: Translator) -> list[Any]:
    options = [a for a in args if a is not type(None)]
    return [*(v for option in options for v in _values(option, words, t)), None]


def _tuple(args: tuple[Any, ...], words: Sequence[str], t: Translator) -> list[Any]:
    if args[-1] is Ellipsis:
        return [tuple(items) for items in _sequence(args[:1], words, t)]
    return [tuple(row) for row in _apart([_values(a, words, t) for a in args])]


def _sequence(args: tuple[Any, ...], words: Sequence[str], t: Translator) -> list[Any]:
    items = _values(args[0], words, t)
    return [[items[0]] * 3, [], [items[0]] * 30, *([item] * 3 for item in items[1:])]


def _mapping(args: tuple[Any, ...], words: Sequence[str], t: Translator) -> list[Any]:
    item = _values(args[1], words, t)[0]
    return [defaultdict(lambda: item, {NEUTRAL: item}), {}]


_COMPOSITE: dict[Any, Callable[[tuple[Any, ...], Sequence[str], Translator], list[Any]]] = {
    UnionType: _union,
    Union: _union,
    tuple: _tuple,
    collections.abc.Sequence: _sequence,
    list: _sequence,
    collections.abc.Mapping: _mapping,
    dict: _mapping,
    Literal: lambda args, *_: list(args),
}


def _built(hint: Any, words: Sequence[str], t: Translator) -> list[Any]:
    """Instances of a class the texts take (a use case's result, a repository record, an
    exception), made through its constructor from the type hints of its parameters."""
    hints = get_type_hints(hint.__init__)
    names = [
        name
        for name, parameter in inspect.signature(hint).parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    # A small class's fields vary two at a time (a problem and its empty item).
    rows = _apart([_values(hints[name], words, t) for name in names], two=len(names) <= 3)
    return [hint(**dict(zip(names, row, strict=True))) for row in rows]


def _protocol(hint: Any, words: Sequence[str], t: Translator) -> list[Any]:
    """Objects with a Protocol's properties (bot.texts.privacy's ForgottenLike is one)."""
    fields = {
        name: _values(get_type_hints(member.fget)["return"], words, t)
        for name, member in vars(hint).items()
        if isinstance(member, property) and member.fget is not None
    }
    rows = _apart(list(fields.values()), two=len(fields) <= 3)
    return [SimpleNamespace(**dict(zip(fields, row, strict=True))) for row in rows]


def _values(hint: Any, words: Sequence[str], t: Translator) -> list[Any]:
    """Values of a type, the first one plain; each other one differs from it in one place."""
    if hint in _PLAIN:
        return _PLAIN[hint](words, t)
    if get_origin(hint) in _COMPOSITE:
        return _COMPOSITE[get_origin(hint)](get_args(hint), words, t)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)
    if isinstance(hint, type) and issubclass(hint, BaseException):
        known = [error for error in _errors() if isinstance(error, hint)]
        return known or _built(hint, words, t)
    if isinstance(hint, type) and is_dataclass(hint):
        return _built(hint, words, t)
    if getattr(hint, "_is_protocol", False):
        return _protocol(hint, words, t)
    raise AssertionError(f"no values for {hint!r}: teach _values this type")


def _said(function: Callable[..., Any], t: Translator) -> tuple[list[str], int]:
    """Everything ``function`` says with its parameters varied two at a time (from the
    first combination it accepts); how many calls it accepted."""
    signature = inspect.signature(function)
    hints = get_type_hints(function)
    words = sorted(_literals(function.__name__) | set(_KNOWN))
    columns = [
        (name, _values(hints[name], words, t))
        for name in signature.parameters
        if hints[name] is not Translator
    ]
    names = [name for name, _ in columns]
    said: list[str] = []
    accepted = 0

    def call(choice: Sequence[Any]) -> bool:
        nonlocal accepted
        try:
            result = function(t, **dict(zip(names, choice, strict=True)))
        except Exception:  # a value the function is not meant to take, e.g. an unknown key
            return False
        accepted += 1
        said.extend(result if isinstance(result, list) else [result])
        return True

    def varied(start: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        yield start
        for (i, (_, a)), (j, (_, b)) in itertools.combinations(enumerate(columns), 2):
            for x, y in itertools.product(a, b):
                choice = list(start)
                choice[i], choice[j] = x, y
                yield tuple(choice)
        if len(columns) == 1:
            yield from ((v,) for v in columns[0][1])

    plain = tuple(values[0] for _, values in columns)
    base = next((c for c in varied(plain) if call(c)), None)
    if base is not None:
        for choice in varied(base):
            call(choice)
    return said, accepted


def _text_functions() -> list[Callable[..., Any]]:
    return [
        value
        for name, value in vars(texts).items()
        if inspect.isfunction(value)
        and value.__module__.startswith(texts.__name__ + ".")
        and not name.startswith("_")
        and Translator in get_type_hints(value).values()
    ]


def _constants() -> list[str]:
    """Every message id a public constant of bot.texts holds (alone, in a tuple, a dict)."""
    found: list[str] = []
    for name, value in vars(texts).items():
        if name.startswith("_"):
            continue
        items = (
            value.values()
            if isinstance(value, dict)
            else value
            if isinstance(value, tuple)
            else [value]
        )
        for item in items:
            for part in item if isinstance(item, tuple) else (item,):
                if isinstance(part, Msg):
                    found.append(part)
    return found


def test_every_text_function_and_constant_is_said_in_ukrainian() -> None:
    t, recording = _recording_translator("uk")
    silent = []
    functions = _text_functions()
    assert len(functions) > 80  # the walk found the package's text functions
    for function in functions:
        _, accepted = _said(function, t)
        if not accepted:
            silent.append(function.__name__)
    for message in _constants():
        t._(message)
    assert silent == [], "no generated arguments were accepted: teach _values"
    assert sorted(recording.missing) == []
    # The generated arguments reach every text bot/texts/ spells out.
    spelt = {
        text if isinstance(text, str) else text[0]
        for tree in _TEXTS_TREES.values()
        for call in marked_calls(tree)
        if (text := marked_text(call)) is not None
    }
    assert sorted(spelt - recording.asked) == []


def test_every_marked_literal_is_in_the_catalogs() -> None:
    """Every text written out in a t._, t.ngettext or N_ call anywhere in bot/, inside
    f-strings too, has its catalog entry."""
    marked = [
        (path.name, call.lineno, text)
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for call in marked_calls(ast.parse(path.read_text(encoding="utf-8")))
        if (text := marked_text(call)) is not None
    ]
    assert len(marked) > 300  # the walk found the calls
    for code in languages():
        ids = {m.id for m in _catalog(code) if m.id}
        assert [m for m in marked if m[2] not in ids] == [], code
