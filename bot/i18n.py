"""Languages: gettext catalogs, Babel's plural rules and date formats.

The catalogs are `bot/locale/<code>/LC_MESSAGES/messages.po`; each is compiled in memory
the first time it is used, so a new language is a new `.po` file and nothing else. The
message ids are the English texts of `bot.texts` (and the problems the pure modules
raise, marked with `N_`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
FALLBACK = "en"  # the language of the message ids


class Msg(str):
    """A text marked for the catalogs where it is defined, translated where it is shown."""

    __slots__ = ()


def N_(message: str) -> Msg:
    """Mark ``message`` for the catalogs (extraction finds the call); `Translator._`
    translates it later."""
    return Msg(message)


class Problem(ValueError):
    """What is wrong with an input, in words a person can act on, in any language: the
    English template (marked with `N_`) and its parameters. ``str()`` is the English text;
    `Translator.problem` says it in another language. A parameter that is itself a `Msg`
    is translated too."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(_fill(template, params, str) if template else "")


def _fill(template: str, params: Mapping[str, object], say: Callable[[str], str]) -> str:
    """``template`` filled; a `Msg` value is said, and so is a `Problem` value."""
    if not params:
        return template

    def value(v: object) -> object:
        if isinstance(v, Problem):
            return _fill(say(v.template), v.params, say)
        return say(v) if isinstance(v, Msg) else v

    return template.format(**{k: value(v) for k, v in params.items()})


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """The codes that have a catalog, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return tuple(sorted(found, key=lambda code: code != FALLBACK))


@cache
def language_self_name(code: str) -> str:
    """A language's name in itself, capitalized: "English", "Українська"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def choose(language_code: str | None, default: str = FALLBACK) -> str:
    """The language for a Telegram ``language_code`` ("uk", "uk-UA", "en-GB"; None for
    groups and channels): ours when we have it, else ``default``."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].casefold()
        if base in languages():
            return base
    return default if default in languages() else FALLBACK


class Translator:
    """One language: its catalog, plural rule and date formats."""

    def __init__(self, code: str, translations: Translations) -> None:
        self.code = code
        self.locale = Locale.parse(code)
        self._translations = translations
        self._days = get_day_names("wide", locale=self.locale)
        self._short_days = get_day_names("abbreviated", locale=self.locale)

    def _(self, message: str, /, **params: object) -> str:
        """The translation of ``message``, its ``{placeholders}`` filled."""
        if not message:  # gettext("") is the catalog's header
            return ""
        return _fill(self._translations.gettext(message), params, self._)

    def problem(self, error: BaseException) -> str:
        """A `Problem` in this language; another error as its own text."""
        if isinstance(error, Problem):
            return self._(error.template, **error.params)
        return str(error)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """The form of ``n`` (Ukrainian has three); ``{n}`` and ``params`` filled."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)

    def number(self, n: int) -> str:
        """``n`` with the language's digit grouping ("10,000"; "10 000")."""
        return format_decimal(n, locale=self.locale)

    def day(self, when: date | datetime) -> str:
        """A date, short: "28 Nov 2026"; "28 лист. 2026"."""
        return format_date(when, "dd MMM y", locale=self.locale)

    def day_month(self, when: date | datetime) -> str:
        """Day and month: "28 Nov"; "28 лист."."""
        return format_date(when, "dd MMM", locale=self.locale)

    def clock(self, when: time | datetime) -> str:
        """A 24-hour time of day: "07:30"."""
        return format_time(when, "HH:mm", locale=self.locale)

    def moment(self, when: datetime) -> str:
        """Weekday, date and time (in ``when``'s own timezone): "Sat 28 Nov, 07:30"."""
        return format_datetime(when, "EEE dd MMM, HH:mm", tzinfo=when.tzinfo, locale=self.locale)

    def stamp(self, when: datetime) -> str:
        """Date, time and zone name: "28 Nov 2026, 07:30 EET" (the full article's line)."""
        zone = when.strftime("%Z")
        day = format_datetime(when, "dd MMM y, HH:mm", tzinfo=when.tzinfo, locale=self.locale)
        return f"{day} {zone}".strip()

    def weekday(self, index: int) -> str:
        """Monday is 0, as in `datetime.weekday`."""
        return str(self._days[index])

    def weekday_names(self) -> Mapping[int, tuple[str, str]]:
        """Each weekday's (full, abbreviated) name, lower case."""
        return {
            i: (str(self._days[i]).casefold(), str(self._short_days[i]).casefold().rstrip("."))
            for i in range(7)
        }


@cache
def translator(code: str) -> Translator:
    """The translator for a language code that `languages` lists (else English)."""
    if code not in languages():
        code = FALLBACK
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translator(code, Translations(compiled, domain=DOMAIN))
