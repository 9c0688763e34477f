"""Settings, read once from the environment and a .env file, then passed down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.delivery.broadcast import (
    FREE_PER_SECOND,
    MOST_CONNECTIONS,
    MOST_IN_FLIGHT,
    PAID_PER_SECOND,
    Sizing,
    connections_for,
)
from bot.i18n import languages
from bot.ops import settings as ops
from bot.subscriptions.schedule import parse_digest_time, parse_timezone


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a new chat starts with: its language, timezone and digest time
    (DEFAULT_LANGUAGE, DEFAULT_TIMEZONE, DEFAULT_DIGEST_TIME)."""

    language: str
    timezone: str
    digest_time: time


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    """How feeds are polled and fetched (the FEED_* settings)."""

    poll_every: timedelta
    tick_seconds: float
    timeout_seconds: float
    max_bytes: int
    concurrency: int
    allow_private: bool


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long what the bot keeps about chats lives (DIGEST_MAX_AGE_DAYS for the ledger
    of what was delivered, FORGET_BLOCKED_DAYS for a chat that blocked the bot)."""

    selectable: timedelta  # an article older than this is in no digest
    forget_blocked_days: int


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    """What a digest holds and how far back it looks (DIGEST_MAX_ITEMS,
    DIGEST_MAX_AGE_DAYS)."""

    max_items: int
    max_age: timedelta


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How a delivery pass runs: its digests, its connections and digests in flight
    (TELEGRAM_CONNECTIONS, DELIVERY_CONCURRENCY, or sized for the process's share of
    RATE_LIMIT_PER_SECOND), PAID_BROADCAST, and how long sent digests
    (DIGEST_RETENTION_DAYS) and the rest (`RetentionPolicy`) are kept."""

    digest: DigestPolicy
    sizing: Sizing
    paid_broadcast: bool
    kept: timedelta
    retention: RetentionPolicy

    @property
    def concurrency(self) -> int:
        """Digests in flight with this process alone in a pass."""
        return self.sizing.for_senders(1)[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///newsbot.db"
    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    telegram_start_retry_seconds: float = Field(default=60.0, ge=0, le=3600)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "UTC"
    default_language: str = "en"
    default_digest_time: time = time(8, 0)
    digest_max_items: int = Field(default=10, ge=1, le=50)
    digest_max_age_days: int = Field(default=7, ge=1, le=365)
    digest_retention_days: int = Field(default=30, ge=1, le=3650)
    delivery_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Digests in flight and HTTP connections: unset, as many as this process's share of
    # RATE_LIMIT_PER_SECOND needs (bot.delivery.broadcast.Sizing: 64 and 8 at 29 a
    # second, 400 and 100 at 1,000 for one process in a pass, 100 and 25 for each of 4).
    delivery_concurrency: int | None = Field(default=None, ge=1, le=MOST_IN_FLIGHT)
    # A process not seen for this long is taken for dead: another resumes its digests
    # (bot.delivery.presence). Each process stores its heartbeat 6 times as often.
    process_timeout_seconds: float = Field(default=30.0, ge=0.5, le=600)
    telegram_connections: int | None = Field(default=None, ge=1, le=MOST_CONNECTIONS)
    rate_limit_per_second: float = Field(default=29.0, gt=0)
    # Scheduled digests sent with allow_paid_broadcast: up to 1000 a second, for Stars.
    paid_broadcast: bool = False
    rate_limit_per_chat_seconds: float = Field(default=1.05, ge=0)
    # Telegram takes at most 20 messages a minute in one group or channel.
    rate_limit_per_group_seconds: float = Field(default=3.15, ge=0)
    log_level: str = "INFO"
    update_concurrency: int = Field(default=256, ge=1, le=10_000)
    # A person's updates: up to THROTTLE_BURST at once, then THROTTLE_PER_SECOND (README:
    # the fastest session measured needs 45 at 1 a second).
    throttle_burst: int = Field(default=60, ge=1, le=10_000)
    throttle_per_second: float = Field(default=1.0, gt=0, le=1000)
    # Replaced by the two above; a value left in an old .env is refused by name.
    throttle_window_seconds: str | None = None
    feed_poll_minutes: float = Field(default=15.0, ge=1, le=1440)
    feed_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    feed_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    feed_concurrency: int = Field(default=10, ge=1, le=200)
    feed_allow_private: bool = False
    feed_tick_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Privacy (bot.privacy): who runs the bot, a longer policy, and when a chat that
    # blocked the bot (or removed it, or was deleted) is forgotten.
    operator_contact: str = Field(default="", max_length=200)
    privacy_policy_url: str = ""
    forget_blocked_days: int = Field(default=30, ge=1, le=3650)
    # Production (bot.ops): webhook mode, the HTTP endpoints, log format and alerts.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: SecretStr = SecretStr("")
    metrics_listen: str = ""
    log_format: str = "text"
    alert_chat_id: str | None = None
    alert_failed_percent: float = Field(default=10.0, ge=0, le=100)
    alert_429_per_hour: int = Field(default=100, ge=1)
    alert_database_seconds: float = Field(default=60.0, gt=0, le=86_400)

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str) -> str:
        return ops.check_webhook_url(value)

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        return str(ops.parse_listen(value)) if value.strip() else ""

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        ops.check_secret(value.get_secret_value())
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        return ops.check_log_format(value)

    @field_validator("alert_chat_id")
    @classmethod
    def _check_alert_chat(cls, value: str | None) -> str | None:
        return ops.check_alert_chat(value)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and not self.webhook_secret.get_secret_value():
            raise ValueError(
                "WEBHOOK_SECRET: required with WEBHOOK_URL: Telegram sends it with every "
                "update and the bot refuses requests without it (e.g. `openssl rand -hex 32`)"
            )
        return self

    @model_validator(mode="after")
    def _rate_within_telegram(self) -> Settings:
        rate = self.rate_limit_per_second
        if rate > PAID_PER_SECOND:
            raise ValueError(
                f"RATE_LIMIT_PER_SECOND: at most {PAID_PER_SECOND}, "
                f"Telegram's limit even for paid broadcasts; got {rate:g}"
            )
        if rate > FREE_PER_SECOND and not self.paid_broadcast:
            raise ValueError(
                f"RATE_LIMIT_PER_SECOND: over {FREE_PER_SECOND} needs PAID_BROADCAST=true "
                f"(Telegram takes about {FREE_PER_SECOND} messages a second free, up to "
                f"{PAID_PER_SECOND} paid in Stars); got {rate:g}"
            )
        return self

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",") if item.strip()]
            try:
                return frozenset(int(item) for item in items)
            except ValueError:
                raise ValueError(
                    f"expected comma-separated numeric Telegram user ids, e.g. 12345,67890; "
                    f"got {value!r}"
                ) from None
        return value

    @field_validator("throttle_window_seconds")
    @classmethod
    def _gone(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "no longer used: the throttle is a token bucket now; set THROTTLE_BURST "
                "(updates at once) and THROTTLE_PER_SECOND (then per second) instead"
            )

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return parse_timezone(value)

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        code = value.strip().casefold()
        if code not in languages():
            raise ValueError(f"expected one of {', '.join(languages())}; got {value!r}")
        return code

    @field_validator("default_digest_time", mode="before")
    @classmethod
    def _check_time(cls, value: object) -> object:
        return parse_digest_time(value) if isinstance(value, str) else value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"expected an http(s) URL, e.g. https://api.telegram.org; got {value!r}"
            )
        return value.rstrip("/")

    @field_validator("operator_contact")
    @classmethod
    def _check_contact(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("privacy_policy_url")
    @classmethod
    def _check_policy_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        linkable = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not any(ch.isspace() or ch in '<>"' for ch in value)
        )
        if value and not linkable:
            raise ValueError(
                f"expected an http(s) URL, e.g. https://example.org/privacy; got {value!r}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db; "
                f"got {value.split('://', maxsplit=1)[0]!r}"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR; got {value!r}")
        return level

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    # The settings a part of the bot needs, as one small value to pass down. Properties,
    # not fields: the environment variables stay flat, and a copy (model_copy) agrees.
    @property
    def defaults(self) -> Defaults:
        return Defaults(self.default_language, self.default_timezone, self.default_digest_time)

    @property
    def digest(self) -> DigestPolicy:
        return DigestPolicy(self.digest_max_items, timedelta(days=self.digest_max_age_days))

    @property
    def connections(self) -> int:
        """HTTP connections to the Bot API: TELEGRAM_CONNECTIONS, or what the rate needs."""
        return self.telegram_connections or connections_for(self.rate_limit_per_second)

    @property
    def delivery(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            digest=self.digest,
            sizing=Sizing(
                self.rate_limit_per_second, self.telegram_connections, self.delivery_concurrency
            ),
            paid_broadcast=self.paid_broadcast,
            kept=timedelta(days=self.digest_retention_days),
            retention=self.retention,
        )

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(timedelta(days=self.digest_max_age_days), self.forget_blocked_days)

    @property
    def feeds(self) -> FeedPolicy:
        return FeedPolicy(
            poll_every=timedelta(minutes=self.feed_poll_minutes),
            tick_seconds=self.feed_tick_seconds,
            timeout_seconds=self.feed_timeout_seconds,
            max_bytes=self.feed_max_bytes,
            concurrency=self.feed_concurrency,
            allow_private=self.feed_allow_private,
        )


def load_settings(**overrides: object) -> Settings:
    """Build the settings or raise `ConfigError` naming every wrong variable, one a line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            if not problem["loc"]:  # a check of several settings names them itself
                lines.append(message)
                continue
            lines.append(f"{str(problem['loc'][0]).upper()}: {message}")
        raise ConfigError("\n".join(lines)) from None
