"""Long articles and long digests: split where Telegram would otherwise refuse them."""

from __future__ import annotations

from telegram.constants import MessageLimit

from bot.telegram.context import BotApplication
from emulator.client import Chat
from emulator.utf16 import utf16_len

PARAGRAPH = (
    "This paragraph describes one part of a very long report in plain words, and it goes on "
    "for a while so that the article as a whole runs to several thousand characters & more. "
)


def long_article(title: str, paragraphs: int, tag: str = "longreads") -> str:
    body = "\n\n".join(f"{i}. {PARAGRAPH * 3}" for i in range(1, paragraphs + 1))
    return (
        f"Science 2026-11-20T10:00:00+00:00\nScience Desk\n{title}\n\n{tag}\n\n"
        f"Lead sentence of {title}. {body}\n"
    )


async def test_a_6000_character_article_arrives_whole_in_parts(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    text = long_article("A very long report", 12)
    assert len(text) > 6000
    [stored] = await admin.ask("/add\n" + text)
    assert stored.text.startswith("✅ Article stored\nID: 1")
    await user.ask("/subscribe longreads")
    [digest] = await user.ask("/digest")
    [link] = digest.links()
    payload = link.split("start=")[1]
    await user.client.send_text(user.user_id, f"/start {payload}")
    parts = await user.read(2)
    assert len(parts) == 2
    assert all(utf16_len(p.text) <= MessageLimit.MAX_TEXT_LENGTH for p in parts)
    assert parts[0].bold() == ["A very long report"]
    joined = "\n\n".join(p.text for p in parts)
    for i in range(1, 13):  # every paragraph, whole, in order
        assert f"{i}. {PARAGRAPH * 3}".strip() in joined
    assert joined.index("11. ") > joined.index("2. ")


async def test_a_long_digest_is_split_between_articles(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    def word(n: int, k: int) -> str:  # words of their own: twelve stories, not one
        return "".join("abcdefghij"[int(c)] for c in f"{n:02d}{k:02d}")

    for n in range(1, 13):
        title = f"Report {n:02d} " + " ".join(word(n, k) for k in range(52))
        await admin.ask(
            "/add\n"
            + long_article(title.strip(), 1, tag="bulk").replace(
                "2026-11-20T10:00", f"2026-11-20T10:{n:02d}"
            )
        )
    await user.ask("/subscribe bulk")
    await user.client.send_text(user.user_id, "/digest")
    parts = await user.read(2)
    assert len(parts) == 2
    assert all(utf16_len(p.text) <= MessageLimit.MAX_TEXT_LENGTH for p in parts)
    assert parts[0].text.startswith("📰 Your digest: 10 new stories")
    assert parts[-1].text.endswith("+2 more stories waiting; send /digest for more now")
    headlines = [b for p in parts for b in p.bold() if b.startswith("Report")]
    assert [h[:9] for h in headlines] == [f"Report {n:02d}" for n in range(12, 2, -1)]
    for part in parts:  # each article's headline, summary and link sit in one message
        assert len([b for b in part.bold() if b.startswith("Report")]) == len(part.links())
    [rest] = await user.ask("/digest")
    assert [b[:9] for b in rest.bold() if b.startswith("Report")] == ["Report 02", "Report 01"]
