"""The settings model (pipelines/config.py): one strict loader for gpu-prices.toml and the
environment, one project root, one error hierarchy."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.config import Config
from pipelines.errors import GpuPricesError, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    (tmp_path / "gpu-prices.toml").write_text(text)
    return Config.load(root=tmp_path, env=env or {})


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            "[gate]\nmax_drop_fractoin = 0.3\n",
            {},
            "gpu-prices.toml: unknown key 'gate.max_drop_fractoin' "
            "(did you mean 'max_drop_fraction'?)",
        ),
        (
            "[gate.providers.vastai]\nmax_drop_fractio = 0.9\n",
            {},
            "unknown key 'gate.providers.vastai.max_drop_fractio' "
            "(did you mean 'max_drop_fraction'?)",
        ),
        ("datasets = 'd'\n", {}, "unknown key 'datasets' (did you mean 'datasets_dir'?)"),
        ("[smtpp]\nhost = 'x'\n", {}, "unknown key 'smtpp' (did you mean 'smtp'?)"),
        (
            "[gate]\nmax_drop_fraction = 3\n",
            {},
            "gpu-prices.toml: gate.max_drop_fraction: input should be less than or equal to 1, got 3",
        ),
        ("[http]\ntimeout_s = 'slow'\n", {}, "http.timeout_s: input should be a valid number"),
        ("[smtp]\nstarttls = 1\n", {}, "smtp.starttls: input should be a valid boolean, got 1"),
        ("public_url = 'ftp://x'\n", {}, "public_url: must be an http(s):// URL"),
        (
            "[settings]\nAWS_REGIONS = 1\n",
            {},
            "settings.AWS_REGIONS: input should be a valid string",
        ),
        ("[gate\n", {}, "gpu-prices.toml: not valid TOML"),
        (
            "",
            {"GPU_PRICES_SMTP_PORT": "twenty-five"},
            "environment variable GPU_PRICES_SMTP_PORT: smtp.port: input should be a valid integer",
        ),
        (
            "",
            {"GPU_PRICES_REMOVAL_CONFIRM_RUNS": "0"},
            "environment variable GPU_PRICES_REMOVAL_CONFIRM_RUNS: "
            "changes.removal_confirm_runs: input should be greater than or equal to 1",
        ),
    ],
)
def test_unknown_keys_and_bad_values_are_one_line_naming_the_key(tmp_path, text, env, message):
    with pytest.raises(SettingsError, match=re.escape(message)) as info:
        load(tmp_path, text, env)
    assert "\n" not in str(info.value)


def test_settings_from_the_file_and_the_environment(tmp_path):
    cfg = load(
        tmp_path,
        'datasets_dir = "out"\npublic_url = "https://prices.example.org"\n'
        '[smtp]\nhost = "mail.example.org"\nfrom = "a@example.org"\nport = 2525\n'
        "[changes]\nremoval_confirm_hours = 24\n[http]\nmax_retries = 2\n"
        '[base_urls]\nazure = "http://127.0.0.1:1"\n[settings]\nAWS_REGIONS = "us-east-1"\n',
        {"GPU_PRICES_SMTP_PORT": "587", "GPU_PRICES_AWS_SPOT_BASE_URL": "http://127.0.0.1:2"},
    )
    assert cfg.datasets_dir == tmp_path / "out" and cfg.state_dir == tmp_path / "out" / ".state"
    assert (cfg.smtp.host, cfg.smtp.port, cfg.smtp.from_addr) == (
        "mail.example.org",
        587,  # the environment wins
        "a@example.org",
    )
    assert cfg.public_url == "https://prices.example.org"
    assert cfg.changes.removal_confirm_hours == 24 and cfg.http == {"max_retries": 2}
    assert cfg.base_url("azure", "x") == "http://127.0.0.1:1"
    assert cfg.base_url("aws", "x", "spot") == "http://127.0.0.1:2"
    assert cfg.settings["AWS_REGIONS"] == "us-east-1"
    assert "GPU_PRICES_SMTP_PORT" in cfg.settings  # the environment snapshot providers see

    from pipelines.ops.events import noise_rules

    rules = noise_rules(cfg.changes)
    assert rules.removal_confirm_after == timedelta(hours=24) and rules.removal_confirm_runs == 2


def test_unknown_provider_names_in_the_file_are_refused(tmp_path):
    from scrapers.registry import PROVIDERS

    cfg = load(tmp_path, '[base_urls]\nazrue = "http://127.0.0.1:1"\naws_spot = "http://x"\n')
    with pytest.raises(
        SettingsError, match=r"unknown provider 'base_urls.azrue' \(did you mean 'azure'\?\)"
    ):
        cfg.check_provider_names(PROVIDERS)
    load(tmp_path, "[gate.providers.aws]\nmax_drop_fraction = 0.2\n").check_provider_names(
        PROVIDERS
    )


def test_project_root_resolution(tmp_path):
    project = tmp_path / "project"
    (project / "a" / "b").mkdir(parents=True)
    (project / "gpu-prices.toml").write_text('archive_dir = "raw"\n')
    # The nearest directory holding gpu-prices.toml, from wherever the command runs.
    cfg = Config.load(env={}, cwd=project / "a" / "b")
    assert cfg.root == project and cfg.archive_dir == project / "raw"
    # GPU_PRICES_CONFIG: its directory is the root.
    other = tmp_path / "etc"
    other.mkdir()
    (other / "prices.toml").write_text('archive_dir = "arch"\n')
    cfg = Config.load(env={"GPU_PRICES_CONFIG": str(other / "prices.toml")}, cwd=project)
    assert cfg.root == other and cfg.archive_dir == other / "arch"
    # GPU_PRICES_ROOT wins; with no file there, the defaults apply under it.
    cfg = Config.load(env={"GPU_PRICES_ROOT": str(tmp_path)}, cwd=project)
    assert cfg.root == tmp_path and cfg.datasets_dir == tmp_path / "datasets"
    # Nowhere a file: the working directory.
    assert Config.load(env={}, cwd=tmp_path).root == tmp_path


def test_a_missing_settings_file_named_by_the_environment_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="settings file not found"):
        Config.load(env={"GPU_PRICES_CONFIG": str(tmp_path / "nope.toml")})


def test_no_module_reads_the_environment_outside_the_settings_module():
    pattern = re.compile(r"os\.environ|getenv|\benv\.get\(")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for top in ("pipelines", "scrapers")
        for p in sorted((ROOT / top).rglob("*.py"))
        if p != ROOT / "pipelines" / "config.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_every_expected_error_derives_from_the_root():
    from pipelines.derive.specs import SpecTableError
    from pipelines.errors import AlertsError, ScheduleError
    from pipelines.store.locks import AlreadyRunning
    from scrapers.base import ParseError, ProviderError
    from scrapers.ecb import FxError
    from scrapers.http import FetchError

    for cls in (
        ProviderError,
        ParseError,
        FetchError,
        FxError,
        SpecTableError,
        ScheduleError,
        AlertsError,
        SettingsError,
        AlreadyRunning,
    ):
        assert issubclass(cls, GpuPricesError), cls


def test_the_readme_documents_every_setting():
    from pipelines.config import ENV_KEYS, SettingsFile

    readme = (ROOT / "README.md").read_text()
    missing = [var for var in ENV_KEYS if f"`{var}`" not in readme]
    missing += [f"[{k}]" for k in SettingsFile.model_fields if k not in readme]
    assert missing == []
