"""One error family (sync.core.errors) and how the CLI maps it to exit codes and messages.

Exit codes (docs/operations.md#run-history-and-exit-codes): 0 success, 1 failure (repo unchanged),
2 usage error; errors name the fix and never a secret. Issue 6: a base class carrying whether a
retry can help and what to do next; unexpected errors still exit 1 with a scrubbed message, their
traceback at debug level.
"""

import logging
import os
import subprocess
import sys

import pytest

import sync.cli
from sync.cli import main
from sync.core.errors import ConfigError, SyncError, TransientError
from sync.publish.plan import InvariantError
from sync.targets import ConcurrentWriteError, PublishError, RepoBusyError
from sync.targets.local import LocalFolderRepo
from sync.tushare.errors import (
    TushareAuthError,
    TushareError,
    TushareQuotaError,
    TushareTransportError,
    error_from_reply,
)
from tests.support import ROOT

TOKEN = "tushare-secret-token-4e1d"
ENVIRONMENT = (
    "TUSHARE_TOKEN",
    "TUSHARE_API_URL",
    "TUSHARE_RATE_PER_MIN",
    "HF_TOKEN",
    "DATASET_REPO",
    "SYNC_MARKETS",
    "SYNC_START_DATE",
    "SYNC_NOW",
    "SYNC_ADMIN_TOKEN",
    "SYNC_TIME",
    "SYNC_TZ",
    "SYNC_RESTATEMENT_DAYS",
    "SYNC_COMPLETENESS",
    "SYNC_SETTLE_DAYS",
    "SYNC_CHECKPOINT_MAX_AGE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNC_NOW", "2026-01-16T18:00")
    monkeypatch.chdir(tmp_path)


# -- the family -------------------------------------------------------------------------------


def test_a_sync_error_is_final_by_default_and_exits_1():
    error = SyncError("the repo has no data; run `python -m sync full` first")
    assert error.retryable is False
    assert error.exit_code == 1
    assert error.hint is None
    assert str(error) == "the repo has no data; run `python -m sync full` first"


def test_a_sync_error_carries_a_hint_and_may_say_a_retry_helps():
    error = SyncError("the Hub timed out", hint="run again in a few minutes", retryable=True)
    assert error.hint == "run again in a few minutes"
    assert error.retryable is True
    assert SyncError("x", retryable=False).retryable is False


def test_a_config_error_is_a_usage_error_and_a_value_error():
    error = ConfigError("SYNC_COMPLETENESS must be a fraction in (0, 1], e.g. 0.98; got '2'")
    assert isinstance(error, SyncError) and isinstance(error, ValueError)
    assert error.exit_code == 2
    assert error.retryable is False


def test_a_transient_error_says_a_retry_can_help():
    assert TransientError("the head moved").retryable is True
    assert TransientError("the head moved").exit_code == 1
    assert TransientError("x", retryable=False).retryable is False


@pytest.mark.parametrize(
    "error, retryable",
    [
        (RepoBusyError("another sync is running"), True),
        (ConcurrentWriteError("the head moved"), True),
        (PublishError("unsupported Hub target"), False),
        (InvariantError(["2024-01-03 missing"]), False),
        (error_from_reply("daily", 40101, "您的token不对，请确认。"), False),
        (error_from_reply("daily", 40203, "抱歉，您每分钟最多访问该接口200次"), True),
        (error_from_reply("daily", 40203, "抱歉，您每天最多访问该接口1000次"), False),
        (error_from_reply("daily_basic", 40203, "抱歉，您没有接口(daily_basic)访问权限"), False),
        (TushareTransportError("HTTP 502", api_name="daily"), True),
        (error_from_reply("daily", -1000, "系统内部错误"), True),
        (error_from_reply("daily", 50101, "系统未知错误，欢迎上报！ 谢谢！request-id(r1)"), True),
        (error_from_reply("daily", 40001, "必填参数缺失：trade_date"), False),
    ],
)
def test_every_project_error_is_a_sync_error_that_says_whether_a_retry_helps(error, retryable):
    assert isinstance(error, SyncError)
    assert error.retryable is retryable
    assert error.exit_code == 1


def test_tushare_errors_keep_their_specific_classes():
    assert isinstance(error_from_reply("daily", 40101, "您的token不对，请确认。"), TushareAuthError)
    assert isinstance(error_from_reply("daily", 40203, "抱歉，您每分钟最多访问该接口200次"), TushareQuotaError)
    assert issubclass(TushareAuthError, TushareError)


# -- the CLI maps classes to exit codes -------------------------------------------------------


def test_a_malformed_setting_exits_2_and_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("TUSHARE_RATE_PER_MIN", "fast")
    assert main(["status", "--repo", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TUSHARE_RATE_PER_MIN")
    assert "'fast'" in err and "e.g. 200" in err


def test_a_malformed_sync_now_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("SYNC_NOW", "tomorrow evening")
    assert main(["status", "--repo", "out"]) == 2
    assert "SYNC_NOW" in capsys.readouterr().err


def test_a_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["full", "--start", "2024-01-01"])
    assert raised.value.code == 2
    assert "YYYYMMDD" in capsys.readouterr().err


def test_a_secret_put_in_the_wrong_variable_is_scrubbed_from_the_usage_error(monkeypatch, capsys):
    # Settings could not be read, so only the environment says what is secret.
    monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)
    monkeypatch.setenv("SYNC_COMPLETENESS", TOKEN)
    assert main(["status", "--repo", "out"]) == 2
    captured = capsys.readouterr()
    assert "SYNC_COMPLETENESS" in captured.err
    assert TOKEN not in captured.err + captured.out


def test_a_busy_repo_exits_1_and_says_to_wait_and_that_retrying_may_help(tmp_path, capsys):
    folder = tmp_path / "dataset"
    with LocalFolderRepo(folder).lock():
        code = main(["delta", "--repo", str(folder)])
    err = capsys.readouterr().err
    assert code == 1
    assert "another sync is running" in err
    assert "wait" in err
    assert "retrying may help" in err


def test_a_final_sync_error_exits_1_with_its_hint_and_no_retry_advice(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise SyncError("the target refuses writes", hint="check its permissions")

    monkeypatch.setattr(sync.cli, "open_repo", refuse)
    assert main(["status", "--repo", "out"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: the target refuses writes; check its permissions"


def test_a_retryable_error_that_already_mentions_retrying_is_not_told_twice(monkeypatch, capsys):
    def busy(*args, **kwargs):
        raise TransientError("the Hub is busy; retry in a minute")

    monkeypatch.setattr(sync.cli, "open_repo", busy)
    assert main(["status", "--repo", "out"]) == 1
    assert capsys.readouterr().err.strip() == "error: the Hub is busy; retry in a minute"


def test_an_unexpected_exception_exits_1_with_a_scrubbed_message(monkeypatch, capsys):
    monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)

    def crash(*args, **kwargs):
        raise RuntimeError(f"connection to http://x/?token={TOKEN} reset")

    monkeypatch.setattr(sync.cli, "open_repo", crash)
    assert main(["status", "--repo", "out"]) == 1
    captured = capsys.readouterr()
    assert TOKEN not in captured.err + captured.out
    assert "connection to http://x/?token=*** reset" in captured.err
    assert "unexpected" in captured.err and "nothing was published" in captured.err


def test_an_unexpected_exception_without_text_is_named_by_its_class(monkeypatch, capsys):
    def crash(*args, **kwargs):
        raise KeyError

    monkeypatch.setattr(sync.cli, "open_repo", crash)
    assert main(["status", "--repo", "out"]) == 1
    assert "KeyError" in capsys.readouterr().err


def test_a_sync_error_never_shows_a_configured_secret(monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_neverShownToken42")

    def leak(*args, **kwargs):
        raise PublishError("401 for Authorization: Bearer hf_neverShownToken42")

    monkeypatch.setattr(sync.cli, "open_repo", leak)
    assert main(["status", "--repo", "out"]) == 1
    err = capsys.readouterr().err
    assert "hf_neverShownToken42" not in err and "Bearer ***" in err


def test_the_traceback_of_an_unexpected_exception_goes_to_the_debug_log(monkeypatch, caplog, capsys):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sync.cli, "open_repo", crash)
    caplog.set_level(logging.DEBUG, logger="sync.cli")
    assert main(["status", "--repo", "out"]) == 1
    records = [r for r in caplog.records if r.name == "sync.cli" and "Traceback" in r.getMessage()]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    assert "RuntimeError: boom" in records[0].getMessage()
    assert "Traceback" not in capsys.readouterr().err  # the user sees one line, not a traceback


def test_the_debug_traceback_never_shows_a_secret(monkeypatch, caplog, capsys):
    # docs/operations.md#configuration: secrets never appear in logs, at any level.
    monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)

    def crash(*args, **kwargs):
        raise RuntimeError(f"connection to http://x/?token={TOKEN} reset")

    monkeypatch.setattr(sync.cli, "open_repo", crash)
    caplog.set_level(logging.DEBUG, logger="sync.cli")
    assert main(["status", "--repo", "out"]) == 1
    assert TOKEN not in caplog.text


def test_an_interrupted_run_exits_1_and_says_nothing_was_published(monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sync.cli, "open_repo", interrupt)
    assert main(["status", "--repo", "out"]) == 1
    assert "nothing was published" in capsys.readouterr().err


def test_the_module_entry_point_returns_the_mapped_exit_code(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env.update(PYTHONPATH=str(ROOT), SYNC_COMPLETENESS="most")
    result = subprocess.run(
        [sys.executable, "-m", "sync", "status", "--repo", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "SYNC_COMPLETENESS" in result.stderr and "e.g. 0.98" in result.stderr
    assert "Traceback" not in result.stderr
