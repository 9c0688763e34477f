"""The memory of /mydata: exporting a chat with a long ledger, streamed to a file and
uploaded to the emulator with sendDocument, in a process of its own (peak RSS and the
tracemalloc peak are the export's).

`python -m bench.privacy URL API CHAT` is the child: it exports the chat the parent
loaded and sends the file to the emulator at API.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from typing import Any

import uvloop
from sqlalchemy import insert

from bench.harness import (
    TOKEN,
    EmulatorProcess,
    child,
    child_main,
    emit,
    fresh_database,
    peak_rss_mb,
)
from storage.db import create_engine, create_sessionmaker
from storage.models import (
    Article,
    Digest,
    DigestKind,
    DigestMessage,
    DigestStatus,
    Subscriber,
)

CHAT = 424242
DIGESTS = 30  # a daily subscriber's digests kept for DIGEST_RETENTION_DAYS


async def load(url: str, rows: int) -> None:
    """One subscriber with ``rows`` ledger entries (each an article with a title and a
    link) spread over 30 digests, each waiting to send three messages."""
    await fresh_database(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine).begin() as session:
            subscriber = await session.scalar(
                insert(Subscriber)
                .values(
                    chat_id=CHAT, timezone="Europe/Kyiv", digest_time=day_time(8),
                    frequency="daily", weekday=0, paused=False, blocked=False,
                    language="uk", next_due_at=now, created_at=now,
                )
                .returning(Subscriber.id)
            )  # fmt: skip
            ids: list[int] = []
            for start in range(0, rows, 5_000):
                part = range(start, min(rows, start + 5_000))
                ids += list(
                    await session.scalars(
                        insert(Article).returning(Article.id),
                        [
                            {
                                "fingerprint": f"{n:064x}", "content_hash": "0" * 64,
                                "title": f"Article number {n}: a headline of a usual length "
                                "about the news of the day",
                                "source": "Bench Wire", "category": "News",
                                "published_at": now, "added_at": now - timedelta(days=n % 30),
                                "url": f"https://news.example.org/2026/12/article-{n}.html",
                                "summary": "A summary line.", "body": "Body.",
                            }
                            for n in part
                        ],
                    )
                )  # fmt: skip
            digest_ids = list(
                await session.scalars(
                    insert(Digest).returning(Digest.id, sort_by_parameter_order=True),
                    [
                        {
                            "subscriber_id": subscriber, "kind": DigestKind.SCHEDULED,
                            "status": DigestStatus.PENDING, "created_at": now - timedelta(days=d),
                            "sent_chunks": 0, "message_ids": [], "attempts": 0,
                            "ledger": tuple(ids[d::DIGESTS]),
                        }
                        for d in range(DIGESTS)
                    ],
                )
            )  # fmt: skip
            text = "<b>Заголовок статті</b>\nОдин рядок підсумку. " * 40
            await session.execute(
                insert(DigestMessage),
                [
                    {"digest_id": d, "position": p, "body": {"text": text, "article_ids": []}}
                    for d in digest_ids
                    for p in range(3)
                ],
            )
    finally:
        await engine.dispose()


async def export_child(url: str, api: str, chat: str, trace: str) -> dict[str, Any]:
    """Export the chat to a temporary file and upload it with sendDocument, as /mydata
    does; measured from before the export to after the upload. With ``trace`` "yes",
    under tracemalloc (which makes it several times slower), for its peak."""
    from telegram import Bot

    from bot.privacy.service import export_chat
    from bot.telegram.handlers.privacy import as_upload
    from bot.telegram.http import AiohttpRequest

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    bot = Bot(TOKEN, base_url=f"{api}/bot", request=AiohttpRequest(read_timeout=60))
    await bot.initialize()
    before = peak_rss_mb()
    if trace == "yes":
        tracemalloc.start()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as file:
        async with sessions() as session:
            await export_chat(session, int(chat), file, datetime.now(UTC))
        exported = time.perf_counter() - started
        size = file.tell()
        file.seek(0)
        await bot.send_document(int(chat), as_upload(file, f"newsbot-data-{chat}.json"))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await bot.shutdown()
    await engine.dispose()
    return {
        "bytes": size,
        "export_seconds": round(exported, 2),
        "seconds": round(seconds, 2),
        "tracemalloc_peak_mb": round(peak / 2**20, 1) if trace == "yes" else None,
        "peak_rss_before_mb": round(before, 1),
    }


def run_export_memory(url: str, rows: int) -> None:

    uvloop.run(load(url, rows))
    with EmulatorProcess() as emulator:
        result = child("privacy", url, emulator.url, str(CHAT), "no")
        traced = child("privacy", url, emulator.url, str(CHAT), "yes")
    result["tracemalloc_peak_mb"] = traced["tracemalloc_peak_mb"]
    emit(
        "export_memory",
        f"/mydata of a chat with {rows:,} ledger rows: {result['bytes'] / 2**20:.1f} MB of "
        f"JSON exported in {result['export_seconds']:.1f} s and uploaded in "
        f"{result['seconds']:.1f} s; tracemalloc peak (a run of its own) "
        f"{result['tracemalloc_peak_mb']:.1f} MB, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB ({result['peak_rss_before_mb']:.0f} MB before "
        "the export: the bot's modules and a database connection)",
        ledger_rows=rows,
        **result,
    )


if __name__ == "__main__":
    child_main(export_child, "url", "api", "chat", "trace")
