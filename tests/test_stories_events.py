"""Issue 23: two events never share one story. The issue's examples, the hostile pass's
kinds (three banks' rate decisions, two football results, two elections, two shelling
reports in Ukrainian), the magnet, two articles of one source and chaining: as pairs,
through the grouper, and end to end through store_articles on both databases."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.stories import candidates
from bot.articles.format import parse_article
from bot.stories.events import Event, calendar_dates, figures, veto
from bot.stories.places import name_key, places_of
from bot.stories.similarity import Grouper, Known, StoryText, same_story, why_not
from bot.words import search
from storage import stories as stories_repo

MONDAY = datetime(2026, 11, 23, 6, tzinfo=UTC)


class Report(NamedTuple):
    """An article's title, lead and source, stored as an article file end to end and
    compared as a `StoryText` (with its source) in the pure tests."""

    title: str
    lead: str
    source: str = ""


def pair(title: str, lead: str, source: str = "") -> Report:
    return Report(title, lead, source)


def text(report: Report) -> StoryText:
    return StoryText(report.title, report.lead, report.source)


# ---------------------------------------------------------------- the examples

TURKEY = pair(
    "Magnitude 5.8 earthquake strikes eastern Turkey",
    "A magnitude 5.8 earthquake struck eastern Turkey on Monday, the disaster agency AFAD "
    "said, with no immediate reports of casualties.",
    "Reuters",
)
JAPAN = pair(
    "Magnitude 6.1 earthquake strikes northern Japan",
    "A magnitude 6.1 earthquake struck northern Japan on Monday, the meteorological agency "
    "said, with no immediate reports of casualties.",
    "AP",
)
TURKEY_AGAIN = pair(
    "Quake of magnitude 5.8 hits eastern Turkey, no casualties reported",
    "An earthquake with a magnitude of 5.8 hit eastern Turkey on Monday, according to AFAD, "
    "and there were no immediate reports of casualties.",
    "AFP",
)
SUMY = pair(
    "Drone attack hits energy facility in Sumy region",
    "Russian drones hit an energy facility in the Sumy region overnight, cutting power to "
    "thousands of homes, the regional governor said.",
    "Kyiv Independent",
)
POLTAVA = pair(
    "Drone attack hits energy facility in Poltava region",
    "Russian drones hit an energy facility in the Poltava region overnight, cutting power "
    "to thousands of homes, the regional governor said.",
    "Ukrinform",
)

# ---------------------------------------------------------------- the hostile pass's kinds

RATES = [
    pair(
        f"{bank} keeps key rate at {rate} as inflation slows",
        f"{bank} left its key interest rate unchanged at {rate} on Thursday, saying "
        "inflation was slowing but wage growth remained strong.",
        source,
    )
    for bank, rate, source in (
        ("Norway's central bank", "4.5%", "Reuters"),
        ("Sweden's Riksbank", "2.25%", "Bloomberg"),
        ("The Bank of Canada", "4.5%", "AP"),  # the same rate as Norway's: names decide
    )
]
FOOTBALL = [
    pair(
        f"{home} beat {away} 2-1 to reach Carabao Cup semi-finals",
        f"{scorer} scored a late winner as {home} beat {away} 2-1 on Wednesday to reach "
        "the semi-finals of the Carabao Cup.",
        source,
    )
    for home, away, scorer, source in (
        ("Arsenal", "Chelsea", "Bukayo Saka", "BBC"),
        ("Liverpool", "Everton", "Mohamed Salah", "Sky Sports"),
    )
]
ELECTIONS = [
    pair(
        f"Polls open in {country}'s parliamentary election",
        f"Polls opened in {country} on Sunday in a parliamentary election in which the "
        "ruling party is expected to come first but short of a majority.",
        source,
    )
    for country, source in (("Moldova", "Reuters"), ("Georgia", "AP"))
]
SHELLING = [
    pair(
        f"Росіяни обстріляли {city}: двоє поранених",
        f"Уночі російські війська обстріляли {city_in}, двоє людей дістали поранень, "
        "пошкоджено приватні будинки, повідомив начальник обласної військової адміністрації.",
        source,
    )
    for city, city_in, source in (
        ("Херсон", "Херсон", "Укрінформ"),
        ("Нікополь", "Нікополь", "Суспільне"),
    )
]

# ---------------------------------------------------------------- the magnet

MAGNET = pair(
    "Malatya earthquake, Geneva peace talks, Kherson dam, Bitcoin ETF, Eurovision Basel",
    "Magnitude 6.1 earthquake hits Malatya in eastern Turkey; Ukraine and Russia open peace "
    "talks in Geneva; water rises behind damaged Kherson dam; SEC approves first spot "
    "Bitcoin ETF; Basel chosen to host Eurovision Song Contest.",
    "Magnet News",
)
# Each real report's words all in the magnet's: over the lighter article they scored
# 0.86 to 1.0, and 5 of 5 joined the magnet's story.
MAGNETISED = [
    pair(title, lead, source)
    for title, lead, source in (
        (
            "Magnitude 6.1 earthquake hits Malatya in eastern Turkey",
            "A magnitude 6.1 earthquake hit Malatya in eastern Turkey.",
            "Reuters",
        ),
        (
            "Ukraine and Russia open peace talks in Geneva",
            "Ukraine and Russia opened peace talks in Geneva.",
            "AP",
        ),
        (
            "Water rises behind damaged Kherson dam",
            "Water rises behind the damaged Kherson dam.",
            "Ukrinform",
        ),
        (
            "SEC approves first spot Bitcoin ETF",
            "The SEC approved the first spot Bitcoin ETF.",
            "CNBC",
        ),
        (
            "Basel chosen to host Eurovision",
            "Basel was chosen to host the Eurovision Song Contest.",
            "BBC",
        ),
    )
]

DIFFERENT_EVENTS = [
    (TURKEY, JAPAN),
    (SUMY, POLTAVA),
    *itertools.combinations(RATES, 2),
    (FOOTBALL[0], FOOTBALL[1]),
    (ELECTIONS[0], ELECTIONS[1]),
    (SHELLING[0], SHELLING[1]),
    *((MAGNET, report) for report in MAGNETISED),
]


def test_two_events_told_with_one_template_are_two_stories() -> None:
    for one, other in DIFFERENT_EVENTS:
        a, b = text(one), text(other)
        assert candidates(a, b), (a.title, b.title)  # grouping would compare them
        assert not same_story(a, b), (a.title, b.title)
        assert not same_story(b, a), (b.title, a.title)


def test_one_event_told_twice_is_still_one_story() -> None:
    assert same_story(text(TURKEY), text(TURKEY_AGAIN))


def test_a_magnet_takes_none_of_the_reports_it_lists() -> None:
    """The magnet comes first, so it is the first report of any story it starts: each
    later real report must match it, and none does."""
    grouper = Grouper()
    assert grouper.assign(1, text(MAGNET), MONDAY) == 1
    stories = [
        grouper.assign(n, text(report), MONDAY + timedelta(hours=n))
        for n, report in enumerate(MAGNETISED, start=2)
    ]
    assert stories == [2, 3, 4, 5, 6]
    # A second report of an event it lists still joins that event's story.
    again = pair(
        "Earthquake of magnitude 6.1 strikes Malatya, eastern Turkey",
        "An earthquake of magnitude 6.1 struck Malatya in eastern Turkey.",
        "AFP",
    )
    assert grouper.assign(7, text(again), MONDAY + timedelta(hours=8)) == 2


def test_each_veto_says_why() -> None:
    reasons = {
        (one.title, other.title): why_not(text(one), text(other))
        for one, other in DIFFERENT_EVENTS
    }
    assert reasons[(TURKEY.title, JAPAN.title)] == "magnitude"
    assert reasons[(SUMY.title, POLTAVA.title)] == "regions"
    assert reasons[(RATES[0].title, RATES[1].title)] == "percent"
    assert reasons[(RATES[0].title, RATES[2].title)] == "countries"  # both at 4.5 %
    assert reasons[(FOOTBALL[0].title, FOOTBALL[1].title)] == "names"  # both 2-1
    assert reasons[(ELECTIONS[0].title, ELECTIONS[1].title)] == "countries"
    assert reasons[(SHELLING[0].title, SHELLING[1].title)] == "names"  # Нікополь: no gazetteer
    assert {reasons[(MAGNET.title, r.title)] for r in MAGNETISED} == {"words"}


# ---------------------------------------------------------------- names, places, figures


def test_names_are_matched_in_their_many_forms() -> None:
    assert {name_key(w) for w in ("Київ", "Києві", "Kyiv", "Kiev", "Kyiv's")} == {"kv"}
    assert name_key("Zelenskiy") == name_key("Zelenskyy") == name_key("Zelensky")
    assert name_key("Erdoğan") == name_key("Erdogan")
    assert name_key("Zaporizhzhia") == name_key("Zaporozhye") == name_key("Запоріжжя")
    poland = {p.code for w in ("Польща", "Польщі", "Poland", "Polish") for p in places_of(w)}
    assert poland == {"PL"}
    kyiv = set.intersection(*({p.code for p in places_of(w)} for w in ("Київ", "Києві", "Kiev")))
    assert "UA-30" in kyiv
    assert places_of("Литви") != places_of("Латвії")  # one consonant key, two countries
    assert {p.code for p in places_of("Сумщині")} == {p.code for p in places_of("Sumy")}
    assert not places_of("Trump") and not places_of("Aaron")  # not Iran


def test_figures_of_each_kind() -> None:
    found = figures(
        "A 6,1-magnitude quake; rate held at 14,5% after a cut of 25 basis points; "
        "$2.1 billion and 1,1 млрд доларів; Arsenal won 2-0; 150 prisoners; at 08:00"
    )
    assert found == {
        "magnitude": {"6.1"},
        "percent": {"14.5"},
        "basis points": {"25"},
        "amount": {"2.1e+09", "1.1e+09"},
        "score": {"2-0"},
        "prisoners": {"150"},
    }


# The month words this module had typed by hand before it took Babel's: every one must
# still be read.
TYPED_DATE_MONTHS = {
    **dict.fromkeys(("jan", "january"), 1), **dict.fromkeys(("feb", "february"), 2),
    **dict.fromkeys(("mar", "march"), 3), **dict.fromkeys(("apr", "april"), 4),
    "may": 5, **dict.fromkeys(("jun", "june"), 6), **dict.fromkeys(("jul", "july"), 7),
    **dict.fromkeys(("aug", "august"), 8), **dict.fromkeys(("sep", "sept", "september"), 9),
    **dict.fromkeys(("oct", "october"), 10), **dict.fromkeys(("nov", "november"), 11),
    **dict.fromkeys(("dec", "december"), 12),
    "січня": 1, "лютого": 2, "березня": 3, "квітня": 4, "травня": 5, "червня": 6,
    "липня": 7, "серпня": 8, "вересня": 9, "жовтня": 10, "листопада": 11, "грудня": 12,
}  # fmt: skip
TYPED_UKRAINIAN_NOMINATIVES = """
    січень лютий березень квітень травень червень липень серпень вересень жовтень листопад
    грудень""".split()


def test_every_month_word_typed_before_babel_is_still_read() -> None:
    for word, month in TYPED_DATE_MONTHS.items():
        for text in (f"4 {word}", f"{word.capitalize()} 4", f"{word}. 4"):
            assert calendar_dates(text) == {(month, 4)}, text
    for word in [*TYPED_DATE_MONTHS, *TYPED_UKRAINIAN_NOMINATIVES]:
        said = Event(f"storm expected in {word.capitalize()}, officials say", "")
        assert said.names == (), word  # a month is not a name


def test_a_day_in_passing_is_not_the_day_of_the_event() -> None:
    deadline = Event("Talks run over", "Negotiators overran their Friday deadline.")
    sunday = Event("Talks end with a deal", "Negotiators agreed on Sunday.")
    assert veto(deadline, sunday) is None
    assert veto(Event("Talks", "They met on Monday."), sunday) == "days"
    assert (
        veto(
            Event("Переговори", "Сторони зустрілися у пʼятницю."), Event("Переговори", "У неділю.")
        )
        == "days"
    )


def test_a_report_that_names_no_place_is_not_vetoed_by_one() -> None:
    """Reports leave out what their readers know: a Kyiv newsroom does not say "Kyiv".
    Only two places that differ veto."""
    named = Event("Drone attack on Kyiv injures five", "Drones hit Kyiv overnight.")
    unnamed = Event("Drone attack injures five", "Drones hit the capital overnight.")
    assert veto(named, unnamed) is None
    assert veto(named, Event("Drone attack on Lviv injures five", "Drones hit Lviv.")) == "regions"


# ---------------------------------------------------------------- one source


def test_two_articles_of_one_source_are_one_story_only_as_an_explicit_update() -> None:
    first = StoryText(TURKEY.title, TURKEY.lead, "Reuters", "https://r.example/quake")
    other_link = StoryText(
        TURKEY_AGAIN.title, TURKEY_AGAIN.lead, " REUTERS ", "https://r.example/quake-2"
    )
    assert same_story(text(TURKEY), text(TURKEY_AGAIN))  # two sources: one story
    assert not same_story(first, other_link)
    same_link = StoryText(TURKEY_AGAIN.title, TURKEY_AGAIN.lead, "Reuters", first.link)
    assert same_story(first, same_link)
    marked = StoryText(
        f"UPDATE 1-{TURKEY_AGAIN.title}", TURKEY_AGAIN.lead, "Reuters", "https://r.example/3"
    )
    assert same_story(first, marked)
    kherson = StoryText(SHELLING[0].title, SHELLING[0].lead, "Укрінформ", "https://u/1")
    again = StoryText(
        "Росіяни обстріляли Херсон, поранено двох людей",
        SHELLING[0].lead,
        "Укрінформ",
        "https://u/2",
    )
    assert not same_story(kherson, again)
    marked = StoryText(f"Оновлено: {again.title}", again.lead, "Укрінформ", "https://u/3")
    assert same_story(kherson, marked)


# ---------------------------------------------------------------- chaining


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.permutations(["A", "B", "C"]),
    st.lists(st.integers(0, 60), min_size=3, max_size=3),
)
def test_a_story_never_drifts_through_a_chain(order: list[str], minutes: list[int]) -> None:
    """For any three articles where A~B and B~C are the only matches, in any order and
    at any times: A and C end in one story only if A matches the story's first report."""
    texts = {name: StoryText(name, name) for name in "ABC"}
    alike = {frozenset("AB"), frozenset("BC")}

    def decide(a: StoryText, b: StoryText) -> bool:
        return a.title == b.title or frozenset((a.title, b.title)) in alike

    grouper = Grouper(decide=decide)
    times = sorted(MONDAY + timedelta(minutes=m) for m in minutes)
    story = {
        name: grouper.assign(n, texts[name], when, keys=[7])
        for n, (name, when) in enumerate(zip(order, times, strict=True), start=1)
    }
    if story["A"] == story["C"]:
        first = grouper.story(story["A"])[0]
        assert decide(texts["A"], first.text)
        assert first.text.title == "B"  # the only article both match
    for members in map(grouper.story, set(story.values())):
        for member in members[1:]:
            assert decide(member.text, members[0].text)


def test_an_article_matching_one_member_but_not_the_first_report_starts_its_own() -> None:
    first = Known(1, 1, StoryText("A", "A"), MONDAY, (7,))
    member = Known(2, 1, StoryText("B", "B"), MONDAY, (8,))
    alike = {frozenset("AB"), frozenset("BC"), frozenset("BD"), frozenset("AD")}

    def decide(a: StoryText, b: StoryText) -> bool:
        return frozenset((a.title, b.title)) in alike

    # C shares a key only with B, and matches only B: the first report, loaded though
    # it shares no key with C, says no, and one of two members is not most of them.
    grouper = Grouper([member], members=[first], decide=decide)
    assert grouper.assign(3, StoryText("C", "C"), MONDAY, keys=[8]) == 3
    # D matches B and the first report: it joins.
    assert grouper.assign(4, StoryText("D", "D"), MONDAY, keys=[8]) == 1


def test_an_article_matching_most_members_joins_without_the_first_report() -> None:
    story = [
        Known(1, 1, StoryText("F", "F"), MONDAY, (7,)),
        Known(2, 1, StoryText("M", "M"), MONDAY + timedelta(minutes=1), (7,)),
        Known(3, 1, StoryText("N", "N"), MONDAY + timedelta(minutes=2), (7,)),
    ]
    alike = {frozenset("FM"), frozenset("FN"), frozenset("MX"), frozenset("NX"), frozenset("MY")}

    def decide(a: StoryText, b: StoryText) -> bool:
        return frozenset((a.title, b.title)) in alike

    grouper = Grouper(story, decide=decide)
    # X matches two of the three members: most of the story, though not its first.
    assert grouper.assign(4, StoryText("X", "X"), MONDAY, keys=[7]) == 1
    # Y matches one of the four: a story of its own.
    assert grouper.assign(5, StoryText("Y", "Y"), MONDAY, keys=[7]) == 5


# ---------------------------------------------------------------- end to end


def article(source: str, when: datetime, report: Report, link: str, tags: str = "news") -> str:
    return (
        f"World {when.isoformat()}\n{source}\n{report.title}\n\n{tags}\n\n"
        f"{report.lead} More details follow.\n\n{link}\n"
    )


async def store(sessions: async_sessionmaker[AsyncSession], texts: list[str]) -> list[int]:
    async with sessions.begin() as session:
        results = await search.store_articles(
            session, [parse_article(t) for t in texts], now=MONDAY + timedelta(hours=12)
        )
        return [row.id for row, _ in results]


async def stories_of(sessions: async_sessionmaker[AsyncSession], ids: list[int]) -> list[int]:
    async with sessions() as session:
        found = [await stories_repo.story_of(session, i) for i in ids]
    assert None not in found
    return [s for s in found if s is not None]


async def test_every_different_event_is_its_own_story_as_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The examples, the hostile kinds and the magnet through store_articles, one at a
    time (each a candidate for the stories before it) and then in one batch."""
    texts = [
        TURKEY, JAPAN, SUMY, POLTAVA, *RATES, *FOOTBALL, *ELECTIONS, *SHELLING, MAGNET,
        *MAGNETISED,
    ]  # fmt: skip
    files = [
        article(t.source, MONDAY + timedelta(minutes=n), t, f"https://{n}.example/")
        for n, t in enumerate(texts)
    ]
    ids = [(await store(sessions, [f]))[0] for f in files]
    assert await stories_of(sessions, ids) == ids
    again = [
        article(f"Desk {n}", MONDAY + timedelta(hours=1, minutes=n), t, f"https://b{n}.example/")
        for n, t in enumerate(texts)
    ]
    # The same texts from other sources, an hour later: each joins only its own.
    batch = await store(sessions, again)
    assert await stories_of(sessions, batch) == ids


async def test_a_report_joins_its_event_not_the_template_twin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    turkey, japan = await store(
        sessions,
        [
            article("Reuters", MONDAY, TURKEY, "https://r.example/1"),
            article("AP", MONDAY + timedelta(minutes=5), JAPAN, "https://ap.example/1"),
        ],
    )
    [again] = await store(
        sessions, [article("AFP", MONDAY + timedelta(hours=1), TURKEY_AGAIN, "https://afp/1")]
    )
    assert await stories_of(sessions, [turkey, japan, again]) == [turkey, japan, turkey]


async def test_two_articles_of_one_source_at_one_time_are_two_stories(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The reliability pass: one source's two articles published together with other
    tags became one story, and a reader of the second article's tag got the first's
    headline. Unless the later one is an update (the same link), they are two."""
    first, second = await store(
        sessions,
        [
            article("Reuters", MONDAY, TURKEY, "https://r.example/1", tags="turkey"),
            article("REUTERS", MONDAY, TURKEY_AGAIN, "https://r.example/2", tags="quakes"),
        ],
    )
    assert await stories_of(sessions, [first, second]) == [first, second]
    [update] = await store(
        sessions,
        [article("Reuters", MONDAY + timedelta(hours=2), TURKEY_AGAIN, "https://r.example/1")],
    )
    assert await stories_of(sessions, [update]) == [first]


DATED = "Delegations met in Abu Dhabi on {}."
ROUND_ONE = pair("Talks in Abu Dhabi on a ceasefire", DATED.format("Nov. 4"))
UNDATED = pair("Talks in Abu Dhabi on a ceasefire", "Delegations met in Abu Dhabi.")
ROUND_TWO = pair("Talks in Abu Dhabi on a ceasefire", DATED.format("Nov. 19"))


async def test_a_story_is_judged_by_its_first_report_even_without_a_shared_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A chain: round one of talks (Nov. 4), an undated report of it, then round two
    (Nov. 19), which matches the undated report but not round one. Round one's keys are
    gone (as housekeeping drops old keys), so only the story's members bring it in."""
    first, undated = await store(
        sessions,
        [
            article("Reuters", MONDAY, ROUND_ONE, "https://r.example/1"),
            article("AP", MONDAY + timedelta(hours=1), UNDATED, "https://ap.example/1"),
        ],
    )
    assert await stories_of(sessions, [undated]) == [first]
    async with sessions.begin() as session:
        await stories_repo.drop_keys(session, [first])
    [second] = await store(
        sessions, [article("AFP", MONDAY + timedelta(hours=2), ROUND_TWO, "https://afp/2")]
    )
    assert await stories_of(sessions, [first, undated, second]) == [first, first, second]


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.text(max_size=600), st.text(max_size=600))
def test_no_report_vetoes_itself(title: str, lead: str) -> None:
    event = Event(title, lead)
    assert veto(event, event) is None


def test_hostile_texts_are_read() -> None:
    """Huge runs of figures and scores, HTML, right-to-left marks, emoji, full-width
    letters, dotted abbreviations: read whole, and each report is its own event."""
    hostile = [
        ("1-1 " * 5000, "50% " * 5000 + "magnitude 6.1 " * 500),
        ("<b>Київ</b> " * 1000, "\u202eКиїв\u202c &amp; <script>alert(1)</script>"),
        ("🚀" * 3000, "ＡＢＣ Ｋｙｉｖ 𝐊𝐲𝐢𝐯"),
        ("U.S. " * 2000, "У.К. " * 2000),
        ("", ""),
    ]
    events = [Event(title, lead) for title, lead in hostile]
    for event in events:
        assert veto(event, event) is None
    assert veto(events[0], Event("1-2", "40% magnitude 5.0")) == "magnitude"
