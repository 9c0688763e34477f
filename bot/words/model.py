"""What following and muting words return. Pure: bot.texts takes these as they are."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.records import WordKind


@dataclass
class WordsResult:
    """What /follow or /mute did, as the terms are shown."""

    kind: WordKind
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    switched: list[str] = field(default_factory=list)  # was muted, now followed, or back
    over_limit: list[str] = field(default_factory=list)
    limit: int = 0


@dataclass
class RemoveResult:
    kind: WordKind
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
