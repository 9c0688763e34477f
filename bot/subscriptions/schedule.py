"""When a subscriber's next digest is due: local wall-clock time, DST-correct, in UTC."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, available_timezones

from bot.i18n import N_, Problem, languages, translator
from storage.folding import APOSTROPHE, APOSTROPHES


class Frequency(StrEnum):
    """How often a chat gets its digest (stored by value in subscribers.frequency)."""

    DAILY = "daily"
    WEEKLY = "weekly"


_OFFSET = re.compile(r"(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_HHMM = re.compile(r"(\d{1,2})[:.](\d{2})")


class ScheduleError(Problem):
    """A time, timezone, frequency or weekday a person typed is not valid."""

    def __init__(
        self, template: str = "", /, suggestions: list[str] | None = None, **params: object
    ) -> None:
        super().__init__(template, **params)
        self.suggestions = suggestions or []


# Old names and common aliases people still type; the IANA database keeps them as links,
# but a subscriber should see (and keep) the current name.
_RENAMED = {
    "europe/kiev": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "europe/uzhgorod": "Europe/Kyiv",
    "europe/zaporozhye": "Europe/Kyiv",
    "asia/calcutta": "Asia/Kolkata",
    "calcutta": "Asia/Kolkata",
    "asia/saigon": "Asia/Ho_Chi_Minh",
    "saigon": "Asia/Ho_Chi_Minh",
    "asia/rangoon": "Asia/Yangon",
    "rangoon": "Asia/Yangon",
    "asia/katmandu": "Asia/Kathmandu",
    "katmandu": "Asia/Kathmandu",
    "asia/ulan_bator": "Asia/Ulaanbaatar",
    "asia/istanbul": "Europe/Istanbul",
    "turkey": "Europe/Istanbul",
    "america/buenos_aires": "America/Argentina/Buenos_Aires",
    "buenos aires": "America/Argentina/Buenos_Aires",
    "us/eastern": "America/New_York",
    "us/central": "America/Chicago",
    "us/mountain": "America/Denver",
    "us/pacific": "America/Los_Angeles",
    "us/hawaii": "Pacific/Honolulu",
    "us/alaska": "America/Anchorage",
    "london": "Europe/London",
    "new york": "America/New_York",
    "los angeles": "America/Los_Angeles",
}
_MAX_ZONE_TEXT = 64


@dataclass(frozen=True, slots=True)
class _ZoneIndex:
    names: dict[str, str]  # casefolded full name or alias -> canonical name
    cities: dict[str, str]  # casefolded city ("kyiv", "new york") -> canonical name
    regions: dict[str, str]  # casefolded directory ("europe") -> its spelling


@lru_cache(maxsize=1)
def _zones() -> _ZoneIndex:
    names: dict[str, str] = {}
    cities: dict[str, str] = {}
    regions: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("posix/", "right/")) or name in {"localtime", "Factory"}:
            continue
        names[name.casefold()] = name
        parts = name.split("/")
        for depth in range(1, len(parts)):
            region = "/".join(parts[:depth])
            regions.setdefault(region.casefold(), region)
        if len(parts) > 1:
            cities.setdefault(parts[-1].replace("_", " ").casefold(), name)
    for alias, name in _RENAMED.items():
        names[alias] = name
    for region in regions:
        names.pop(region, None)
    return _ZoneIndex(names, cities, regions)


def suggest_timezones(text: str, limit: int = 3) -> list[str]:
    """Zone names close to ``text`` ("europe/kyev" -> "Europe/Kyiv")."""
    zones = _zones()
    key = text.strip().casefold().replace("_", " ")
    found: list[str] = []
    for pool in (zones.cities, {k.replace("_", " "): v for k, v in zones.names.items()}):
        for close in difflib.get_close_matches(key, list(pool), n=limit, cutoff=0.75):
            if pool[close] not in found:
                found.append(pool[close])
    return found[:limit]


def parse_timezone(text: str) -> str:
    """Canonical name of an IANA zone (``Europe/Kyiv``, also typed ``europe/kyiv``,
    ``Kyiv`` or ``Kiev``) or a fixed offset (``UTC+03:00``)."""
    text = text.strip()
    if text.upper() in {"UTC", "GMT", "Z"}:
        return "UTC"
    if match := _OFFSET.fullmatch(text):
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            raise ScheduleError(N_("'{text}' is outside UTC-14:00…UTC+14:00"), text=text)
        if hours == 0 and minutes == 0:
            return "UTC"
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    if len(text) > _MAX_ZONE_TEXT:
        raise ScheduleError(N_("'{text}…' is too long for a timezone"), text=text[:_MAX_ZONE_TEXT])
    zones = _zones()
    key = " ".join(text.split()).casefold()
    if found := zones.names.get(key) or zones.names.get(key.replace(" ", "_")):
        return found
    if found := zones.cities.get(key.replace("_", " ")):
        return found
    if region := zones.regions.get(key.rstrip("/")):
        raise ScheduleError(
            N_("'{region}' is a region; add a city, e.g. {example}"),
            region=region,
            example=_example_in(region),
        )
    raise ScheduleError(
        N_("'{text}' is not a known timezone"), suggestions=suggest_timezones(text), text=text
    )


def _example_in(region: str) -> str:
    prefix = region.casefold() + "/"
    return next(name for key, name in _zones().names.items() if key.startswith(prefix))


def tzinfo_for(name: str) -> tzinfo:
    """The tzinfo for a name that `parse_timezone` returned."""
    if name == "UTC":
        return UTC
    if match := _OFFSET.fullmatch(name):
        sign = -1 if match.group(1) == "-" else 1
        offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * offset, name)
    return ZoneInfo(name)


def parse_digest_time(text: str) -> time:
    """``HH:MM`` on a 24-hour clock."""
    match = _HHMM.fullmatch(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ScheduleError(
            N_("'{text}' is not a time of day as HH:MM, e.g. 07:30"), text=text.strip()
        )
    return time(int(match.group(1)), int(match.group(2)))


# "пʼятниця" as Babel spells it, whichever apostrophe of the family was typed.
_APOSTROPHES = str.maketrans(dict.fromkeys(APOSTROPHES, APOSTROPHE))


@lru_cache(maxsize=1)
def _weekday_names() -> list[tuple[int, str, str]]:
    """(index, full name, abbreviation) in every language the bot speaks."""
    return [
        (index, full.translate(_APOSTROPHES), short.translate(_APOSTROPHES))
        for code in languages()
        for index, (full, short) in translator(code).weekday_names().items()
    ]


def parse_weekday(text: str) -> int:
    """``mon``/``Monday``/``пн``/``понеділок`` -> 0 … ``sun``/``нд`` -> 6, in any language
    the bot speaks: the abbreviation, or at least three letters of the name."""
    word = text.strip().casefold().translate(_APOSTROPHES).rstrip(".")
    for index, full, short in _weekday_names():
        if word == short or (len(word) >= 3 and full.startswith(word)):
            return index
    raise ScheduleError(N_("'{text}' is not a weekday, e.g. monday or mon"), text=text.strip())


# The words for each frequency, as /frequency shows them; every language's are accepted.
FREQUENCY_WORDS = {Frequency.DAILY: N_("daily"), Frequency.WEEKLY: N_("weekly")}


@lru_cache(maxsize=1)
def _frequency_words() -> dict[str, Frequency]:
    return {
        translator(code)._(word).casefold(): frequency
        for code in languages()
        for frequency, word in FREQUENCY_WORDS.items()
    }


def parse_frequency(words: list[str]) -> tuple[Frequency, int]:
    """(frequency, weekday) from ``daily`` or ``weekly [day]``, in any language the bot
    speaks (``щотижня пн``). A ScheduleError without a template means "not that shape"."""
    frequency = _frequency_words().get(words[0].casefold()) if words else None
    if frequency is None or len(words) > 2 or (frequency is Frequency.DAILY and len(words) > 1):
        raise ScheduleError()
    if frequency is Frequency.WEEKLY and len(words) == 2:
        return frequency, parse_weekday(words[1])
    return frequency, 0


def _aware(day: date, at: time, zone: tzinfo) -> datetime:
    """The instant of wall-clock ``at`` on ``day``.

    In a repeated hour (clocks go back) the first occurrence counts. A time inside a
    skipped hour (clocks go forward) moves to the first valid wall-clock time after it.
    """
    local = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    for _ in range(24 * 60):  # gaps are at most a few hours; bound the walk anyway
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(
            tzinfo=None
        ):
            return local.astimezone(UTC)
        local += timedelta(minutes=1)
    raise AssertionError("no valid local time within a day")  # pragma: no cover


def next_due(
    after: datetime,
    *,
    digest_time: time,
    timezone_name: str,
    frequency: str = Frequency.DAILY,
    weekday: int = 0,
) -> datetime:
    """The first digest instant strictly after ``after``, in UTC. ``frequency`` is a
    `Frequency` or its stored value."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if frequency not in set(Frequency):
        raise ScheduleError(N_("unknown frequency '{frequency}'"), frequency=frequency)
    zone = tzinfo_for(timezone_name)
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(16):
        if frequency == Frequency.DAILY or day.weekday() == weekday:
            candidate = _aware(day, digest_time, zone)
            if candidate > after:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("no digest time within two weeks")  # pragma: no cover


class Scheduled(Protocol):
    """What has a digest schedule (storage.models.Subscriber is one)."""

    digest_time: time
    timezone: str
    frequency: str
    weekday: int
    next_due_at: datetime


def next_digest(subscriber: Scheduled, now: datetime) -> datetime:
    """The subscriber's next digest from its current settings, counting from now."""
    return next_due(
        now,
        digest_time=subscriber.digest_time,
        timezone_name=subscriber.timezone,
        frequency=subscriber.frequency,
        weekday=subscriber.weekday,
    )


def reschedule(subscriber: Scheduled, now: datetime) -> None:
    """Set the next digest from the subscriber's current settings, counting from now."""
    subscriber.next_due_at = next_digest(subscriber, now)
