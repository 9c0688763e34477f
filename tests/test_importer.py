"""`newsbot import`: idempotent, reports every failure with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.importer import PROGRESS_THRESHOLD, import_files
from bot.telegram.context import BotApplication
from storage.db import create_engine, create_sessionmaker
from storage.models import Article, ArticleTag, Tag
from tests.auxil import snapshot
from tests.auxil.cli import Here, base_environment
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEEDS
from tests.auxil.snapshot import Rows

SEED_COUNT = len(list(SEEDS.glob("*.txt")))


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_seeds_import_once_then_unchanged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await import_files(sessions, [SEEDS])
    assert first.summary() == f"{SEED_COUNT} added, 0 updated, 0 unchanged, 0 failed"
    second = await import_files(sessions, [SEEDS])
    assert second.summary() == f"0 added, 0 updated, {SEED_COUNT} unchanged, 0 failed"
    assert await count(sessions, Article) == SEED_COUNT


async def test_one_import_leaves_the_rows_seeded_puts_back(
    schema_url: str, seed_rows: Rows
) -> None:
    """`seeded` puts back the rows of one import into SQLite (tests/auxil/snapshot.py):
    they are the rows the importer leaves on this backend too."""
    engine = create_engine(schema_url)
    sessions = create_sessionmaker(engine)
    try:
        await import_files(sessions, [SEEDS], clock=FakeClock())
        async with sessions() as session:
            assert await snapshot.take(session) == seed_rows
    finally:
        await engine.dispose()


async def test_seeded_holds_those_rows_and_ids_go_on_from_them(
    seeded: BotApplication, seed_rows: Rows, tmp_path: Path
) -> None:
    sessions = seeded.bot_data.sessions
    async with sessions() as session:
        assert await snapshot.take(session) == seed_rows
    again = await import_files(sessions, [SEEDS], clock=seeded.bot_data.clock)
    assert again.summary() == f"0 added, 0 updated, {SEED_COUNT} unchanged, 0 failed"
    (tmp_path / "new.txt").write_text(
        "Science 2026-11-01T10:00:00+00:00\nDesk\nA new one\n\nnever seen before\n\nBody. More.\n",
        "utf-8",
    )
    assert (await import_files(sessions, [tmp_path], clock=seeded.bot_data.clock)).added == 1
    async with sessions() as session:
        article = await session.scalar(select(Article).where(Article.title == "A new one"))
        tag = await session.scalar(select(Tag).where(Tag.name == "never seen before"))
    assert article is not None
    assert article.id == max(row["id"] for row in seed_rows["articles"]) + 1
    assert tag is not None
    assert tag.id == max(row["id"] for row in seed_rows["tags"]) + 1


async def test_seeds_are_rich_enough(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_files(sessions, [SEEDS])
    async with sessions() as session:
        tags = await session.scalar(select(func.count()).select_from(Tag))
        shared = await session.scalar(
            select(func.count()).select_from(
                select(ArticleTag.article_id)
                .group_by(ArticleTag.article_id)
                .having(func.count() >= 2)
                .subquery()
            )
        )
        articles = (await session.scalars(select(Article))).all()
    assert SEED_COUNT >= 41
    assert tags is not None
    assert tags >= 12
    assert shared is not None
    assert shared >= 10
    assert len({a.source for a in articles}) >= 5
    assert len({a.category for a in articles}) >= 5
    assert any(len(a.body) > 4000 for a in articles)
    assert any(a.url for a in articles)
    assert any(set("<>&") <= set(a.title) and set("<>&") <= set(a.body) for a in articles)
    spread = max(a.published_at for a in articles if a.published_at.year == 2026) - min(
        a.published_at for a in articles if a.published_at.year == 2026
    )
    assert spread.days >= 21


async def test_changed_file_updates_instead_of_duplicating(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    seed = tmp_path / "seed.txt"
    shutil.copy(SEEDS / "000_6477664cfccc58b9.txt", seed)
    await import_files(sessions, [seed])
    text = seed.read_text(encoding="utf-8")
    seed.write_text(
        text.replace("negotiations, United Kingdom", "negotiations, Diplomacy"), "utf-8"
    )
    report = await import_files(sessions, [seed])
    assert report.summary() == "0 added, 1 updated, 0 unchanged, 0 failed"
    assert await count(sessions, Article) == 1
    async with sessions() as session:
        names = set(
            (
                await session.scalars(
                    select(Tag.name).join(ArticleTag, ArticleTag.tag_id == Tag.id)
                )
            ).all()
        )
    assert "Diplomacy" in names
    assert "United Kingdom" not in names


async def test_bad_files_are_reported_and_good_ones_imported(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(SEEDS / "000_6477664cfccc58b9.txt", nested / "good.txt")
    (tmp_path / "bad.txt").write_text("Politics yesterday\nSource\nTitle\n", "utf-8")
    (tmp_path / "ignored.md").write_text("not an article", "utf-8")
    report = await import_files(sessions, [tmp_path, tmp_path / "missing.txt"])
    assert report.summary() == "1 added, 0 updated, 0 unchanged, 2 failed"
    failures = dict(report.failures)
    assert failures[str(tmp_path / "bad.txt")].startswith(
        "line 1: expected '<Category> <ISO timestamp>', got 'Politics yesterday'"
    )
    assert failures[str(tmp_path / "missing.txt")] == "no such file or directory"
    assert await count(sessions, Article) == 1


def test_cli_reports_and_exits_non_zero_on_failure(tmp_path: Path, here: Here) -> None:
    shutil.copy(SEEDS / "000_6477664cfccc58b9.txt", tmp_path / "good.txt")
    (tmp_path / "bad.txt").write_text("Politics 2026-01-01T00:00:00+00:00\n\n", "utf-8")
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    code, out, err = here("import", str(tmp_path), cwd=tmp_path, env=env)
    assert code == 1
    assert out.strip() == "1 added, 0 updated, 0 unchanged, 1 failed"
    assert f"{tmp_path / 'bad.txt'}: line 2: expected the source name" in err
    code, out, _ = here("import", str(tmp_path / "good.txt"), cwd=tmp_path, env=env)
    assert code == 0
    assert out.strip() == "0 added, 0 updated, 1 unchanged, 0 failed"


async def test_first_spelling_of_a_tag_wins_within_one_import(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    for name, tag in (("a.txt", "Economy"), ("b.txt", "ECONOMY"), ("c.txt", "#economy")):
        (tmp_path / name).write_text(
            f"Economy 2026-11-01T10:00:00+00:00\nDesk\nTitle {name}\n\n{tag}\n\nBody text.\n",
            "utf-8",
        )
    report = await import_files(sessions, [tmp_path])
    assert report.summary() == "3 added, 0 updated, 0 unchanged, 0 failed"
    async with sessions() as session:
        assert (await session.scalars(select(Tag.name))).all() == ["Economy"]


def test_a_directory_without_articles_says_so(tmp_path: Path, here: Here) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("not an article", "utf-8")
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"}
    assert here("import", str(empty), cwd=tmp_path, env=env) == (
        0,
        "0 added, 0 updated, 0 unchanged, 0 failed\n",
        f"{empty}: no .txt files in this directory\n",
    )


def test_no_progress_bar_when_output_is_not_a_terminal(tmp_path: Path, here: Here) -> None:
    """stderr is not a terminal (here pytest's capture, as a pipe would be): no tqdm bar
    in it."""
    many = tmp_path / "many"
    many.mkdir()
    for n in range(PROGRESS_THRESHOLD + 1):
        (many / f"{n:04}.txt").write_text(
            f"Science 2026-11-01T10:00:00+00:00\nDesk\nTitle {n}\n\nspace\n\nBody {n}. More.\n",
            "utf-8",
        )
    env = base_environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    assert here("import", str(many), cwd=tmp_path, env=env) == (
        0,
        f"{PROGRESS_THRESHOLD + 1} added, 0 updated, 0 unchanged, 0 failed\n",
        "",
    )
