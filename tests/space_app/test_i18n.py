"""Both languages: every key has both texts, the visitor's language is chosen as documented, and the
Space's messages read in Chinese on the page while the API keeps its English."""

from __future__ import annotations

import re

import pytest

from space_app import i18n
from space_app.status_markdown import status_markdown


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    for key, (zh, en) in i18n.STRINGS.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    translations = i18n.translations()
    assert translations["zh-CN"]["tab_status"] == "状态" and translations["en"]["tab_status"] == "Status"


@pytest.mark.parametrize(
    "asked, choice, expected",
    [
        ("zh-CN", None, "zh"),
        ("zh-TW,zh;q=0.9", None, "zh"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", None, "zh"),
        ("", None, "en"),
        (None, None, "en"),
        ("de", None, "en"),
        ("zh-CN", "en", "en"),
        ("en", "zh", "zh"),
        ("en", "klingon", "en"),
    ],
)
def test_language_is_the_choice_else_the_browser_else_english(asked, choice, expected):
    assert i18n.resolve(asked, choice) == expected


@pytest.mark.parametrize(
    "english, chinese",
    [
        ("refused: wrong admin token; nothing was started", "已拒绝：管理员令牌错误；未启动任何任务"),
        (
            "refused: start 2026-03-01 is after end 2026-01-01; nothing was started",
            "已拒绝：开始日期 2026-03-01 晚于结束日期 2026-01-01；未启动任何任务",
        ),
        (
            "started delta sync (button); follow it in Status and Logs",
            "已开始增量同步（按钮）；可在“状态”和“日志”中查看",
        ),
        (
            "nothing published yet: run a full sync first (Admin → Full sync)",
            "尚未发布数据：请先运行全量同步（管理 → 全量同步）",
        ),
        (
            "1 trading day(s) fetched and published; 2024-04-15 not yet published (daily_basic 40% < 98%)",
            "已获取并发布 1 个交易日；2024-04-15 尚未发布（daily_basic 40% < 98%）",
        ),
        (
            "rebuilt 2025-11-03..2026-03-10 (84 trading days, 1 partial)",
            "已重建 2025-11-03 至 2026-03-10（84 个交易日，其中 1 个不完整）",
        ),
        ("something nobody worded", "something nobody worded"),
    ],
)
def test_messages_are_worded_in_chinese_and_unknown_ones_stay_as_they_are(english, chinese):
    assert i18n.message("zh", english) == chinese
    assert i18n.message("en", english) == english


def test_status_text_in_chinese():
    text = status_markdown(
        {
            "published": True,
            "watermark": "2024-04-12",
            "behind_trading_days": 2,
            "partial_days": 1,
            "running": False,
            "next_run": "2024-04-15T21:00:00+08:00",
            "source": "Tushare Pro",
            "target": "local folder",
            "rows": 1234,
            "first_date": "2024-01-02",
            "markets": ["主板"],
            "last_success": {
                "kind": "delta",
                "trigger": "schedule",
                "finished_at": "2024-04-12T13:05:00+00:00",
                "message": "complete through 2024-04-12",
            },
        },
        "zh",
    )
    assert text.startswith("## 已完整发布至 2024-04-12 · 落后 2 个交易日")
    assert "**下次运行**：2024-04-15 21:00（上海时间，每日增量）" in text
    assert "**上次成功**：增量（定时）于 2024-04-12 21:05：已完整发布至 2024-04-12" in text
    assert "1,234 行，自 2024-01-02 起" in text


def test_a_configuration_error_replaces_the_status_and_an_interrupted_run_is_named():
    assert (
        status_markdown({"config_error": "DATASET_REPO is not set"}, "zh") == "## 尚未配置\n**DATASET_REPO is not set**"
    )
    text = status_markdown(
        {
            "published": True,
            "watermark": "2024-04-12",
            "behind_trading_days": 0,
            "running": False,
            "interrupted": [{"started_at": "2024-04-12T13:00:00+00:00", "trigger": "button", "resumed": True}],
        }
    )
    assert (
        "**Interrupted**: the full sync started 2024-04-12 21:00 (button) was cut off by a restart; resumed (trigger resume)"
        in text
    )


def test_messages_box_names_what_needs_attention_and_the_runs_table_reads_in_chinese():
    import pandas as pd

    from space_app.ui import localised_runs, status_messages

    ok = {"kind": "delta", "started_at": "2024-04-12T13:00:00+00:00", "message": "complete through 2024-04-12"}
    bad = {
        "kind": "delta",
        "started_at": "2024-04-15T13:00:00+00:00",
        "message": "refused: wrong admin token; nothing was started",
    }
    assert status_messages({"last_success": ok}, "en") == "none"
    assert status_messages({"last_success": bad, "last_error": ok}, "zh") == "无"  # an old failure, fixed since
    text = status_messages({"config_error": "DATASET_REPO is not set", "last_success": ok, "last_error": bad}, "zh")
    assert text.splitlines() == ["DATASET_REPO is not set", "上次失败: 已拒绝：管理员令牌错误；未启动任何任务"]
    runs = pd.DataFrame(
        [
            [
                "2024-04-12 21:00:00",
                "2024-04-12 21:03:00",
                "delta",
                "schedule",
                "failed",
                0,
                0,
                3,
                "refused: wrong admin token; nothing was started",
            ]
        ],
        columns=[
            "started (Shanghai)",
            "finished (Shanghai)",
            "kind",
            "trigger",
            "status",
            "days added",
            "rows",
            "API calls",
            "message",
        ],
    )
    shown = localised_runs(runs, "zh")
    assert list(shown.columns)[:5] == ["开始（上海）", "结束（上海）", "类型", "触发", "状态"]
    assert shown.iloc[0].tolist()[2:5] == ["增量", "定时", "失败"] and shown.iloc[0, 8].startswith("已拒绝")
    assert localised_runs(runs, "en").equals(runs)


# -- the Hub's errors, as the Hub adapter words them against the Hub test server ---------------------
def hub_error(endpoint: str, token: str | None = None) -> str:
    """The last-error text of a run whose first Hub read failed (as run_slot shows it)."""
    from huggingface_hub import HfApi

    from space_app.run_slot import error_text
    from sync.targets.hub import HubRepo
    from sync.targets.repo import PublishError

    repo = HubRepo("maintainer/a-share-prices", HfApi(endpoint=endpoint, token=token), sleep=lambda s: None)
    with pytest.raises(PublishError) as caught:
        repo.head()
    return error_text(caught.value)


ENGLISH_ADVICE = ("could not", "retry later", "kept answering", "refused the token", "check the network", "attempts")


def test_the_hubs_last_error_reads_in_chinese(hub_server):
    for _ in range(6):
        hub_server.fail_next("GET", "/api/datasets/maintainer/a-share-prices", 503)
    outage = hub_error(hub_server.url)
    zh = i18n.message("zh", outage)
    assert "无法读取当前提交：Hub 持续返回 HTTP 503（尝试 6 次" in zh and "请稍后重试" in zh
    assert not any(words in zh.split("（HfHubHTTPError")[0] for words in ENGLISH_ADVICE), zh
    assert i18n.message("en", outage) == outage, "the API and the English page keep the text"

    hub_server.fail_next("GET", "/api/datasets/maintainer/a-share-prices", 400)
    zh = i18n.message("zh", hub_error(hub_server.url))
    assert "Hub 返回 HTTP 400；请检查仓库后重试" in zh

    hub_server.tokens = {"the-right-token": "write"}
    hub_server.fail_next("GET", "/api/datasets/maintainer/a-share-prices", 401)
    zh = i18n.message("zh", hub_error(hub_server.url, token="a-wrong-token"))
    assert (
        "Hub 拒绝了令牌（HTTP 401）；请把 HF_TOKEN 设为对 hf://datasets/maintainer/a-share-prices 有写权限的令牌" in zh
    )


def test_an_unreachable_hub_reads_in_chinese():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    zh = i18n.message("zh", hub_error(endpoint))
    assert f"无法连接 Hub（{endpoint}）；请检查网络和 HF_ENDPOINT 后重试" in zh
    assert "无法读取当前提交" in zh
