"""Stories end to end: one digest entry per story, "Also:" its other sources, "Update:"
when it grows, the ledger per story, and the admin's /story, /split and /merge."""

from __future__ import annotations

from sqlalchemy import select

from bot.telegram.context import BotApplication
from emulator.client import Chat
from storage.models import Article
from tests.auxil.ledger import ledger_articles


def text(source: str, hour: int, title: str, lead: str, tags: str = "negotiations") -> str:
    link = f"https://{source.lower().replace(' ', '')}.example/{hour}"
    return (
        f"Politics 2026-11-20T{hour:02d}:00:00+00:00\n{source}\n{title}\n\n{tags}\n\n"
        f"{lead} More details follow.\n\n{link}\n"
    )


FIRST = text(
    "Reuters",
    9,
    "Ukraine and Britain sign grain corridor deal in London",
    "Ukraine and Britain signed a deal in London on Tuesday to protect grain shipments "
    "across the Black Sea.",
)
REWORDED = text(
    "Kyiv Independent",
    10,
    "London deal protects Ukrainian grain shipments, Britain says",
    "Britain will help guard ships carrying Ukrainian grain through the Black Sea under "
    "a deal signed in London.",
)
OTHER = text(
    "Reuters",
    11,
    "Poland and Ukraine resume border talks on trucks",
    "Polish and Ukrainian officials met in Warsaw to end the blockade of trucks at the border.",
)
UPDATE = text(
    "BBC",
    14,
    "Grain corridor deal: Britain to send two navy ships to Black Sea",
    "Britain will send two navy ships to escort grain vessels under the deal signed with "
    "Ukraine in London.",
)
INSURED = text(
    "AP",
    16,
    "Grain corridor deal: Britain and Ukraine to insure cargo ships for $50 million",
    "Britain and Ukraine will insure grain cargo ships crossing the Black Sea for up to "
    "$50 million under the deal signed in London.",
)


async def add(admin: Chat, article: str) -> int:
    [reply] = await admin.ask("/add\n" + article)
    assert reply.text.startswith("✅ Article stored\nID: "), reply.text
    return int(reply.text.splitlines()[1].removeprefix("ID: "))


async def ledger(app: BotApplication, chat_id: int) -> set[int]:
    async with app.bot_data.sessions() as session:
        return await ledger_articles(session)


async def test_one_entry_per_story_then_an_update_never_a_repeat(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    first, reworded, other = [await add(admin, a) for a in (FIRST, REWORDED, OTHER)]
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 2 new stories\n")
    assert digest.bold()[1:] == [
        "Poland and Ukraine resume border talks on trucks",
        # A story seen for the first time shows its latest report, and who told it first.
        "London deal protects Ukrainian grain shipments, Britain says",
    ]
    assert " · first reported by Reuters, " in digest.text
    assert "🏷 negotiations\nAlso: Reuters" in digest.text
    assert "https://reuters.example/9" in digest.links()
    assert digest.text.count("Ukraine and Britain sign") == 0
    [button] = digest.buttons
    assert button[0]["text"].startswith("📚 Show all 2 reports: London deal protects")
    assert button[0]["url"] == f"https://t.me/newsbot_demo_bot?start=s{first}"
    assert await ledger(app, user.user_id) == {first, reworded, other}

    update = await add(admin, UPDATE)
    [again] = await user.ask("/digest")
    assert again.text.startswith("📰 Your digest: 1 update\n")
    assert again.bold()[1] == (
        "Update: Grain corridor deal: Britain to send two navy ships to Black Sea"
    )
    assert "first reported" not in again.text  # they had the story
    assert "Also: Reuters · Kyiv Independent" in again.text
    assert await ledger(app, user.user_id) == {first, reworded, other, update}
    [nothing] = await user.ask("/digest")
    assert "Grain" not in nothing.text and "📰" not in nothing.text


async def test_a_re_report_that_adds_nothing_is_no_update_and_joins_also_next_time(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    """Issue 24: "Update:" only when something is new to the reader; a plain re-report
    of the same facts only adds its source to the entry's "Also:" next time."""
    first = await add(admin, FIRST)
    update = await add(admin, UPDATE)  # 14:00
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.bold()[1:] == [
        "Grain corridor deal: Britain to send two navy ships to Black Sea"
    ]
    assert "Also: Reuters" in digest.text
    reworded = await add(admin, REWORDED)  # the same facts, other words
    [nothing] = await user.ask("/digest")
    assert nothing.text.startswith("Nothing new on your tags right now")
    assert await ledger(app, user.user_id) == {first, update, reworded}  # taken in silently
    insured = await add(admin, INSURED)  # a new figure: news
    [news] = await user.ask("/digest")
    assert news.text.startswith("📰 Your digest: 1 update\n")
    assert news.bold()[1:] == [
        "Update: Grain corridor deal: Britain and Ukraine to insure cargo ships for $50 million"
    ]
    assert "Also: Reuters · Kyiv Independent · +1" in news.text
    assert await ledger(app, user.user_id) == {first, update, reworded, insured}


async def test_story_split_and_merge(admin: Chat, app: BotApplication) -> None:
    first, reworded, other = [await add(admin, a) for a in (FIRST, REWORDED, OTHER)]
    [listing] = await admin.ask(f"/story {reworded}")
    lines = listing.text.splitlines()
    assert lines[0] == f"The story of article {reworded}: 2 articles"
    assert lines[1].startswith(f"{first} Reuters · ")
    assert lines[1].endswith("Ukraine and Britain sign grain corridor deal in London")
    assert lines[2].startswith(f"{reworded} Kyiv Independent · ")
    [alone] = await admin.ask(f"/story {other}")
    assert alone.text == f"Article {other} is a story of its own: no other article reports it."

    [split] = await admin.ask(f"/split {first}")
    assert split.text == (
        f"✂️ Article {first} is a story of its own now; 1 other article keeps the story."
    )
    [again] = await admin.ask(f"/split {first}")
    assert again.text.startswith(f"Article {first} is a story of its own already")
    # Split stays split: a new report of the story joins one of the two, never both.
    update = await add(admin, UPDATE)
    async with app.bot_data.sessions() as session:
        rows = dict((await session.execute(select(Article.id, Article.story_id))).all())
    story: dict[int, int] = {a: rows[a] or a for a in (first, reworded, update)}
    assert story[first] != story[reworded] == reworded
    assert story[update] in (story[first], story[reworded])

    [merged] = await admin.ask(f"/merge {other} {first}")
    joined = 2 + (story[update] == story[first])
    assert merged.text == (
        f"🔗 Joined: the story now has {joined} articles. /story {first} shows it."
    )
    [same] = await admin.ask(f"/merge {other} {first}")
    assert same.text == f"Articles {other} and {first} are one story already."
    [listed] = await admin.ask(f"/story {other}")
    assert listed.text.startswith(f"The story of article {other}: {joined} articles")


async def test_story_commands_refuse_bad_input_and_non_admins(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    first = await add(admin, FIRST)
    answers = {
        "/story": "Which id?\nUsage: /story 42",
        "/story abc": "'abc' is not an article id.\nUsage: /story 42",
        "/story <b>1</b>": "'<b>1</b>' is not an article id.\nUsage: /story 42",
        "/split 99999": "There is no article 99999. /articles lists them.",
        "/merge": "Which two articles?\nUsage: /merge 42 57",
        "/merge 1": "'1' is not two article ids.\nUsage: /merge 42 57",
        "/merge 1 2 3": "'1 2 3' is not two article ids.\nUsage: /merge 42 57",
        "/merge x 1": "'x 1' is not two article ids.\nUsage: /merge 42 57",
        f"/merge {first} {first}": "That is one article twice; name two different ones.",
        f"/merge {first} 424242": "There is no article 424242. /articles lists them.",
        "/story " + "9" * 5000: "is not an article id.",
    }
    for typed, expected in answers.items():
        [reply] = await admin.ask(typed)
        assert expected in reply.text, (typed, reply.text)
    for command in ("/story 1", "/split 1", "/merge 1 2"):
        [refused] = await user.ask(command)
        assert refused.text == "Sorry, only the bot's admins can do that."


async def test_one_source_spelt_two_ways_is_not_named_as_another(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    await add(admin, FIRST)
    # One source's two articles are one story only as an explicit update: the same link.
    await add(
        admin,
        REWORDED.replace("Kyiv Independent", "REUTERS", 1).replace(
            "https://kyivindependent.example/10", "https://reuters.example/9"
        ),
    )
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 1 new story\n")
    assert "Also:" not in digest.text and not digest.buttons
