"""Settings: a TOML file plus the environment, validated by pydantic-settings.

``load_settings(path)`` is the one entry point.  The token comes from ``TELEGRAM_BOT_TOKEN``
when set (so no secret has to live in a file), else from ``[telegram] token``; likewise the
webhook secret from ``TELEGRAM_WEBHOOK_SECRET``, else ``[telegram] webhook_secret``.  A config that
does not validate raises ``ConfigError`` whose message names the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_FILE = "config.toml"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
CONFIG_ENV = "NEWSBOT_CONFIG"
USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot/newsbot; Telegram news-alert bot)"


class ConfigError(Exception):
    """The configuration is unusable; the message says which key and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(_Section):
    token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    admin_ids: list[int] = Field(default_factory=list)
    # Webhook mode: set webhook_url (public https URL) and the bot receives updates there
    # instead of long polling.  Telegram sends webhook_secret in every request's
    # X-Telegram-Bot-Api-Secret-Token header; requests without it are refused (403).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"  # the Docker image sets 0.0.0.0
    webhook_port: int = Field(8443, ge=0, le=65535)

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be a public https:// URL (Telegram only calls https)")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                f"webhook_url is set but webhook_secret is not (set {WEBHOOK_SECRET_ENV} "
                "or [telegram] webhook_secret)"
            )
        return self

    @property
    def file_base_url(self) -> str:
        """Where files are downloaded from: ``.../file/bot`` beside ``api_base_url``'s
        ``.../bot`` (``https://api.telegram.org/file/bot``; the token follows)."""
        base = self.api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"

    @property
    def webhook_path(self) -> str:
        """The path the webhook server answers on: the path of ``webhook_url``."""
        return urlsplit(self.webhook_url or "").path or "/"


class PollingSettings(_Section):
    interval_seconds: float = Field(300.0, ge=1)
    # pacing (bot/sources/pace.py): a source without its own interval_seconds is polled as
    # often as it publishes, between these bounds, within requests_per_hour (default: what
    # interval_seconds for every such source would spend)
    min_interval_seconds: float = Field(default=60.0, ge=1)
    max_interval_seconds: float = Field(default=3600.0, ge=1)
    requests_per_hour: float | None = Field(default=None, gt=0)
    max_in_flight: int = Field(8, ge=1, le=100)
    timeout_seconds: float = Field(20.0, gt=0)
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_backoff_seconds: float = Field(3600.0, ge=1)
    user_agent: str = USER_AGENT
    # Hosts (names or IP addresses, any port) that article pages, redirects and user-added
    # sources may reach even on an internal address (loopback, private ranges, ...).
    allow_hosts: list[str] = Field(default_factory=list)

    @field_validator("allow_hosts")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        from bot.sources.netguard import normalize_allow_host

        return [normalize_allow_host(entry) for entry in value]

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> PollingSettings:
        if self.min_interval_seconds > self.max_interval_seconds:
            raise ValueError(
                f"min_interval_seconds ({self.min_interval_seconds:g}) is above "
                f"max_interval_seconds ({self.max_interval_seconds:g})"
            )
        return self


class StorageSettings(_Section):
    path: Path = Path("data")
    retention_days: float = Field(30.0, gt=0)


class DeliverySettings(_Section):
    max_age_hours: float = Field(24.0, gt=0)
    summary_chars: int = Field(300, ge=50, le=1000)


class ChatSourcesSettings(_Section):
    """Sources a chat adds for itself (/addsource, OPML).  ``[chat_sources]``, not
    ``[sources]``: TOML cannot hold a ``[sources]`` table beside the ``[[sources]]`` list."""

    enabled: bool = True
    per_chat: int = Field(20, ge=0, le=1000)


class StoriesSettings(_Section):
    """Same story, one alert (``bot/stories``): reports of one story from several sources
    reach a chat once; later ones are added to the first alert by editing it."""

    enabled: bool = True
    window_hours: float = Field(72.0, gt=0, le=24 * 30)  # compare and fold only this close
    # weighted title-word overlap that makes two reports one story on its own, with a
    # shared name or number, and (both with a summary) of title + summary with a name
    title_threshold: float = Field(0.4, gt=0, le=1)
    named_threshold: float = Field(0.2, gt=0, le=1)
    summary_threshold: float = Field(0.3, gt=0, le=1)
    max_sources: int = Field(3, ge=1, le=10)  # "Also:" links shown, then "+N more"


class MetricsSettings(_Section):
    """The HTTP endpoint with /healthz and /metrics (Prometheus text format)."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)  # 0: any free port (tests)


class SourceConfig(_Section):
    """One source.  ``type`` picks the reader; the other keys belong to that type."""

    name: str = Field(min_length=1, max_length=64)
    url: str
    type: Literal["rss", "html", "json"] = "rss"
    enabled: bool = True
    interval_seconds: float | None = Field(None, ge=1)
    timezone: str = "UTC"
    fetch_summaries: bool = True
    # type = "html": CSS selector of the headline <a> elements on the listing page
    link_selector: str | None = None
    # type = "json": where the item list is, and which item field holds what (dotted paths)
    items_path: str = "datas"
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    def model_post_init(self, __context: Any) -> None:
        if self.type == "html" and not self.link_selector:
            raise ValueError("a source of type 'html' needs link_selector")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def default_sources() -> list[SourceConfig]:
    """The built-in list, used when no config file names any source."""
    return [SourceConfig(**raw) for raw in _DEFAULT_SOURCES]


_CAIXIN_FIELDS = {
    "id": "nid",
    "title": "desc",
    "summary": "summ",
    "link": "link",
    "published": "time",
    "tags": "tags[].name",
    "keywords": "keyword",
    "paid": "attr=5",
}

#: Caixin Global's own English gateway (``getNewsListByCate``): ``data.list[]`` items with the
#: article ``url`` and a ``timestamp`` in milliseconds; the title/summary keys are not known
#: for sure, so common names are tried in order
_CAIXIN_GLOBAL_FIELDS = {
    "id": "id|nid",
    "title": "title|headline|desc",
    "summary": "summary|digest|summ",
    "link": "url|link",
    "published": "timestamp|time",
}

_DEFAULT_SOURCES: list[dict[str, Any]] = [
    {
        "name": "Caixin Global CX Tech",
        "type": "json",
        "url": "https://gateway.caixin.com/api/extapi/homeInterface.jsp"
        "?subject=100990318;100990314;100990311&start=0&count=20&type=2",
        "timezone": "Asia/Shanghai",
        "items_path": "datas",
        "fields": _CAIXIN_FIELDS,
        "interval_seconds": 120,
    },
    {
        "name": "Caixin Global (gateway)",
        "type": "json",
        "url": "https://gateway.caixinglobal.com/api/data/getNewsListByCate"
        "?page=1&size=20&pids=101652028",
        "timezone": "Asia/Shanghai",
        "items_path": "data.list",
        "fields": _CAIXIN_GLOBAL_FIELDS,
    },
    {
        "name": "Caixin Global Tech (page)",
        "type": "html",
        "url": "https://www.caixinglobal.com/tech/",
        "link_selector": 'a[href*="/20"][href*=".html"]',
        "timezone": "Asia/Shanghai",
        "interval_seconds": 600,
    },
    {"name": "SCMP Tech", "url": "https://www.scmp.com/rss/36/feed"},
    {"name": "TechNode", "url": "https://technode.com/feed/", "timezone": "Asia/Shanghai"},
    {"name": "KrASIA", "url": "https://kr-asia.com/feed"},
    {"name": "Pandaily", "url": "https://pandaily.com/feed/", "timezone": "Asia/Shanghai"},
    {"name": "Rest of World", "url": "https://restofworld.org/feed/latest/"},
    {"name": "TechCrunch", "url": "https://techcrunch.com/feed/"},
    {"name": "The Verge", "url": "https://www.theverge.com/rss/index.xml"},
    {"name": "Ars Technica", "url": "https://feeds.arstechnica.com/arstechnica/index"},
    {"name": "Hacker News", "url": "https://hnrss.org/frontpage"},
]


class Settings(BaseSettings):
    """Everything the bot reads at start.  Build it with ``load_settings``."""

    model_config = SettingsConfigDict(extra="forbid")

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    stories: StoriesSettings = Field(default_factory=StoriesSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    chat_sources: ChatSourcesSettings = Field(default_factory=ChatSourcesSettings)
    sources: list[SourceConfig] = Field(default_factory=default_sources)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in value:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}")
            seen.add(source.name)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file is passed in as init kwargs by load_settings; the one environment
        # variable we honour (the token) is applied there too, explicitly.
        return (init_settings,)

    @property
    def token(self) -> str | None:
        return self.telegram.token.get_secret_value() if self.telegram.token else None

    @property
    def webhook_secret(self) -> str | None:
        secret = self.telegram.webhook_secret
        return secret.get_secret_value() if secret else None

    def interval_for(self, source: SourceConfig) -> float:
        return source.interval_seconds or self.polling.interval_seconds

    @property
    def requests_per_hour(self) -> float:
        """The polling budget: as configured, else what the fixed intervals spend today."""
        if self.polling.requests_per_hour is not None:
            return self.polling.requests_per_hour
        return sum(3600.0 / self.interval_for(s) for s in self.sources if s.enabled)


def resolve_config_path(cli_value: str | None) -> Path | None:
    """``--config`` if given, else ``$NEWSBOT_CONFIG``, else ``./config.toml`` if present."""
    if cli_value:
        return Path(cli_value)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


def load_settings(
    path: str | Path | None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (TOML; ``None`` means built-in defaults) and the environment."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for variable, key in ((TOKEN_ENV, "token"), (WEBHOOK_SECRET_ENV, "webhook_secret")):
        value = env.get(variable)
        if value:
            raw.setdefault("telegram", {})
            if isinstance(raw["telegram"], dict):
                raw["telegram"][key] = value
    try:
        return Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid config: {_describe(exc)}") from exc
