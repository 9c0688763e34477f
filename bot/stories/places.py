"""Names and places: the key a name is compared by (it survives inflection,
transliteration and spelling), and the gazetteer of the countries and cities a report
can name, in English and Ukrainian, from pycountry and the timezone database."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from storage.folding import APOSTROPHES

# ------------------------------------------------------------------ names and their keys

TOKEN = re.compile(rf"[^\W\d_]+(?:[{APOSTROPHES}][^\W\d_]+)*")
BREAKS = ".!?:;—–|«\"“‘'("
POSSESSIVE = re.compile(rf"[{APOSTROPHES}]s$")
# The apostrophes of both languages (п'ятниця, пʼятниця, п’ятниця; storage.folding's
# family, which search and words share), dropped inside words as bot.stories.similarity drops them.
NO_APOSTROPHES = str.maketrans(dict.fromkeys(APOSTROPHES, ""))
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
        "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
        "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
        "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "",
        "ю": "iu", "я": "ia", "ы": "y", "э": "e", "ё": "e", "ъ": "",
    }
)  # fmt: skip
# Sounds both languages spell differently, to one letter each (Kharkiv/Харків,
# Syniehubov/Sinegubov, Zaporizhzhia/Zaporozhye, Macron/Макрон, Odesa/Одещина): the
# digraphs first, to capitals no casefolded text holds, then single letters.
_SOUNDS = (
    ("shch", "S"), ("sch", "S"), ("sh", "S"), ("zh", "Z"), ("kh", "H"), ("ch", "C"),
    ("ts", "C"), ("tz", "C"), ("ck", "k"), ("ph", "f"), ("th", "t"), ("x", "ks"),
    ("c", "k"), ("g", "h"), ("w", "v"), ("q", "k"), ("j", "i"),
)  # fmt: skip
_VOWELS = re.compile(r"[aeiouy]+")
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=65_536)
def name_key(word: str) -> str:
    """A name's consonants, transliterated to Latin: Київ, Києві, Kyiv and Kiev are all
    "kv"; Зеленського begins with Zelensky's "zlnsk"; Erdoğan is Erdogan."""
    folded = unicodedata.normalize("NFKD", POSSESSIVE.sub("", word).casefold())
    latin = "".join(c for c in folded if not unicodedata.combining(c))
    latin = latin.translate(NO_APOSTROPHES).translate(_CYRILLIC_TO_LATIN)
    for sound, letter in _SOUNDS:
        latin = latin.replace(sound, letter)
    consonants = _VOWELS.sub("", latin).lower()
    return _REPEATS.sub(r"\1", "".join(c for c in consonants if c.isalpha()))


def keys_match(one: str, other: str) -> bool:
    """Two name keys name the same thing: equal, or one begins the other (an inflected
    form adds consonants: "zlnsk" and "zlnskh") when the shorter has two or more."""
    if one == other:
        return bool(one)
    short, long = (one, other) if len(one) <= len(other) else (other, one)
    return len(short) >= 2 and long.startswith(short)


# ------------------------------------------------------------------ the gazetteer

# Words of a country's or region's name that do not tell it apart.
_GENERIC = frozenset(
    """
    of the and republic united democratic people's federation federal state states
    plurinational islamic arab kingdom islands island north south east west northern
    southern eastern western central new saint great province territory autonomous
    oblast region city sar bolivarian principality grand duchy commonwealth union
    республіка об'єднані арабські острови острів сполучені штати південна північна
    західна східна центральна велика нова держава федерація демократична народна
    свята святий королівство федеративна ісламська область місто автономна
    avtonomna respublika
    """.split()
)
# English adjectives and other names of countries the ISO names leave out.
_OTHER_NAMES = {
    "GB": "Britain British UK English Scottish Welsh England Scotland Wales",
    "RU": "Russia Russian Russians",
    "UA": "Ukrainian Ukrainians", "PL": "Polish Poles",
    "NL": "Dutch Holland", "DK": "Danish Danes", "SE": "Swedish Swedes",
    "NO": "Norwegian Norwegians", "FI": "Finnish Finns", "FR": "French",
    "DE": "German Germans", "ES": "Spanish", "PT": "Portuguese", "IT": "Italian",
    "GR": "Greek Greeks", "CZ": "Czech", "SK": "Slovak", "HU": "Hungarian",
    "RO": "Romanian", "BG": "Bulgarian", "RS": "Serbian", "HR": "Croatian",
    "BY": "Belarusian", "MD": "Moldovan", "LT": "Lithuanian", "LV": "Latvian",
    "EE": "Estonian", "IE": "Irish", "BE": "Belgian", "AT": "Austrian", "CN": "Chinese",
    "JP": "Japanese", "KR": "Korean", "KP": "Korean", "IN": "Indian", "PK": "Pakistani",
    "IR": "Iranian", "IQ": "Iraqi", "IL": "Israeli", "SY": "Syrian", "SA": "Saudi",
    "AE": "Emirati UAE ОАЕ", "EG": "Egyptian", "AU": "Australian", "NZ": "Zealander",
    "CA": "Canadian", "MX": "Mexican", "BR": "Brazilian", "AR": "Argentine Argentinian",
    "ID": "Indonesian", "PH": "Philippine Filipino", "TH": "Thai", "VN": "Vietnamese",
    "MM": "Burmese", "NP": "Nepali Nepalese", "AF": "Afghan", "KZ": "Kazakh",
    "GE": "Georgian", "AM": "Armenian", "AZ": "Azerbaijani", "VE": "Venezuelan",
    "IS": "Icelandic",
    # Capitals and cities in the news that no time zone is named after.
    "US": "US USA America American Americans Washington Вашингтон",
    "CH": "Swiss Geneva Женева Davos Давос Basel Базель",
    "TR": "Turkey Turkish Turks Ankara Анкара Antalya Анталья",
    # Regions of Ukraine by their centres, where the region's adjective does not begin
    # like the city: Dnipro (Дніпропетровська), Odesa (Одеська), Zaporizhzhia.
    "UA-30": "Kiev", "UA-12": "Dnipro Дніпро", "UA-51": "Odesa Odessa Одеса",
    "UA-23": "Zaporizhzhia Zaporozhye Запоріжжя", "UA-35": "Kropyvnytskyi Кропивницький",
    "UA-21": "Uzhhorod Ужгород Transcarpathia Закарпаття", "UA-07": "Lutsk Луцьк Volyn Волинь",
    "UA-43": "Crimea", "UA-09": "Luhansk", "UA-14": "Donetsk Donbas Донбас",
}  # fmt: skip
# What an inflected or derived form adds to a place's stem (`place_key` without its last
# vowel): Польщ-і, Києв-а, Сум-ах, Харків-щина, Одес-ина (Одещина), Russia-n, Japan-ese.
_ENDINGS = frozenset(
    """
    a i u o ia iu om oiu ah am ami iv oho omu i ih im imi ami ski skoi skii skom ska sku
    sina sini sinu sinoiu ina ini inu sko skomu skim skih sk n an in isi is iski ni ci ki
    """.split()
) | {""}
_FRONT = str.maketrans("eyi", "iii")
_VOWEL_RUN = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=65_536)
def place_key(word: str) -> str:
    """A place's name transliterated, with its vowels in classes (i: e, i, y; a; o; u) and
    each run of vowels as its first: Київ, Kyiv and Kiev are "kiv", Києва "kiva"."""
    folded = unicodedata.normalize("NFKD", POSSESSIVE.sub("", word).casefold())
    latin = "".join(c for c in folded if not unicodedata.combining(c))
    latin = latin.translate(NO_APOSTROPHES).translate(_CYRILLIC_TO_LATIN)
    for sound, letter in _SOUNDS:
        latin = latin.replace(sound, letter)
    latin = _VOWEL_RUN.sub(lambda m: m.group()[0], latin).lower().translate(_FRONT)
    return "".join(c for c in latin if c.isalpha())


def _stems_of(word: str) -> list[str]:
    """The stems a place is found by: its key without a last vowel, and for a stem in
    -iv also -ov (Харків, Харкова; Львів, Львова)."""
    key = place_key(word)
    stem = key[:-1] if key[-1:] in "aiou" and len(key) > 3 else key
    stems = [stem]
    if stem.endswith("iv"):
        stems.append(stem[:-2] + "ov")
    return [s for s in stems if len(s) >= 3]


@dataclass(frozen=True, slots=True)
class Place:
    """A country (ISO 3166-1 alpha-2), a region of one (ISO 3166-2), or a city (the
    country and a time zone: "PL-Europe/Warsaw")."""

    code: str

    @property
    def country(self) -> str:
        return self.code.split("-")[0]

    @property
    def region(self) -> bool:
        return "-" in self.code


# A region's adjective ends: Сумська, Sumska, Kurskaya, Stavropol'skiy, Алтайський.
_ADJECTIVE = re.compile(r"(?:['’]?s?k(?:a|aya|iy|ij)|[сцз]ька|[сцз]ький|зький|ська|ский)$")


def _name_words(name: str) -> list[str]:
    """The words of a place's name that tell it apart: "Korea, Republic of" is Korea;
    "Сумська область" is "Сум" (a region's adjective without its ending, as Суми, Сумщина
    and Sumy begin)."""
    first = re.sub(r"\[.*?\]|\(.*?\)", "", name).split(",")[0]
    words = [w for w in TOKEN.findall(first) if w.casefold() not in _GENERIC]
    return [_ADJECTIVE.sub("", w) for w in words]


def _iso3166() -> Iterable[tuple[str, str]]:
    """(code, name) of pycountry's ISO 3166-1 countries and the ISO 3166-2 regions of
    Ukraine and Russia, in English and Ukrainian. Read from its tables and catalogues
    directly: importing it and building its objects for all 5,000 regions of the world
    took a process 0.35 s."""
    import gettext
    import json
    from importlib.util import find_spec
    from pathlib import Path

    # Its folder, found without importing it (which takes 0.1 s).
    spec = find_spec("pycountry")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pycountry")
    root = Path(next(iter(spec.submodule_search_locations)))
    locales = str(root / "locales")
    for table, key, wanted in (("3166-1", "alpha_2", None), ("3166-2", "code", ("UA", "RU"))):
        rows = json.loads((root / "databases" / f"iso{table}.json").read_text("utf-8"))
        ukrainian = gettext.translation(f"iso{table}", locales, languages=["uk"])
        for row in rows[table]:
            code = row[key]
            if wanted and (code.split("-")[0] not in wanted or row.get("parent")):
                continue
            for name in {row["name"], row.get("common_name", ""), ukrainian.gettext(row["name"])}:
                if name:
                    yield code, name


def _cities() -> Iterable[tuple[Place, str]]:
    """(place, name) of the cities time zones are named after (tzdata's zone.tab), in
    English and Ukrainian as Babel (CLDR) writes them: Kyiv, Київ, Warsaw, Варшава,
    Dubai... A city is a place of its own within its country ("UA-Europe/Kyiv"), named
    by its longest word ("New York" is York)."""
    from importlib.resources import files

    from babel import Locale

    english, ukrainian = Locale("en").time_zones, Locale("uk").time_zones
    table = files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _, zone = line.split("\t")[:3]
        names = (
            english.get(zone, {}).get("city") or zone.rsplit("/")[-1].replace("_", " "),
            ukrainian.get(zone, {}).get("city", ""),
        )
        for name in names:
            words = [w for w in TOKEN.findall(name) if w.casefold() not in _GENERIC]
            if words:
                yield Place(f"{code}-{zone}"), max(words, key=len)


@cache
def gazetteer() -> dict[str, set[Place]]:
    """Place stems (`place_key`) to the places so named: the countries of pycountry's
    ISO 3166-1 and the regions of Ukraine and Russia of its ISO 3166-2, in English and
    Ukrainian, the cities of `_cities`, and the names in `_OTHER_NAMES`. Built on first
    use. Other countries' regions are left out: thousands of short names ("Ain",
    "Aube") would make places of words that are not (a region's name still counts as a
    name)."""
    places: dict[str, set[Place]] = {}

    def add(name: str, place: Place) -> None:
        for word in _name_words(name):
            for stem in _stems_of(word):
                places.setdefault(stem, set()).add(place)

    for code, name in _iso3166():
        add(name, Place(code))
    for place, city in _cities():
        add(city, place)
    for code, other in _OTHER_NAMES.items():
        for word in other.split():
            add(word, Place(code))
    return places


@lru_cache(maxsize=65_536)
def places_of(word: str) -> frozenset[Place]:
    """The places ``word`` names, in any form (Польщі, Poland, Polish): a stem of the
    gazetteer followed by one of `_ENDINGS`."""
    key = place_key(word)
    found: set[Place] = set()
    table = gazetteer()
    for end in range(3, len(key) + 1):
        if key[end:] in _ENDINGS:
            found.update(table.get(key[:end], ()))
    return frozenset(found)


# Names too short for a stem, and how wires write them.
_SHORT_PLACES = {"us": "US", "usa": "US", "uk": "GB", "uae": "AE", "сша": "US", "оае": "AE"}
DOTTED_INITIALS = re.compile(r"\b([UuУу])\.\s?([SsKkСс])\.")


def places_in(word: str) -> frozenset[Place]:
    short = _SHORT_PLACES.get(word.casefold())
    return frozenset((Place(short),)) if short else places_of(word)
