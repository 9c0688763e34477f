"""Alerts to admins in Telegram: ALERT_CHAT_ID (by default each admin's private chat; an
empty value turns them off).

Every ``every`` seconds the process looks at what it can see, and each cause that holds
is an alert:

- a feed that has failed every poll for 7 days (it turns "broken"), one cause per feed;
- delivery passes that failed more than ALERT_FAILED_PERCENT of the digests they
  finished since the last look;
- more than ALERT_429_PER_HOUR messages refused with 429 in the last hour;
- the database not answering for more than ALERT_DATABASE_SECONDS.

An alert is sent when its cause starts, at most once an hour per cause (a cause that
comes and goes is not repeated within the hour), and a "resolved" line when it clears.
The counts come from the process's own metrics (bot.ops.metrics), so each `run` and
`worker` alerts on what it did itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram.error import TelegramError

from bot import texts
from bot.i18n import Msg, Translator, translator
from bot.ops import metrics
from bot.ops.health import check_database

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ops.health import Readiness
    from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

REPEAT_AFTER = 3600.0  # seconds: an alert is sent at most once an hour per cause
LOOK_EVERY = 30.0
HOUR = 3600.0


@dataclass
class _Cause:
    firing: bool = False
    sent_at: float | None = None  # when its alert was last sent
    told: bool = False  # an alert went out and its "resolved" line has not


@dataclass(frozen=True, slots=True)
class Finding:
    """A cause and what to say: ``alert`` while it holds, ``resolved`` when it clears."""

    cause: str
    holds: bool
    alert: str
    resolved: str


def _digests() -> tuple[float, float]:
    """Digests finished by passes so far: failed, all."""
    counts = metrics.digests_finished()
    results = ("sent", "blocked", "postponed", "failed")
    return counts.get("failed", 0.0), sum(counts.get(r, 0.0) for r in results)


class Alerts:
    def __init__(
        self,
        app: BotApplication,
        settings: Settings,
        targets: list[int],
        readiness: Readiness,
        *,
        delivery: bool,
        every: float = LOOK_EVERY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.targets = targets
        self.readiness = readiness
        self.delivery = delivery
        self.every = every
        # The bot's clock (the tests' fake one), in seconds.
        self._now = clock or app.bot_data.clock
        self.causes: dict[str, _Cause] = {}
        # (when, 429s so far), from start: those before the first look count too.
        self._refusals: deque[tuple[float, float]] = deque([(self.clock(), metrics.refused_429())])
        self._digests = _digests()
        self._db_down_since: float | None = None
        self._feed_titles: dict[str, str] = {}  # a broken feed's title, for its resolved line

    def clock(self) -> float:
        return self._now().timestamp()

    @classmethod
    def for_settings(
        cls, app: BotApplication, settings: Settings, readiness: Readiness, *, delivery: bool
    ) -> Alerts | None:
        """None when alerts are off (ALERT_CHAT_ID empty, or no admins to tell)."""
        chat = settings.alert_chat_id
        targets = sorted(settings.admin_ids) if chat is None else [int(chat)] if chat else []
        if not targets:
            return None
        return cls(app, settings, targets, readiness, delivery=delivery)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.look()
            except Exception:
                logger.exception("alerts: looking failed; trying again in %g s", self.every)

    async def look(self) -> None:
        """Evaluate every cause once and send what changed."""
        t = self._translator()
        findings = [await self._database(t), self._429(t)]
        if self.delivery:
            findings.append(self._failed_digests(t))
        if self._db_down_since is None:
            findings += await self._feeds(t)
        for finding in findings:
            await self.apply(finding)

    async def apply(self, finding: Finding) -> None:
        cause = self.causes.setdefault(finding.cause, _Cause())
        now = self.clock()
        if finding.holds:
            # Told once an hour at most: a cause back within the hour of its last alert
            # is told when the hour is over, if it still holds.
            if not cause.told and (cause.sent_at is None or now - cause.sent_at >= REPEAT_AFTER):
                await self.send(finding.alert)
                cause.sent_at, cause.told = now, True
            cause.firing = True
        elif cause.firing:
            cause.firing = False
            if cause.told:
                await self.send(finding.resolved)
                cause.told = False

    async def send(self, text: str) -> None:
        logger.warning("alert: %s", text)
        for chat_id in self.targets:
            try:
                await self.app.bot.send_message(chat_id, text, parse_mode=None)
            except TelegramError as error:
                logger.warning("alert: could not tell chat %s: %s", chat_id, error)

    def _translator(self) -> Translator:
        return translator(self.settings.default_language)

    @staticmethod
    def _say(t: Translator, message: Msg, **params: object) -> str:
        return t._(message, **params)

    async def _database(self, t: Translator) -> Finding:
        check = await check_database(self.readiness.engine())
        now = self.clock()
        if check.ok:
            self._db_down_since = None
        elif self._db_down_since is None:
            self._db_down_since = now
        down = 0.0 if self._db_down_since is None else now - self._db_down_since
        holds = not check.ok and down >= self.settings.alert_database_seconds
        return Finding(
            "database",
            holds,
            self._say(t, texts.DATABASE_DOWN, seconds=f"{down:.0f}", detail=check.detail),
            self._say(t, texts.DATABASE_RESOLVED),
        )

    def _429(self, t: Translator) -> Finding:
        now, refused = self.clock(), metrics.refused_429()
        self._refusals.append((now, refused))
        while self._refusals and now - self._refusals[0][0] > HOUR:
            self._refusals.popleft()
        count = int(refused - self._refusals[0][1])
        limit = self.settings.alert_429_per_hour
        return Finding(
            "429",
            count > limit,
            self._say(t, texts.TOO_MANY_429, count=count, limit=limit),
            self._say(t, texts.TOO_MANY_429_RESOLVED, limit=limit),
        )

    def _failed_digests(self, t: Translator) -> Finding:
        failed, total = _digests()
        new_failed, new_total = failed - self._digests[0], total - self._digests[1]
        self._digests = (failed, total)
        cause = self.causes.get("delivery")
        limit = self.settings.alert_failed_percent
        if new_total <= 0:  # no digests since the last look: nothing changes
            holds = cause is not None and cause.firing
            percent = 0.0
        else:
            percent = 100.0 * new_failed / new_total
            holds = percent > limit
        return Finding(
            "delivery",
            holds,
            self._say(
                t,
                texts.DELIVERY_FAILED,
                failed=int(new_failed),
                total=int(new_total),
                percent=f"{percent:.0f}",
                limit=f"{limit:g}",
            ),
            self._say(t, texts.DELIVERY_RESOLVED, limit=f"{limit:g}"),
        )

    async def _feeds(self, t: Translator) -> list[Finding]:
        from bot.feeds.policy import BROKEN_AFTER
        from storage import health

        state = self.app.bot_data
        since = state.clock() - BROKEN_AFTER
        async with state.sessions() as session:
            broken = await health.failing_feeds(session, since)
        findings = []
        seen = set()
        days = BROKEN_AFTER // timedelta(days=1)
        for feed in broken:
            cause = f"feed:{feed.id}"
            seen.add(cause)
            title = self._feed_titles[cause] = feed.name or feed.title
            findings.append(
                Finding(
                    cause,
                    True,
                    self._say(
                        t,
                        texts.FEED_BROKEN,
                        id=feed.id,
                        title=title,
                        days=days,
                        error=feed.error or "",
                    ),
                    self._say(t, texts.FEED_RESOLVED, id=feed.id, title=title),
                )
            )
        for cause, state_ in self.causes.items():
            if cause.startswith("feed:") and cause not in seen and state_.firing:
                feed_id = cause.split(":", 1)[1]
                title = self._feed_titles.get(cause, "")
                resolved = self._say(t, texts.FEED_RESOLVED, id=feed_id, title=title)
                findings.append(Finding(cause, False, "", resolved))
        return findings
