"""/follow, /unfollow, /mute, /unmute and /subscriptions end to end, and what they do to
digests: followed words add articles, muted words remove them whatever matched, an
article matched twice comes once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.articles.format import parse_article
from bot.telegram.context import BotApplication
from bot.words.search import store_articles
from emulator.client import Chat
from tests.auxil.clock import FakeClock

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def store(app: BotApplication, title: str, body: str, tags: str = "misc") -> None:
    parsed = parse_article(
        f"World {(app.bot_data.clock() - timedelta(hours=1)).isoformat()}\nWire\n{title}\n\n"
        f"{tags}\n\n{body}\n"
    )
    async with app.bot_data.sessions.begin() as session:
        await store_articles(session, [parsed], now=app.bot_data.clock())


@pytest.fixture
async def news(app: BotApplication, clock: FakeClock) -> BotApplication:
    clock.set(NOW)
    await store(app, "Peace talks resume in Geneva", "Negotiators met again.", "politics")
    await store(app, "Football final tonight", "Peace in the stands, said police.", "sport")
    await store(app, "Grain prices fall", "Markets calm.", "economy")
    return app


async def digest_titles(user: Chat) -> list[str]:
    replies = await user.ask("/digest")
    return [b for reply in replies for b in reply.bold()][1:]  # after the header


async def test_follow_brings_matching_articles_including_older_ones(
    user: Chat, news: BotApplication
) -> None:
    [reply] = await user.ask('/follow "peace talks" GRAIN negotiat*')
    assert reply.text.splitlines() == [
        '✅ Following "peace talks"',
        "✅ Following grain",
        "✅ Following negotiat*",
        "Your digests now also include articles containing them.",
    ]
    assert reply.bold() == ['"peace talks"', "grain", "negotiat*"]
    # Stored before the follow: found through the full-text index.
    assert sorted(await digest_titles(user)) == [
        "Grain prices fall",
        "Peace talks resume in Geneva",
    ]
    # Stored after: matched as it is stored.
    await store(news, "Новые переговоры", "Negotiations continue.", "world")
    assert await digest_titles(user) == ["Новые переговоры"]


async def test_whole_words_only(user: Chat, news: BotApplication) -> None:
    await user.ask("/follow gene")
    [reply] = await user.ask("/digest")
    assert "Nothing new" in reply.text


async def test_an_article_matched_by_tag_and_word_comes_once(
    user: Chat, news: BotApplication
) -> None:
    await user.ask("/subscribe politics")
    await user.ask("/follow geneva")
    assert await digest_titles(user) == ["Peace talks resume in Geneva"]


async def test_mute_beats_tags_and_words(user: Chat, news: BotApplication) -> None:
    await user.ask("/subscribe sport, politics")
    await user.ask("/follow peace")
    [reply] = await user.ask("/mute football")
    assert reply.text.splitlines() == [
        "🔇 Muted football",
        "Articles containing them are left out of your digests.",
    ]
    assert await digest_titles(user) == ["Peace talks resume in Geneva"]
    await store(news, "Football league news", "Peace and goals.", "sport")
    await store(news, "Election results", "Turnout high.", "politics")
    assert await digest_titles(user) == ["Election results"]


async def test_follow_after_mute_switches(user: Chat, news: BotApplication) -> None:
    await user.ask("/mute grain")
    [reply] = await user.ask("/follow grain")
    assert reply.text.splitlines()[0] == "✅ Following grain (it was muted until now)"
    [again] = await user.ask("/follow Grain")
    assert again.text == "☑️ Already following grain"


async def test_unfollow_and_unmute(user: Chat, news: BotApplication) -> None:
    await user.ask('/follow grain "peace talks"')
    await user.ask("/mute football")
    [reply] = await user.ask('/unfollow "Peace Talks" opera')
    assert reply.text.splitlines() == [
        '🗑 Stopped following "peace talks"',
        "You weren't following “opera”",
    ]
    [unmuted] = await user.ask("/unmute football grain")
    assert unmuted.text.splitlines() == [
        "🔈 Unmuted football",
        "You weren't muting “grain”",
    ]
    assert await digest_titles(user) == ["Grain prices fall"]


async def test_subscriptions_lists_words_with_remove_buttons(
    user: Chat, news: BotApplication
) -> None:
    await user.ask("/subscribe politics")
    await user.ask('/follow grain "peace talks"')
    await user.ask("/mute football")
    [tags, words] = await user.ask("/subscriptions", expect=2)
    assert "• politics" in tags.text
    assert words.text.splitlines() == [
        "Your words",
        "Following:",
        "• grain",
        '• "peace talks"',
        "Muted:",
        "• football",
        "",
        "Tap a word to stop following or muting it.",
    ]
    assert words.button_texts == ["✖ grain", '✖ "peace talks"', "✖ 🔇 football"]
    [edited] = await user.press(words, "✖ 🔇 football")
    assert edited.edited
    assert edited.button_texts == ["✖ grain", '✖ "peace talks"']
    assert await user.answers() == ["Unmuted football"]
    [gone] = await user.press(edited, "✖ grain")
    [last] = await user.press(gone, '✖ "peace talks"')
    assert last.text == "You follow and mute no words."
    assert last.button_texts == []


async def test_words_page_when_many(user: Chat, news: BotApplication) -> None:
    await user.ask("/follow " + " ".join(f"w{n:02d}" for n in range(15)))
    [_, words] = await user.ask("/subscriptions", expect=2)
    assert words.text.startswith("Your words (page 1 of 2)")
    assert words.button_texts[-1] == "Next ▶"
    [second] = await user.press(words, "Next ▶")
    assert second.text.startswith("Your words (page 2 of 2)")
    assert len(second.button_texts) == 5 + 1


async def test_limits(user: Chat, news: BotApplication) -> None:
    for start in range(0, 100, 20):
        await user.ask("/follow " + " ".join(f"x{n:03d}" for n in range(start, start + 20)))
    [reply] = await user.ask("/follow one two")
    assert reply.text == (
        "⚠️ Not following “one”, “two”: you may have at most 100 followed words. "
        "/unfollow some first."
    )
    [muted] = await user.ask("/mute one")  # mutes have their own 100
    assert muted.text.startswith("🔇 Muted one")


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("/follow", 'Which words?\nUsage: /follow ukraine "peace talks" negotiat*'),
        ("/mute   ", "Which words?\nUsage: /mute football"),
        (
            "/follow " + " ".join(f"w{n}" for n in range(21)),
            "That is 21 words or phrases; at most 20.\n"
            'Usage: /follow ukraine "peace talks" negotiat*',
        ),
        (
            "/follow " + "x" * 51,
            f"⚠️ “{'x' * 51}” is too long: a word or phrase has at most 50 characters.",
        ),
        ("/follow ok ???", "⚠️ “???” has no letters or digits to look for."),
        ('/unfollow "peace', '⚠️ A quote is not closed: put a phrase between two " marks.'),
        ("/follow a*", "⚠️ “a*” is too short for a prefix: put * after at least 3 letters."),
        ("/follow <b>x</b>", '✅ Following "b x b"'),
        # NFKC spells this one character out in 18: twelve of them would not fit the
        # stored word (200 characters), and PostgreSQL refused it.
        (
            "/follow " + "ﷺ" * 12,
            f"⚠️ “{'ﷺ' * 12}” is too long: a word or phrase has at most 50 characters.",
        ),
    ],
)
async def test_bad_words_get_clear_answers(
    user: Chat, app: BotApplication, typed: str, answer: str
) -> None:
    [reply] = await user.ask(typed)
    assert reply.text.splitlines()[0] == answer.splitlines()[0]
    assert reply.text.startswith(answer)


async def test_follow_and_mute_fold_words_as_search_does(user: Chat, news: BotApplication) -> None:
    """Any of the three Ukrainian apostrophes, "Straße" typed as written: one word for
    /follow and /mute, whether the article came before or after. (Titles say otherwise
    different things, so that no two of them are one story.)"""
    await store(news, "Новий обʼєкт інфраструктури відкрили у Вінниці", "Мер показав.", "city")
    await store(news, "Die Straße nach Lemberg ist gesperrt", "Bauarbeiten.", "city")
    await store(news, "Сім'я з Полтави виграла конкурс кулінарів", "Журі було суворим.", "city")
    [reply] = await user.ask("/follow об'єкт Straße")
    assert reply.text.splitlines()[:2] == ["✅ Following обʼєкт", "✅ Following strasse"]
    # Stored before the follow: found through the full-text index.
    assert sorted(await digest_titles(user)) == [
        "Die Straße nach Lemberg ist gesperrt",
        "Новий обʼєкт інфраструктури відкрили у Вінниці",
    ]
    # Stored after: matched as they are stored.
    await store(news, "Ще один об’єкт спадщини реставрують у Львові", "Фасад.", "city")
    await store(news, "STRASSE CLOSED FOR THE MARATHON", "Detour north.", "city")
    assert sorted(await digest_titles(user)) == [
        "STRASSE CLOSED FOR THE MARATHON",
        "Ще один об’єкт спадщини реставрують у Львові",
    ]
    [again] = await user.ask("/follow обʼєкт")
    assert again.text == "☑️ Already following обʼєкт"
    # A mute typed with another apostrophe beats the tag; "сім" (seven) is another word.
    await user.ask("/subscribe city")
    [muted] = await user.ask("/mute сімʼя")
    assert muted.text.splitlines()[0] == "🔇 Muted сімʼя"
    await store(news, "Сім’я рятувальників отримала житло в Ірпені", "Ключі вручили.", "city")
    await store(news, "Сім днів тривав фестиваль джазу в Одесі", "Публіка раділа.", "city")
    assert await digest_titles(user) == ["Сім днів тривав фестиваль джазу в Одесі"]
    [unfollowed] = await user.ask("/unfollow об’єкт")
    assert unfollowed.text == "🗑 Stopped following обʼєкт"
