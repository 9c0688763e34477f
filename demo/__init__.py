"""`make demo`: the whole bot in a terminal chat against the Bot API emulator.

A tool beside the bot, like the emulator: it uses both, and neither uses it.
"""
