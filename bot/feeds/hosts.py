"""Feeds by the host that serves them: each host's feeds are fetched one at a time, so a
pass takes them one host after another in turn."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from bot.feeds.guard import FetchError, target
from bot.feeds.model import Claimed


def in_turn_by_host(feeds: Sequence[Claimed]) -> list[Claimed]:
    """``feeds`` one host after another in turn (a, b, c, a, b, c …): a window of polls
    then spans as many hosts as it can, where a host's own feeds are fetched one at a
    time."""
    by_host: dict[str, list[Claimed]] = {}
    for feed in feeds:
        by_host.setdefault(host_of(feed.url), []).append(feed)
    return [feed for turn in zip_longest(*by_host.values()) for feed in turn if feed is not None]


def host_of(url: str) -> str:
    try:
        return target(url, allow_private=True).raw_host or url
    except FetchError:  # pragma: no cover - stored URLs were checked
        return url
