"""What alerts say to admins (bot.ops.alerts), in DEFAULT_LANGUAGE. Plain text (alerts
are sent without a parse mode)."""

from __future__ import annotations

from bot.i18n import N_

FEED_BROKEN = N_(
    "⚠️ Feed #{id} ({title}) is broken: it has failed every poll for {days} days. "
    "Last error: {error}"
)
FEED_RESOLVED = N_("✅ Resolved: feed #{id} ({title}) works again, or was removed.")
DELIVERY_FAILED = N_(
    "⚠️ The last delivery passes failed {failed} of {total} digests ({percent}%, the "
    "alert is at {limit}%)."
)
DELIVERY_RESOLVED = N_("✅ Resolved: delivery passes fail under {limit}% of digests again.")
TOO_MANY_429 = N_(
    "⚠️ Telegram refused {count} messages with 429 Too Many Requests in the last hour "
    "(the alert is at {limit})."
)
TOO_MANY_429_RESOLVED = N_("✅ Resolved: 429 Too Many Requests are under {limit} an hour again.")
DATABASE_DOWN = N_("⚠️ The bot cannot reach its database for {seconds} s: {detail}")
DATABASE_RESOLVED = N_("✅ Resolved: the database answers again.")
