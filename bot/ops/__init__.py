"""Running newsbot in production: webhook mode, health and readiness, Prometheus metrics,
JSON logs, alerts to admins, database backups and systemd's notifications.

Each concern is a module of its own; the rest of the bot calls into them from a few
places only (`bot.ops.cli` starts them through `bot.ops.service`, and counters are
incremented through `bot.ops.metrics`).
"""
