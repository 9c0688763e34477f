"""What makes an event: the names, places, figures and days a report gives, and the
vetoes that tell two reports of two events apart however many words they share. Pure
code, no database.

Two reports told with the same words ("Magnitude 5.8 earthquake strikes eastern Turkey",
"Magnitude 6.1 earthquake strikes northern Japan") are two events when they differ in
what identifies an event. `veto` names the first such difference, or None:

- **dates**: both give calendar dates ("Nov. 4", "19 листопада", "12.03.25"), none in
  common; **days**: both say on which day of the week it happened ("on Monday",
  "Monday's", "у понеділок"; not "a Friday deadline"), none in common;
- **figures**: both give figures of one kind (an earthquake's magnitude, percentages,
  basis points, amounts of a million or more, scores, counts of prisoners), none in
  common; or the two titles are the same words around other numbers ("мінус 1 230
  окупантів", "мінус 980 окупантів"), unless one is marked as an update;
- **countries**, **regions**: both name places, and no country in common; or both name
  regions or cities, and none in common (Sumy region, Poltava region);
- **names**: each title names someone or somewhere (a person, an organisation, a team,
  a place) that the other report does not name at all (Macron, Starmer).

Where one report names a place, a day, a date or a figure of a kind and the other does
not, that kind says nothing: reports leave out what their readers know (the capital, the
day), so only a conflict vetoes. A name in a title is the exception: it must be found in
the other report, though a city or region counts as found in a report that names only
its country.

Names are compared by a key that survives inflection, transliteration and spelling
(`name_key`: Київ, Києві, Kyiv and Kiev are all "kv"); places through a gazetteer of
pycountry's ISO 3166 countries and the regions of Ukraine and Russia, and of the cities
time zones are named after (tzdata, with Babel's names), in English and Ukrainian, with
the English adjectives of countries ("Polish", "Dutch"). See README, "Stories".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from babel.dates import get_month_names

from bot.stories.places import (
    BREAKS,
    DOTTED_INITIALS,
    NO_APOSTROPHES,
    POSSESSIVE,
    TOKEN,
    Place,
    keys_match,
    name_key,
    places_in,
)

# ------------------------------------------------------------------ what a report names

_WEEKDAYS = {
    **dict.fromkeys(("monday", "понеділок", "понеділка", "понеділку"), 0),
    **dict.fromkeys(("tuesday", "вівторок", "вівторка", "вівторку"), 1),
    **dict.fromkeys(("wednesday", "середа", "середу", "середи", "середою"), 2),
    **dict.fromkeys(("thursday", "четвер", "четверга", "четвергу"), 3),
    **dict.fromkeys(("friday", "пятниця", "пятницю", "пятниці", "пятницею"), 4),
    **dict.fromkeys(("saturday", "субота", "суботу", "суботи", "суботою"), 5),
    **dict.fromkeys(("sunday", "неділя", "неділю", "неділі", "неділею"), 6),
}  # fmt: skip
_DAY_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_ON_DAY = re.compile(
    rf"(?:\b(?:on|early|late|by|until|since)\s+|\b(?:у|в|на|до|від)\s+)({_DAY_NAMES})\b"
    rf"|\b({_DAY_NAMES})s\b"
)
# The day a report was told, not the day of the event: "officials said on Friday",
# "повідомили в середу".
_SAID_ON_DAY = re.compile(
    rf"\b(?:said|says|told|reported|announced|added|confirmed|повідомили|повідомив|"
    rf"повідомила|заявив|заявила|заявили|сказав|сказала)(?:\s+\S+){{0,3}}?\s+"
    rf"(?:on|у|в)\s+({_DAY_NAMES})\b"
)


def _month_names(
    locale: str,
    width: Literal["abbreviated", "wide"],
    context: Literal["format", "stand-alone"],
) -> dict[str, int]:
    """Babel's (CLDR's) month names, case-folded, each with its number."""
    names = get_month_names(width, context=context, locale=locale)
    return {name.casefold(): number for number, name in names.items()}


# The month words of a date: English in full and abbreviated ("november", "nov"), and
# Ukrainian in the genitive a date takes ("4 листопада": CLDR's 'format' context). Babel's
# Ukrainian abbreviations ("лист.") are not taken: "лист" is also a word ("a letter").
# "sept" is written out, as CLDR lacks it.
_MONTHS = {
    **_month_names("en", "wide", "format"),
    **_month_names("en", "abbreviated", "format"),
    **_month_names("uk", "wide", "format"),
    "sept": 9,
}
# Not names: those, and the Ukrainian nominative ("листопад", the 'stand-alone' context).
_MONTH_WORDS = frozenset(_MONTHS) | frozenset(_month_names("uk", "wide", "stand-alone"))
# Capitalised words that are roles, not names: "Prime Minister Keir Starmer".
_ROLES = frozenset(
    """
    president prime minister chancellor governor mayor secretary general gov gen sen rep
    mr mrs ms dr sir lord lady king queen pope premier chief head deputy vice foreign
    interior defence defense finance health ministry minister's oblast region city state
    the a an in on at of for to and as after with by from but over amid says said new
    президент прем'єр премʼєр прем’єр міністр міністерка голова мер губернатор очільник
    начальник речник у в на з із за до та і й як після під час через
    """.split()
)
_UPDATE = re.compile(
    r"(?:^|[\s(\[:—–-])(?:update[ds]?|updated|оновлено|оновлення|доповнено)(?:$|[\s)\]:.,—–-]|\s?\d)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Name:
    """A name as a report writes it: "Києві", with its key and the places it names."""

    word: str
    key: str
    stem: str
    places: frozenset[Place]


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` begins the text, a sentence, a quote or a clause
    after a dash: where any word is capitalised."""
    before = text[max(0, at - 8) : at].rstrip()
    if not before:
        return not text[:at].strip()
    return before[-1] in BREAKS or before.endswith(" -")


def _is_acronym(word: str) -> bool:
    return sum(c.isupper() for c in word) >= 2


def _inflected_acronym(word: str) -> bool:
    """ "КАБами", "БпЛА": an abbreviation of a common noun, declined like one."""
    return _is_acronym(word) and bool(re.search("[а-яіїєґ]{2}$", word))


def _capitals(text: str) -> list[tuple[Name, bool]]:
    """The capitalised words of ``text`` that may be names, each with whether a
    sentence starts with it (or the text is in title case); weekdays, months and roles
    are not names."""
    text = DOTTED_INITIALS.sub(r"\1\2", text)
    words = list(TOKEN.finditer(text))
    long = [m.group() for m in words if len(m.group()) > 3]
    title_case = len(long) >= 4 and sum(w[0].isupper() for w in long) >= 0.75 * len(long)
    found: list[tuple[Name, bool]] = []
    for match in words:
        word = POSSESSIVE.sub("", match.group())
        if not word[0].isupper():
            continue
        plain = word.casefold().translate(NO_APOSTROPHES)
        if plain in _WEEKDAYS or plain in _MONTH_WORDS or word.casefold() in _ROLES:
            continue
        if _inflected_acronym(word):
            continue
        key = name_key(word)
        if key:
            initial = title_case or _starts_sentence(text, match.start())
            found.append((Name(word, key, plain[:STEM], places_in(word)), initial))
    return found


def _names(capitals: list[tuple[Name, bool]], elsewhere: frozenset[str]) -> tuple[Name, ...]:
    """The names among ``capitals``: a capitalised word, except at the start of a
    sentence, where only an acronym, a place or a word capitalised inside a sentence
    elsewhere in the report (``elsewhere``, keys) is one."""
    return tuple(
        name
        for name, initial in capitals
        if not initial or _is_acronym(name.word) or name.places or name.key in elsewhere
    )


STEM = 5  # bot.stories.similarity' stems: a name is found in a report holding its stem


@dataclass(frozen=True)
class Event:
    """What a report says that identifies its event: names, places, figures and days."""

    title: str
    lead: str

    @cached_property
    def _text(self) -> str:
        return f"{self.title}\n{self.lead}"

    @cached_property
    def _capitals(self) -> tuple[list[tuple[Name, bool]], list[tuple[Name, bool]]]:
        return _capitals(self.title), _capitals(self.lead)

    @cached_property
    def _capitalised(self) -> frozenset[str]:
        """Keys of words capitalised inside a sentence: names wherever they stand."""
        return frozenset(n.key for part in self._capitals for n, initial in part if not initial)

    @cached_property
    def title_names(self) -> tuple[Name, ...]:
        return _names(self._capitals[0], self._capitalised)

    @cached_property
    def names(self) -> tuple[Name, ...]:
        return self.title_names + _names(self._capitals[1], self._capitalised)

    @cached_property
    def stems(self) -> frozenset[str]:
        folded = unicodedata.normalize("NFKC", self._text).casefold()
        return frozenset(w.translate(NO_APOSTROPHES)[:STEM]
                         for w in TOKEN.findall(folded))  # fmt: skip

    @cached_property
    def places(self) -> frozenset[Place]:
        return frozenset(p for n in self.names for p in n.places)

    @cached_property
    def figures(self) -> dict[str, frozenset[str]]:
        return figures(self._text)

    @cached_property
    def weekdays(self) -> frozenset[int]:
        """The days of the week the report says something happened on: "on Monday",
        "Monday's", "у понеділок", "в ніч на вівторок" (not "a Friday deadline")."""
        folded = unicodedata.normalize("NFKC", self._text).casefold()
        folded = folded.translate(NO_APOSTROPHES)
        folded = _SAID_ON_DAY.sub(" ", folded)
        found = (on or possessive for on, possessive in _ON_DAY.findall(folded))
        return frozenset(_WEEKDAYS[w] for w in found if w in _WEEKDAYS)

    @cached_property
    def dates(self) -> frozenset[tuple[int, int]]:
        return calendar_dates(self._text)

    @cached_property
    def update(self) -> bool:
        """The title says the report updates an earlier one ("UPDATE 2-", "оновлено")."""
        return bool(_UPDATE.search(self.title))

    @cached_property
    def frame(self) -> tuple[str, ...]:
        """The title's words without its figures: "Втрати ворога за добу: мінус окупантів"."""
        return tuple(TOKEN.findall(self.title.casefold()))

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        return tuple(_TITLE_NUMBER.findall(self.title))

    def _vaguer(self, places: frozenset[Place]) -> bool:
        """This report names the country of a region or city, and no region or city of
        that country: it says less, and nothing else."""
        countries = {p.country for p in places if p.region}
        return any(
            Place(c) in self.places and not any(p.region and p.country == c for p in self.places)
            for c in countries
        )

    def finds(self, name: Name) -> bool:
        """Whether this report names ``name`` in any form, or holds its word. A place is
        found by the gazetteer alone (Литва is not Латвія), or in a report that names
        only its country."""
        if name.places:
            return bool(name.places & self.places) or self._vaguer(name.places)
        return name.stem in self.stems or any(
            keys_match(name.key, mine.key) for mine in self.names if not mine.places
        )


# ------------------------------------------------------------------ figures and dates

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_TITLE_NUMBER = re.compile(r"\d+(?:[.,\s]\d+)*")
_FIGURES = {
    "magnitude": (
        re.compile(rf"(?:magnitude|магнітуд\w*)[\s-]*(?:of\s+)?(?:about\s+)?{_NUMBER}"),
        re.compile(rf"{_NUMBER}[\s-]*(?:magnitude|бал\w*)"),
        re.compile(r"(\d[.,]\d)[\s-]*(?:quake|earthquake|землетрус\w*)"),
    ),
    "percent": (re.compile(rf"{_NUMBER}\s*(?:%|per\s?cent|percent|відсот\w*)"),),
    "basis points": (re.compile(rf"{_NUMBER}\s*(?:basis points|bps|базисних пункт\w*)"),),
    "prisoners": (
        re.compile(
            r"(\d[\d,]*)\s+(?:prisoners|pows|captives|soldiers|полонених|"
            r"військовополонених|захисників|оборонців|військових|бійців)"
        ),
    ),
}
_SCALES = {
    "trillion": 1e12, "трлн": 1e12, "трильйон": 1e12, "billion": 1e9, "bn": 1e9,
    "млрд": 1e9, "мільярд": 1e9, "million": 1e6, "mln": 1e6, "млн": 1e6, "мільйон": 1e6,
}  # fmt: skip
_AMOUNT = re.compile(
    rf"{_NUMBER}\s*(trillion|billion|million|bn|mln|трлн|трильйон\w*|млрд|мільярд\w*|"
    r"млн|мільйон\w*)(?![^\W\d_])"
)
_SCORE = re.compile(r"(?<![\d.,:/])(\d{1,3})\s?([:–-])\s?(\d{1,3})(?![\d.,:%/])")
_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(?:\d{4}|\d{2})(?![\d.]?\d)")


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def figures(text: str) -> dict[str, frozenset[str]]:
    """The figures ``text`` gives, by kind: magnitudes, percentages, basis points,
    prisoners, amounts of a million or more, and scores ("2-0", "6:4")."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    found: dict[str, set[str]] = {}
    for kind, patterns in _FIGURES.items():
        for pattern in patterns:
            for value in pattern.findall(folded):
                found.setdefault(kind, set()).add(
                    f"{_number(value.replace(',', '') if kind == 'prisoners' else value):g}"
                )
    for value, scale in _AMOUNT.findall(folded):
        factor = next(f for word, f in _SCALES.items() if scale.startswith(word))
        found.setdefault("amount", set()).add(f"{_number(value) * factor:.3g}")
    for first, separator, second in _SCORE.findall(folded):
        if separator == ":" and len(second) == 2 and int(first) < 24:
            continue  # a time of day, 08:00
        low, high = sorted((int(first), int(second)))
        found.setdefault("score", set()).add(f"{high}-{low}")
    return {kind: frozenset(values) for kind, values in found.items()}


_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})\b")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\b")


def calendar_dates(text: str) -> frozenset[tuple[int, int]]:
    """The (month, day) dates ``text`` names: "Nov. 4", "4 November", "4 листопада",
    "04.11.25" (day first, as in Ukrainian)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    found = {(_MONTHS[m], int(d)) for m, d in _MONTH_DAY.findall(folded)}
    found |= {(_MONTHS[m], int(d)) for d, m in _DAY_MONTH.findall(folded)}
    for day, month in _NUMERIC_DATE.findall(folded):
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            found.add((int(month), int(day)))
    return frozenset((m, d) for m, d in found if 1 <= d <= 31)


# ------------------------------------------------------------------ the vetoes


def _conflict(one: Iterable[object], other: Iterable[object]) -> bool:
    """Both name something of a kind, and nothing in common."""
    mine, theirs = set(one), set(other)
    return bool(mine and theirs and not mine & theirs)


def _figures(a: Event, b: Event) -> str | None:
    for kind in sorted(a.figures.keys() & b.figures.keys()):
        if _conflict(a.figures[kind], b.figures[kind]):
            return kind
    if a.frame == b.frame and a.numbers != b.numbers and not (a.update or b.update):
        return "title figures"
    return None


def _places_veto(a: Event, b: Event) -> str | None:
    if _conflict((p.country for p in a.places), (p.country for p in b.places)):
        return "countries"
    if _conflict((p for p in a.places if p.region), (p for p in b.places if p.region)):
        return "regions"
    return None


def veto(a: Event, b: Event) -> str | None:
    """Why ``a`` and ``b`` cannot report one event, or None: the first rule they break
    (see the module's documentation)."""
    if _conflict(a.dates, b.dates):
        return "dates"
    if _conflict(a.weekdays, b.weekdays):
        return "days"
    reason = _figures(a, b) or _places_veto(a, b)
    unnamed = any(not b.finds(n) for n in a.title_names)
    if reason is None and unnamed and any(not a.finds(n) for n in b.title_names):
        reason = "names"
    return reason
