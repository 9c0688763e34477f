"""The fastest session a person realistically has with the bot, for sizing the throttle.

Sixty-four commands and presses: paging through /tags and back, toggling sixteen tags,
unsubscribing ten in /subscriptions, the settings and a language switch, and /tags
paged again, each as soon after the one before as a person can manage. The gaps are
the fastest figures for each kind of action, not typical ones:

- the same button again (Next ▶ tapped while the page redraws): 0.15 s, a finger
  tapping at its fastest (about 6.5 taps a second in finger-tapping tests);
- another button of the same keyboard (the next tag to toggle): 0.25 s;
- a command picked from the menu ("/" and a tap): 1 s; one typed with a value: 2.5 s.

`needed_burst` replays the session's times through the bot's own token bucket
(`bot.telegram.updates.Throttle`) and finds the smallest burst that admits all of it at a rate;
`make bench` prints it for a few rates, and the test suite plays the session through the
bot and the emulator at the default settings.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.telegram.updates import Throttle, Verdict

SAME_BUTTON = 0.15
OTHER_BUTTON = 0.25
MENU_COMMAND = 1.0
TYPED_COMMAND = 2.5
NEXT, PREVIOUS, TOGGLE, REMOVE, LANGUAGE = "next", "previous", "toggle", "remove", "language"


@dataclass(frozen=True, slots=True)
class Step:
    """One action, ``gap`` seconds after the one before: a command (``/…``), or a press
    on the last message: a pager button, the n-th tag (``toggle``), the first ✖
    (``remove``), or the other language."""

    gap: float
    action: str
    n: int = 0


def _presses(action: str, count: int, gap: float) -> list[Step]:
    return [Step(gap, action, n) for n in range(count)]


SESSION: tuple[Step, ...] = (
    Step(0.0, "/tags"),
    *_presses(NEXT, 6, SAME_BUTTON),
    *_presses(PREVIOUS, 6, SAME_BUTTON),
    *_presses(TOGGLE, 8, OTHER_BUTTON),
    Step(OTHER_BUTTON, NEXT),
    *_presses(TOGGLE, 8, OTHER_BUTTON),
    Step(MENU_COMMAND, "/subscriptions"),
    *_presses(REMOVE, 10, OTHER_BUTTON),
    Step(MENU_COMMAND, "/tags"),
    *_presses(TOGGLE, 4, OTHER_BUTTON),
    Step(MENU_COMMAND, "/settings"),
    Step(TYPED_COMMAND, "/time 07:30"),
    Step(MENU_COMMAND, "/language"),
    Step(OTHER_BUTTON, LANGUAGE),
    Step(OTHER_BUTTON, LANGUAGE),
    Step(MENU_COMMAND, "/tags"),
    *_presses(NEXT, 6, SAME_BUTTON),
    *_presses(PREVIOUS, 6, SAME_BUTTON),
)


def times() -> list[float]:
    """When each action of the session happens, in seconds from its start."""
    return list(itertools.accumulate(step.gap for step in SESSION))


class _Replay:
    """A clock that says the time of the action being replayed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def admitted(burst: int, rate: float) -> bool:
    """Whether the bot's throttle at these settings admits the whole session."""
    clock = _Replay()
    throttle = Throttle(burst, rate, clock=clock)
    for moment in times():
        clock.now = moment
        if throttle.check("person") is not Verdict.ADMIT:
            return False
    return True


def needed_burst(rate: float, most: int = 1_000) -> int:
    """The smallest burst that admits the session at ``rate`` updates a second."""
    return next(burst for burst in range(1, most + 1) if admitted(burst, rate))
