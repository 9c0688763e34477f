"""Whether a later report of a story tells a reader something their earlier entry did not.

Pure code. A reader who had a story gets it again as "Update:" only when a new report
adds to what they had: a figure they had not seen (a number in its headline, a
magnitude, a toll, a score, a rate), or distinctive words (rare ones, as grouping weighs
them: bot.stories.similarity.weighted_stems) enough to be news rather than another source's
wording. A plain re-report of the same facts is no update; its source joins the entry's
"Also:" line the next time the story comes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from bot.stories.events import figures
from bot.stories.similarity import language_of, weighted_stems

# A distinctive word weighs this much or more (7 minus its Zipf frequency: "navy" 2.4,
# "escort" 3.0; "send" 1.9, "says" not at all).
WORD_WEIGHT = 2.0
# New distinctive words a report needs to be news, one of them in its headline: a
# reworded report swaps a word or two ("guard" for "protect") and keeps its headline's
# facts; "Britain to send two navy ships" brings navy, escort and vessels.
MIN_NEW_WORDS = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


Facts = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]


@lru_cache(maxsize=8_192)
def _facts(title: str, summary: str) -> Facts:
    """(every stem, the distinctive stems, those of the headline, the figures) of a report."""
    text = f"{title}\n{summary}"
    language = language_of(text)
    stems = weighted_stems(text, language)
    rare = frozenset(s for s, w in stems.items() if w >= WORD_WEIGHT and not s[0].isdigit())
    headline = frozenset(weighted_stems(title, language)) & rare
    found = {f"{kind}:{value}" for kind, values in figures(text).items() for value in values}
    found.update(f"n:{n}" for n in _NUMBER.findall(title))
    return frozenset(stems), rare, headline, frozenset(found)


def adds_news(report: tuple[str, str], had: Iterable[tuple[str, str]]) -> bool:
    """Whether ``report`` (title, summary) tells what none of ``had`` (the reports of the
    story the reader had, title and summary each) did: a new figure, or at least
    `MIN_NEW_WORDS` new distinctive words, one of them in its headline."""
    known_stems: set[str] = set()
    known_figures: set[str] = set()
    for title, summary in had:
        stems, _, _, found = _facts(title, summary)
        known_stems |= stems
        known_figures |= found
    _, rare, headline, found = _facts(*report)
    if found - known_figures:
        return True
    new = rare - known_stems
    return len(new) >= MIN_NEW_WORDS and bool(new & headline)
