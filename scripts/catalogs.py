"""Refresh the translation catalogs from the source: `make catalogs`.

Extracts every marked text of `bot/` (``t._``, ``t.ngettext``, ``N_``, inside f-strings
too), merges it into
each `bot/locale/<code>/LC_MESSAGES/messages.po` (new texts come in untranslated, changed
ones fuzzy, gone ones dropped), and fills the English catalog, whose translations are the
message ids themselves. ``python scripts/catalogs.py --new de`` starts a catalog.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, FALLBACK, LOCALE_DIR, catalog_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def _called(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def marked_calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Every call of a marking function (``_``, ``t._``, ``t.ngettext``, ``N_``) in
    ``tree``, the insides of f-strings included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in KEYWORDS:
            yield node


def marked_text(call: ast.Call) -> str | tuple[str, str] | None:
    """The message id a marking call spells out (a plural: both forms); None when it
    passes a name instead (a constant marked where it is defined)."""
    count = 2 if _called(call) == "ngettext" else 1
    texts = [
        arg.value
        for arg in call.args[:count]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]
    if len(texts) < count:
        return None
    return (texts[0], texts[1]) if count == 2 else texts[0]


def _in_f_strings() -> Iterator[tuple[str, int, str | tuple[str, str]]]:
    """Marked texts inside f-strings, which Babel's extractor misses on Python 3.11 (its
    tokenizer reads an f-string as one string): ``f'…{t._("Read")}…'`` had no entry."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        seen: set[int] = set()
        for joined in ast.walk(tree):
            if isinstance(joined, ast.JoinedStr):
                for call in marked_calls(joined):
                    message = marked_text(call)
                    if message is not None and id(call) not in seen:
                        seen.add(id(call))
                        yield path.relative_to(ROOT).as_posix(), call.lineno, message


def template() -> Catalog:
    catalog = Catalog(project="newsbot", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT / "bot"),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(f"bot/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    for filename, lineno, message in _in_f_strings():
        catalog.add(message, None, [(filename, lineno)])
    return catalog


def refresh(code: str, source: Catalog) -> int:
    path = catalog_path(code)
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=code, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=Locale.parse(code), domain=DOMAIN, project="newsbot")
    catalog.update(source, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False  # a fuzzy header would drop its plural rule from the compiled one
    if code == FALLBACK:
        for message in catalog:
            if message.id:
                message.string = message.id
                message.flags.discard("fuzzy")
    with path.open("wb") as po:
        write_po(po, catalog, width=99, include_lineno=False)
    return sum(1 for m in catalog if m.id and (m.fuzzy or not translated(m.string)))


def translated(string: object) -> bool:
    """Every form of a catalog entry's translation is there."""
    forms = string if isinstance(string, tuple | list) else (string,)
    return all(isinstance(form, str) and form for form in forms)


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_TAG = re.compile(r"</?[a-z]+")


def problems(catalog: Catalog) -> list[str]:
    """What keeps a catalog from being complete: untranslated or fuzzy entries, and
    translations whose placeholders or HTML tags are not the message id's. A plural form
    may leave out ``{n}`` (some languages say "one" without the number)."""
    found: list[str] = []
    if catalog.fuzzy:
        found.append("the header is fuzzy, so its plural rule would be ignored")
    for message in catalog:
        if not message.id:
            continue
        ids = tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        shown = ids[0][:60]
        if message.fuzzy or not translated(message.string):
            found.append(f"untranslated or fuzzy: {shown!r}")
            continue
        wanted = set(_PLACEHOLDER.findall(ids[-1]))
        for form in strings:
            assert isinstance(form, str)  # `translated` checked it
            have = set(_PLACEHOLDER.findall(form))
            if have != wanted and not (len(ids) > 1 and have == wanted - {"{n}"}):
                found.append(f"placeholders {sorted(have)} instead of {sorted(wanted)}: {shown!r}")
            if sorted(_TAG.findall(form)) != sorted(_TAG.findall(ids[0])):
                found.append(f"HTML tags differ: {shown!r}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", metavar="CODE", help="start a catalog for this language")
    args = parser.parse_args()
    codes = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    codes = sorted({*codes, FALLBACK, *([args.new] if args.new else [])})
    for code in codes:
        source = template()  # afresh for each: `update` shares the template's messages
        missing = refresh(code, source)
        print(f"{code}: {len(source)} messages, {missing} to translate")
        with catalog_path(code).open("rb") as po:
            for problem in problems(read_po(po, locale=code, domain=DOMAIN))[:20]:
                print(f"  {problem}")


if __name__ == "__main__":
    main()
