"""`newsbot import`: article files into the database, idempotently."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from bot.articles.format import ArticleFormatError, parse_article_bytes
from bot.words.search import store_articles
from storage import repo
from storage.records import ParsedArticle

logger = logging.getLogger(__name__)

PROGRESS_THRESHOLD = 300
BATCH_SIZE = 250


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    # Files of articles an admin deleted, and the deleted article's id: not stored again.
    skipped: list[tuple[str, int]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        skipped = f"{len(self.skipped)} skipped (deleted by an admin), " if self.skipped else ""
        return (
            f"{self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {skipped}{self.failed} failed"
        )

    def skipped_lines(self) -> list[str]:
        return [
            f"{name}: skipped: deleted by an admin (article {article_id}; "
            f"/undelete {article_id} brings it back)"
            for name, article_id in self.skipped
        ]

    def count(self, name: str, article_id: int, outcome: repo.Outcome) -> None:
        if outcome is repo.Outcome.DELETED:
            self.skipped.append((name, article_id))
        elif outcome is repo.Outcome.ADDED:
            self.added += 1
        elif outcome is repo.Outcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given, and ``*.txt`` under directories, sorted; missing paths are failures."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.txt") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append((str(path), "no such file or directory"))
    return files, missing


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    batch: Sequence[tuple[str, ParsedArticle]],
    report: ImportReport,
    now: datetime,
) -> None:
    try:
        async with sessions.begin() as session:
            outcomes = await store_articles(session, [a for _, a in batch], now=now)
    except SQLAlchemyError:
        if len(batch) == 1:
            name = batch[0][0]
            logger.exception("storing %s failed", name)
            report.failures.append((name, "the database refused the article (see the log)"))
            return
        # Find the one that fails; store the others.
        for item in batch:
            await _store(sessions, [item], report, now)
        return
    for (name, _), (row, outcome) in zip(batch, outcomes, strict=True):
        report.count(name, row.id, outcome)


async def import_files(
    sessions: async_sessionmaker[AsyncSession],
    paths: Sequence[Path],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: bool = True,
) -> ImportReport:
    files, missing = find_files(paths)
    report = ImportReport(failures=list(missing))
    batch: list[tuple[str, ParsedArticle]] = []
    bar = tqdm(
        total=len(files),
        unit="file",
        disable=not progress or len(files) <= PROGRESS_THRESHOLD,
        leave=False,
    )
    with bar:
        for path in files:
            try:
                batch.append((str(path), parse_article_bytes(path.read_bytes())))
            except ArticleFormatError as error:
                report.failures.append((str(path), str(error)))
            except OSError as error:
                report.failures.append((str(path), f"cannot read: {error.strerror}"))
            if len(batch) >= BATCH_SIZE:
                await _store(sessions, batch, report, clock())
                batch = []
            bar.update()
        if batch:
            await _store(sessions, batch, report, clock())
    return report
