"""newsbot: tag-based news digests on Telegram, delivered at each subscriber's local time."""

import os

# python-telegram-bot 22 warns on every read of a duration field unless this opt-in to
# datetime.timedelta is set; warnings are errors in our tests, and timedelta is clearer.
os.environ.setdefault("PTB_TIMEDELTA", "true")
