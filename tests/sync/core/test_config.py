"""Settings are read once from an environment mapping (docs/operations.md); bad values say how to fix them.

Defaults and examples below are copied from the table in docs/operations.md#configuration, not from the code.
"""

import dataclasses
import datetime as dt

import pytest

from sync.core.config import Settings
from sync.core.errors import ConfigError

ALL = ("主板", "创业板", "科创板", "北交所", "CDR")


def test_an_empty_environment_gives_the_documented_defaults():
    settings = Settings.from_env({})
    assert settings.tushare_token is None
    assert settings.tushare_api_url == "http://api.waditu.com/dataapi"
    assert settings.rate_per_min == 200
    assert settings.dataset_repo == "./dataset"
    assert settings.hf_token is None
    assert settings.markets == ("主板",)
    assert settings.sync_time == "21:00"
    assert settings.sync_tz == "Asia/Shanghai"
    assert settings.admin_token is None
    assert settings.restatement_days == 3
    assert settings.completeness == 0.98
    assert settings.embedded_source is True


def test_blank_values_count_as_unset():
    blank = {
        name: "  "
        for name in (
            "TUSHARE_TOKEN",
            "TUSHARE_API_URL",
            "TUSHARE_RATE_PER_MIN",
            "DATASET_REPO",
            "HF_TOKEN",
            "SYNC_MARKETS",
            "SYNC_START_DATE",
            "SYNC_TIME",
            "SYNC_TZ",
            "SYNC_ADMIN_TOKEN",
            "SYNC_RESTATEMENT_DAYS",
            "SYNC_COMPLETENESS",
            "SYNC_SETTLE_DAYS",
            "SYNC_CHECKPOINT_MAX_AGE",
        )
    }
    assert Settings.from_env(blank) == Settings.from_env({})


def test_from_env_reads_the_process_environment_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("DATASET_REPO", "hf://datasets/someone/prices")
    assert Settings.from_env().dataset_repo == "hf://datasets/someone/prices"


def test_a_token_switches_off_the_embedded_source():
    settings = Settings.from_env({"TUSHARE_TOKEN": "abc123token"})
    assert settings.tushare_token == "abc123token"
    assert settings.embedded_source is False


def test_the_api_url_is_read_without_a_trailing_slash():
    assert (
        Settings.from_env({"TUSHARE_API_URL": "http://127.0.0.1:8765/dataapi/"}).tushare_api_url
        == "http://127.0.0.1:8765/dataapi"
    )


@pytest.mark.parametrize("text, expected", [("500", 500), ("1", 1), (" 50 ", 50)])
def test_rate_per_min_is_a_positive_whole_number(text, expected):
    assert Settings.from_env({"TUSHARE_RATE_PER_MIN": text}).rate_per_min == expected


@pytest.mark.parametrize("target", ["hf://datasets/ellendan/a-share-prices", "/data/prices", "out"])
def test_dataset_repo_is_taken_as_given(target):
    assert Settings.from_env({"DATASET_REPO": target}).dataset_repo == target


def test_secrets_are_read_from_the_environment():
    settings = Settings.from_env({"HF_TOKEN": "hf_abcdef", "SYNC_ADMIN_TOKEN": "admin-secret"})
    assert settings.hf_token == "hf_abcdef"
    assert settings.admin_token == "admin-secret"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("主板", ("主板",)),
        ("主板,创业板", ("主板", "创业板")),
        (" 科创板 , 北交所 ", ("科创板", "北交所")),
        ("主板,主板,创业板", ("主板", "创业板")),
        ("all", ALL),
        ("ALL", ALL),
    ],
)
def test_markets_are_a_comma_list_or_all(text, expected):
    assert Settings.from_env({"SYNC_MARKETS": text}).markets == expected


def test_start_date_is_read_as_yyyymmdd():
    assert Settings.from_env({"SYNC_START_DATE": "20100104"}).start_date == dt.date(2010, 1, 4)


def test_no_start_date_leaves_the_choice_to_the_run():
    # docs/operations.md: default 20050101 for Tushare; the embedded market starts where its data starts.
    assert Settings.from_env({}).start_date is None


@pytest.mark.parametrize(
    "text, expected", [("21:00", "21:00"), ("9:05", "09:05"), ("00:00", "00:00"), ("23:59", "23:59")]
)
def test_sync_time_is_normalised_to_hh_mm(text, expected):
    assert Settings.from_env({"SYNC_TIME": text}).sync_time == expected


def test_sync_tz_is_read():
    assert Settings.from_env({"SYNC_TZ": "Europe/London"}).sync_tz == "Europe/London"


@pytest.mark.parametrize("text, expected", [("0", 0), ("5", 5)])
def test_restatement_days_may_be_zero(text, expected):
    assert Settings.from_env({"SYNC_RESTATEMENT_DAYS": text}).restatement_days == expected


def test_settle_days_default_to_five_and_are_read():
    assert Settings.from_env({}).settle_days == 5
    assert Settings.from_env({"SYNC_SETTLE_DAYS": "3"}).settle_days == 3


def test_checkpoint_max_age_defaults_to_seven_days():
    assert Settings.from_env({}).checkpoint_max_age == dt.timedelta(days=7)


@pytest.mark.parametrize("text", ["never", "-7", "0"])
def test_a_malformed_checkpoint_max_age_names_its_variable(text):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SYNC_CHECKPOINT_MAX_AGE": text})
    assert "SYNC_CHECKPOINT_MAX_AGE" in str(raised.value) and repr(text) in str(raised.value)


@pytest.mark.parametrize("text, expected", [("1", 1.0), ("0.5", 0.5), ("0.98", 0.98)])
def test_completeness_is_a_fraction_up_to_one(text, expected):
    assert Settings.from_env({"SYNC_COMPLETENESS": text}).completeness == expected


# -- malformed values: a ConfigError naming the variable and showing a valid example ----------


@pytest.mark.parametrize(
    "name, text, example",
    [
        ("TUSHARE_RATE_PER_MIN", "abc", "200"),
        ("TUSHARE_RATE_PER_MIN", "0", "200"),
        ("TUSHARE_RATE_PER_MIN", "-5", "200"),
        ("TUSHARE_RATE_PER_MIN", "1.5", "200"),
        ("SYNC_MARKETS", "纳斯达克", "主板"),
        ("SYNC_MARKETS", "主板,中小板", "主板"),
        ("SYNC_MARKETS", ",", "主板"),
        ("SYNC_MARKETS", "all,主板", "主板"),
        ("SYNC_START_DATE", "2005-01-01", "20240105"),
        ("SYNC_START_DATE", "20050132", "20240105"),
        ("SYNC_TIME", "25:00", "21:00"),
        ("SYNC_TIME", "9pm", "21:00"),
        ("SYNC_TIME", "21:00:00", "21:00"),
        ("SYNC_RESTATEMENT_DAYS", "-1", "3"),
        ("SYNC_RESTATEMENT_DAYS", "three", "3"),
        ("SYNC_COMPLETENESS", "0", "0.98"),
        ("SYNC_COMPLETENESS", "1.5", "0.98"),
        ("SYNC_COMPLETENESS", "98%", "0.98"),
        ("SYNC_COMPLETENESS", "nan", "0.98"),
        ("SYNC_SETTLE_DAYS", "-1", "5"),
        ("SYNC_SETTLE_DAYS", "five", "5"),
    ],
)
def test_a_malformed_value_names_its_variable_and_a_valid_example(name, text, example):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: text})
    message = str(raised.value)
    assert name in message
    assert repr(text.strip()) in message  # says what it got
    shown = _example_in(message) or example
    assert shown in message
    Settings.from_env({name: shown})  # the example the message shows is accepted
    assert raised.value.exit_code == 2


def _example_in(message: str) -> str | None:
    """The value after "e.g." in a message (None when the message lists the valid values instead)."""
    if "e.g." not in message:
        return None
    return message.split("e.g.", 1)[1].split(";", 1)[0].strip().split()[0].rstrip(",")


@pytest.mark.parametrize("text", ["Mars/Olympus", "UTC+8", "shanghai"])
def test_an_unknown_time_zone_names_sync_tz_and_a_valid_example(text):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SYNC_TZ": text})
    assert "SYNC_TZ" in str(raised.value) and "Asia/Shanghai" in str(raised.value)


@pytest.mark.parametrize("text", ["api.waditu.com/dataapi", "ftp://api.waditu.com/dataapi", "http://"])
def test_an_api_url_that_is_not_http_names_tushare_api_url_and_a_valid_example(text):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"TUSHARE_TOKEN": "abc123token", "TUSHARE_API_URL": text})
    assert "TUSHARE_API_URL" in str(raised.value) and "http://" in str(raised.value)


def test_a_config_error_is_also_a_value_error():
    with pytest.raises(ValueError):
        Settings.from_env({"SYNC_COMPLETENESS": "lots"})


# -- secrets ----------------------------------------------------------------------------------

SECRETS = {
    "TUSHARE_TOKEN": "tushare-secret-1234",
    "HF_TOKEN": "hf_secretToken5678",
    "SYNC_ADMIN_TOKEN": "admin-secret-9012",
}


def test_secrets_never_appear_in_repr_or_str():
    settings = Settings.from_env({**SECRETS, "DATASET_REPO": "out"})
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        for secret in SECRETS.values():
            assert secret not in shown
    assert "dataset_repo='out'" in repr(settings)


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.rate_per_min = 1  # type: ignore[misc]


def test_a_malformed_value_next_to_a_secret_never_shows_the_secret():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**SECRETS, "SYNC_COMPLETENESS": "lots"})
    for secret in SECRETS.values():
        assert secret not in str(raised.value)


def test_sync_indexes_default_to_the_eight_and_an_empty_value_means_none():
    default = Settings.from_env({})
    assert default.indexes == (
        "000001.SH",
        "399001.SZ",
        "399006.SZ",
        "000016.SH",
        "000300.SH",
        "000905.SH",
        "000852.SH",
        "000688.SH",
    )
    assert Settings.from_env({"SYNC_INDEXES": ""}).indexes == ()
    assert Settings.from_env({"SYNC_INDEXES": " 000300.sh, 000905.SH,000300.SH"}).indexes == ("000300.SH", "000905.SH")


@pytest.mark.parametrize("text", ["CSI300", "000300", "000300.SH,hs300"])
def test_sync_indexes_that_are_not_index_codes_are_a_configuration_error(text):
    with pytest.raises(ConfigError, match="SYNC_INDEXES"):
        Settings.from_env({"SYNC_INDEXES": text})
