"""Settings: one typed, strict model loaded once from `gpu-prices.toml` and the environment.

One module on purpose (about 500 lines): the settings model, its file and environment
mapping and the project root are one declaration that issue 11 asked to keep in one place;
split, the mapping of a variable and the field it sets would drift apart.

This is the only module that reads `os.environ`. Everything else gets a `Config` (built by
`Config.load()`) and reads its typed fields; provider secrets reach providers through
`Config.settings`, the environment snapshot taken here (plus the file's `[settings]`).

Project root (every relative path below resolves from it, whatever the working directory):
`GPU_PRICES_ROOT`, else the directory of `GPU_PRICES_CONFIG`, else the nearest directory
from the working directory upwards that holds `gpu-prices.toml`, else the working directory.
The settings file is `GPU_PRICES_CONFIG`, else `<root>/gpu-prices.toml` (optional).

Precedence (later wins): defaults, the file, then environment variables. An unknown key or
a bad value, in the file or in a variable, raises `SettingsError` with one line naming it:

    gpu-prices.toml: unknown key 'gate.max_drop_fractoin' (did you mean 'max_drop_fraction'?)

The file's layout (every key optional; the environment variable that overrides it is given
in `ENV_KEYS` below):

    datasets_dir = "datasets"          # GPU_PRICES_DATASETS_DIR
    archive_dir = "archive"            # GPU_PRICES_ARCHIVE_DIR
    state_dir = "datasets/.state"      # GPU_PRICES_STATE_DIR
    table_url = "s3://bucket/gpu_prices.delta"      # GPU_PRICES_TABLE_URL: the Delta table
                                       # of record (default <datasets_dir>/gpu_prices.delta);
                                       # storage options: pipelines/store/delta.py
    public_url = "https://example.org/gpu-prices"   # GPU_PRICES_PUBLIC_URL (feed, mail links)
    schedule = "schedules/schedule.toml"            # GPU_PRICES_SCHEDULE
    [base_urls]                        # GPU_PRICES_<PROVIDER>[_<NAME>]_BASE_URL
    azure = "http://127.0.0.1:8080"
    [gate]
    max_drop_fraction = 0.5
    max_quarantine_fraction = 0.05     # rows the gate may quarantine before a provider fails
    [gate.providers.vastai]
    max_drop_fraction = 0.8
    max_quarantine_fraction = 0.1
    [http]                             # GPU_PRICES_HTTP_TIMEOUT_S, GPU_PRICES_HTTP_MAX_RETRIES
    timeout_s = 60
    max_retries = 4
    [smtp]                             # GPU_PRICES_SMTP_HOST, _PORT, _STARTTLS, _TLS, _USER,
    host = "smtp.example.org"          #   _PASSWORD, _FROM, _TIMEOUT_S
    from = "alerts@example.org"
    [alerts]
    enabled = true                     # GPU_PRICES_ALERTS_ENABLED: send mail after a run
    db_url = "sqlite:////var/lib/gpu-prices/alerts.sqlite"   # GPU_PRICES_ALERTS_DB
    [changes]                          # noise rules of change detection
    removal_confirm_runs = 2           # GPU_PRICES_REMOVAL_CONFIRM_RUNS
    removal_confirm_hours = 24         # GPU_PRICES_REMOVAL_CONFIRM_HOURS
    spot_min_change_pct = 5            # GPU_PRICES_SPOT_MIN_CHANGE_PCT
    marketplace_min_change_pct = 5     # GPU_PRICES_MARKETPLACE_MIN_CHANGE_PCT
    index_min_change_pct = 1           # GPU_PRICES_INDEX_MIN_CHANGE_PCT: index day-on-day move
    price_confirm_runs = 0             # GPU_PRICES_PRICE_CONFIRM_RUNS (all providers)
    [changes.providers.azure]
    price_confirm_runs = 1             # a new Azure price must persist one more run
    [settings]                         # provider settings/secrets by their documented names
    AWS_REGIONS = "us-east-1"

Why pydantic models and not pydantic-settings' environment source: the documented variable
names are flat (`GPU_PRICES_SMTP_HOST` sets `smtp.host`); pydantic-settings would need a
nested delimiter (`GPU_PRICES_SMTP__HOST`) and would rename them. The explicit `ENV_KEYS`
table keeps the names and is the one list of them. The same `load_toml_model` validates
`schedules/schedule.toml` (pipelines/ops/schedule_file.py), so both files fail alike.
"""

from __future__ import annotations

import copy
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.errors import SettingsError, did_you_mean

CONFIG_FILE = "gpu-prices.toml"
ROOT_ENV = "GPU_PRICES_ROOT"
CONFIG_ENV = "GPU_PRICES_CONFIG"
DEFAULT_SCHEDULE_FILE = Path("schedules") / "schedule.toml"

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    """A table of a settings file: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _http_url(value: str | None) -> str | None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError("must be an http(s):// URL")
    return value


class ProviderGate(Section):
    max_drop_fraction: float | None = Field(None, ge=0, le=1)
    max_quarantine_fraction: float | None = Field(None, ge=0, le=1)


class GateSection(Section):
    # None = not configured: each provider's own default (ProviderSpec) applies.
    max_drop_fraction: float | None = Field(None, ge=0, le=1)
    # Share of a provider's rows the gate may quarantine before the provider fails
    # (None: pipelines.ingest.gate.DEFAULT_MAX_QUARANTINE_FRACTION).
    max_quarantine_fraction: float | None = Field(None, ge=0, le=1)
    providers: dict[str, ProviderGate] = {}


class HttpSection(Section):
    """Overrides of scrapers.http.HttpClient's defaults (unset = the client's default)."""

    timeout_s: float | None = Field(None, gt=0)
    max_retries: int | None = Field(None, ge=0)
    backoff_base_s: float | None = Field(None, ge=0)
    max_backoff_s: float | None = Field(None, ge=0)
    per_host_limit: int | None = Field(None, ge=1)
    max_body_bytes: int | None = Field(None, ge=1)
    # Overall budget of one request, retries included (a server that drips its body).
    deadline_s: float | None = Field(None, gt=0)


class SmtpSection(Section):
    host: str | None = None  # unset: mail delivery is not configured, mail stays queued
    port: int | None = Field(None, ge=1, le=65535)  # default 465 (tls), 587 (starttls), 25
    starttls: bool = False
    tls: bool = False  # implicit TLS
    user: str | None = None
    password: str | None = Field(None, repr=False)
    from_addr: str | None = Field(None, alias="from")  # default: user
    timeout_s: float = Field(30.0, gt=0)
    # The server offers SMTPUTF8: addresses with a non-ASCII local part may subscribe.
    smtputf8: bool = False


class AlertsSection(Section):
    enabled: bool = True  # False: runs record events and queue mail but send nothing
    db_url: str | None = None  # SQLAlchemy URL; default sqlite in the state dir


class ProviderChanges(Section):
    price_confirm_runs: int = Field(ge=0)


class ChangesSection(Section):
    """Noise rules of change detection (pipelines/derive/changes.py NoiseRules)."""

    removal_confirm_runs: int = Field(2, ge=1)
    removal_confirm_hours: float | None = Field(None, gt=0)
    spot_min_change_pct: float = Field(5.0, ge=0)
    marketplace_min_change_pct: float = Field(5.0, ge=0)
    # A price index's day-on-day move at least this large is an `index_changed` event
    # (subscribers narrow it further with --min-change-pct).
    index_min_change_pct: float = Field(1.0, ge=0)
    # Runs a new fixed price must persist before it is an event, for every provider without
    # its own entry under [changes.providers.X]; unset: the built-in per-provider defaults
    # (pipelines/derive/change_state.py DEFAULT_PRICE_CONFIRM_RUNS: Azure 1, others 0).
    price_confirm_runs: int | None = Field(None, ge=0)
    providers: dict[str, ProviderChanges] = {}


class SettingsFile(Section):
    datasets_dir: str | None = None
    archive_dir: str | None = None
    state_dir: str | None = None
    table_url: str | None = None
    public_url: str | None = None
    schedule: str | None = None
    base_urls: dict[str, str] = {}
    gate: GateSection = GateSection()
    http: HttpSection = HttpSection()
    smtp: SmtpSection = SmtpSection()
    alerts: AlertsSection = AlertsSection()
    changes: ChangesSection = ChangesSection()
    settings: dict[str, str] = {}

    _check_public_url = field_validator("public_url")(_http_url)


# Environment variable -> key it sets. Values are text and converted by the model.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "GPU_PRICES_DATASETS_DIR": ("datasets_dir",),
    "GPU_PRICES_ARCHIVE_DIR": ("archive_dir",),
    "GPU_PRICES_STATE_DIR": ("state_dir",),
    "GPU_PRICES_TABLE_URL": ("table_url",),
    "GPU_PRICES_PUBLIC_URL": ("public_url",),
    "GPU_PRICES_SCHEDULE": ("schedule",),
    "GPU_PRICES_HTTP_TIMEOUT_S": ("http", "timeout_s"),
    "GPU_PRICES_HTTP_MAX_RETRIES": ("http", "max_retries"),
    "GPU_PRICES_SMTP_HOST": ("smtp", "host"),
    "GPU_PRICES_SMTP_PORT": ("smtp", "port"),
    "GPU_PRICES_SMTP_STARTTLS": ("smtp", "starttls"),
    "GPU_PRICES_SMTP_TLS": ("smtp", "tls"),
    "GPU_PRICES_SMTP_USER": ("smtp", "user"),
    "GPU_PRICES_SMTP_PASSWORD": ("smtp", "password"),
    "GPU_PRICES_SMTP_FROM": ("smtp", "from"),
    "GPU_PRICES_SMTP_TIMEOUT_S": ("smtp", "timeout_s"),
    "GPU_PRICES_SMTP_SMTPUTF8": ("smtp", "smtputf8"),
    "GPU_PRICES_ALERTS_ENABLED": ("alerts", "enabled"),
    "GPU_PRICES_ALERTS_DB": ("alerts", "db_url"),
    "GPU_PRICES_REMOVAL_CONFIRM_RUNS": ("changes", "removal_confirm_runs"),
    "GPU_PRICES_REMOVAL_CONFIRM_HOURS": ("changes", "removal_confirm_hours"),
    "GPU_PRICES_SPOT_MIN_CHANGE_PCT": ("changes", "spot_min_change_pct"),
    "GPU_PRICES_MARKETPLACE_MIN_CHANGE_PCT": ("changes", "marketplace_min_change_pct"),
    "GPU_PRICES_INDEX_MIN_CHANGE_PCT": ("changes", "index_min_change_pct"),
    "GPU_PRICES_PRICE_CONFIRM_RUNS": ("changes", "price_confirm_runs"),
}
_BASE_URL_PREFIX, _BASE_URL_SUFFIX = "GPU_PRICES_", "_BASE_URL"


# --- strict loading, shared with the schedule file --------------------------------------


def read_toml(
    path: Path, what: str = "settings file", error: type = SettingsError
) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def load_toml_model(
    model: type[M], path: Path, *, what: str = "settings file", error: type = SettingsError
) -> M:
    """Read `path` and validate it against `model` (strict types); errors are one line."""
    data = read_toml(path, what, error)
    return validate_model(model, data, lambda loc: str(path), strict=True, error=error)


def validate_model(
    model: type[M],
    data: Mapping[str, Any],
    where: Any,
    *,
    strict: bool,
    error: type = SettingsError,
) -> M:
    """`model.model_validate(data)`, with the first problem as one line: `where(loc)` names
    the file or variable a key came from."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        # An unknown key explains the rest (a misspelt key also leaves its field missing).
        first = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise error(describe_error(model, first, where)) from None


def describe_error(model: type[BaseModel], err: Mapping[str, Any], where: Any) -> str:
    loc = tuple(str(p) for p in err["loc"])
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        choices = _keys_at(model, loc[:-1])
        hint = did_you_mean(loc[-1], choices)
        if not hint:
            hint = f" (expected one of: {', '.join(sorted(choices))})" if choices else ""
        return f"{where(loc)}: unknown key '{key}'{hint}"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    return f"{where(loc)}: {key}: {msg}, got {err.get('input')!r}"


def _keys_at(model: Any, loc: tuple[str, ...]) -> list[str]:
    """The keys the model accepts at `loc` (for "did you mean")."""
    tp: Any = model
    rest = list(loc)
    while True:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not rest:
                return [f.alias or name for name, f in tp.model_fields.items()]
            name = rest.pop(0)
            fld = next(
                (f for n, f in tp.model_fields.items() if name in (n, f.alias)),
                None,
            )
            if fld is None:
                return []
            tp = fld.annotation
        elif typing.get_origin(tp) is dict and rest:
            rest.pop(0)
            tp = typing.get_args(tp)[1]
        else:
            return []


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


# --- the project root ---------------------------------------------------------------------


def project_root(env: Mapping[str, str], cwd: Path) -> Path:
    """GPU_PRICES_ROOT, else GPU_PRICES_CONFIG's directory, else the nearest directory from
    `cwd` upwards holding gpu-prices.toml, else `cwd`."""
    if env.get(ROOT_ENV):
        return Path(env[ROOT_ENV]).expanduser().resolve()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser().resolve().parent
    cwd = cwd.resolve()
    for d in (cwd, *cwd.parents):
        if (d / CONFIG_FILE).is_file():
            return d
    return cwd


# --- the config object --------------------------------------------------------------------


@dataclass
class Config:
    """The loaded settings. Paths are absolute; `settings` is the environment snapshot
    (plus the file's [settings]) from which providers get their own keys."""

    root: Path
    datasets_dir: Path
    archive_dir: Path
    state_dir: Path
    base_urls: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    # None = not configured: each provider's own default (ProviderSpec) applies.
    max_drop_fraction: float | None = None
    provider_max_drop_fraction: dict[str, float] = field(default_factory=dict)
    max_quarantine_fraction: float | None = None
    provider_max_quarantine_fraction: dict[str, float] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)  # HttpClient keyword arguments
    workdir: Path | None = None
    config_file: Path | None = None  # the settings file read, if any
    public_url: str | None = None
    schedule_file: Path | None = None  # explicitly configured schedule (else the default)
    smtp: SmtpSection = field(default_factory=SmtpSection)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    changes: ChangesSection = field(default_factory=ChangesSection)
    file_base_urls: tuple[str, ...] = field(default=(), repr=False)  # keys from the file
    # The Delta table of record as configured: None = `<datasets_dir>/gpu_prices.delta`
    # (follows `--datasets`); a relative path resolves from the root; a URL stays as is.
    table_url_setting: str | None = None

    @classmethod
    def load(
        cls,
        root: Path | None = None,
        env: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
    ) -> Config:
        """Read the settings file and the environment (default: this process's) once."""
        env = dict(os.environ if env is None else env)
        root = Path(root).resolve() if root is not None else project_root(env, cwd or Path.cwd())
        cfg_path = Path(env[CONFIG_ENV]).expanduser() if env.get(CONFIG_ENV) else None
        if cfg_path is None and (root / CONFIG_FILE).is_file():
            cfg_path = root / CONFIG_FILE
        data: dict[str, Any] = {}
        if cfg_path is not None:
            # Strict first: a TOML value of the wrong type is an error, not converted.
            data = load_toml_model(SettingsFile, cfg_path).model_dump(
                by_alias=True, exclude_unset=True
            )
        origins: dict[tuple[str, ...], str] = {}
        merged = copy.deepcopy(data)
        for var, key in ENV_KEYS.items():
            if env.get(var):
                node = merged
                for part in key[:-1]:
                    node = node.setdefault(part, {})
                node[key[-1]] = env[var]
                origins[key] = f"environment variable {var}"
        where_file = str(cfg_path) if cfg_path else "settings"

        def where(loc: tuple[str, ...]) -> str:
            for n in range(len(loc), 0, -1):
                if loc[:n] in origins:
                    return origins[loc[:n]]
            return where_file

        s = validate_model(SettingsFile, merged, where, strict=False)

        def path_of(value: str | None, default: Path) -> Path:
            p = Path(value).expanduser() if value else default
            return (p if p.is_absolute() else root / p).resolve()

        datasets_dir = path_of(s.datasets_dir, Path("datasets"))
        base_urls = {k.lower(): v for k, v in s.base_urls.items()}
        for key, value in env.items():
            if key.startswith(_BASE_URL_PREFIX) and key.endswith(_BASE_URL_SUFFIX) and value:
                name = key[len(_BASE_URL_PREFIX) : -len(_BASE_URL_SUFFIX)].lower()
                base_urls[name] = value
        return cls(
            root=root,
            datasets_dir=datasets_dir,
            archive_dir=path_of(s.archive_dir, Path("archive")),
            state_dir=path_of(s.state_dir, datasets_dir / ".state"),
            base_urls=base_urls,
            settings={**s.settings, **env},
            max_drop_fraction=s.gate.max_drop_fraction,
            provider_max_drop_fraction={
                name: g.max_drop_fraction
                for name, g in s.gate.providers.items()
                if g.max_drop_fraction is not None
            },
            max_quarantine_fraction=s.gate.max_quarantine_fraction,
            provider_max_quarantine_fraction={
                name: g.max_quarantine_fraction
                for name, g in s.gate.providers.items()
                if g.max_quarantine_fraction is not None
            },
            http=s.http.model_dump(exclude_none=True),
            config_file=cfg_path.resolve() if cfg_path else None,
            public_url=s.public_url,
            schedule_file=path_of(s.schedule, DEFAULT_SCHEDULE_FILE) if s.schedule else None,
            smtp=s.smtp,
            alerts=s.alerts,
            changes=s.changes,
            file_base_urls=tuple(k.lower() for k in data.get("base_urls", {})),
            table_url_setting=s.table_url,
        )

    def with_datasets(self, datasets: Path | None, archive: Path | None = None) -> Config:
        """This config with `--datasets` / `--archive` from the command line applied (the
        state then lives beside the datasets, as with `scrape run --datasets`)."""
        if datasets:
            self.datasets_dir = Path(datasets).resolve()
            self.state_dir = self.datasets_dir / ".state"
        if archive:
            self.archive_dir = Path(archive).resolve()
        return self

    @property
    def table_url(self) -> str:
        """The Delta table of record: a local path or an object-store URL."""
        raw = self.table_url_setting
        if not raw:
            return str(self.datasets_dir / "gpu_prices.delta")
        if "://" in raw:
            return raw
        p = Path(raw).expanduser()
        return str(p if p.is_absolute() else (self.root / p).resolve())

    @property
    def default_schedule_file(self) -> Path:
        return self.schedule_file or self.root / DEFAULT_SCHEDULE_FILE

    def base_url(self, provider: str, default: str, name: str | None = None) -> str:
        key = provider if name is None else f"{provider}_{name}"
        return self.base_urls.get(key.lower(), default)

    def drop_fraction(self, provider: str, spec_default: float) -> float:
        """Row-count fall the gate allows: [gate.providers.X], else [gate], else the
        provider's own default."""
        if provider in self.provider_max_drop_fraction:
            return self.provider_max_drop_fraction[provider]
        if self.max_drop_fraction is not None:
            return self.max_drop_fraction
        return spec_default

    def quarantine_fraction(self, provider: str, default: float) -> float:
        """Quarantined share the gate allows: [gate.providers.X], else [gate], else `default`."""
        if provider in self.provider_max_quarantine_fraction:
            return self.provider_max_quarantine_fraction[provider]
        if self.max_quarantine_fraction is not None:
            return self.max_quarantine_fraction
        return default

    def check_provider_names(self, known: Mapping[str, Any]) -> None:
        """Refuse [base_urls] and [gate.providers] entries for providers not in `known`
        (checked by a run against the registry, which this base module does not import)."""
        where = str(self.config_file or CONFIG_FILE)
        for section, names in (
            (
                "gate.providers",
                {**self.provider_max_drop_fraction, **self.provider_max_quarantine_fraction},
            ),
            ("base_urls", self.file_base_urls),
        ):
            for name in names:
                provider = name if section == "gate.providers" else _base_url_provider(name, known)
                if provider not in known:
                    raise SettingsError(
                        f"{where}: unknown provider '{section}.{name}'"
                        + (did_you_mean(name, known) or f" (known: {', '.join(sorted(known))})")
                    )


def _base_url_provider(key: str, known: Mapping[str, Any]) -> str:
    """`aws_spot` -> `aws` when `aws` is known (a provider's named extra base URL)."""
    if key in known:
        return key
    head = key.rsplit("_", 1)[0]
    return head if head in known else key


# The name the settings model is known by in the issue tracker and README.
Settings = Config
