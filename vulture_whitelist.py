# ruff: noqa: B018
"""Names `vulture` (in `make lint`) would take for unused, which a framework reads or
calls by name: each with who does."""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

_.model_config  # pydantic's models and settings
_.impl  # SQLAlchemy: TypeDecorator (storage.models.UTCDateTime)
_.cache_ok
_.process_bind_param
_.process_result_value
_.type_annotation_map  # SQLAlchemy: DeclarativeBase
_.isolation_level  # sqlite3: a connection's (storage.db)
_.parse_json_payload  # python-telegram-bot: BaseRequest (bot.telegram.http)
_.do_request
_.write_timeout
_.do_process_update  # python-telegram-bot: BaseUpdateProcessor (bot.telegram.updates)
_.check_update  # python-telegram-bot: BaseHandler (bot.telegram.handlers)
_.collect  # prometheus-client: a Collector's (bot.ops.metrics)
_.optionxform  # configparser: how keys are read (tests/test_ops_deploy.py)
_.tb  # the context-manager protocol's __exit__ arguments
_.exc
_.reflected  # Alembic: include_object's arguments (tests/test_migrations.py)
_.obj
_.throttle_window_seconds  # pydantic-settings: a retired setting, refused with a message
_.ok_at  # columns written and kept for whoever reads the database, not read by the code
_.delivered_at
_.started_at  # processes (bot.delivery.presence): since when each runs, for an operator
_._committed  # SQLAlchemy: session event listeners, registered by decorator (bot.ops.metrics)
_._rolled_back
_._settings  # bot.telegram.context.Late reads AppState's start-up attributes by name
_._sessions
_._deliverer
_.SendChat  # the shared budget's tables, read and written in SQL (storage.budget)
_.next_at
_.reply_next_at
_.borrowed
_.slots_second
_.dont_write_bytecode  # sys: tests/conftest.py turns bytecode caches back on
