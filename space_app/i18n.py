"""Every text of the Space in Chinese and English, and how a visitor's language is chosen. Pure.

Static labels go to the browser as Gradio i18n keys (`ui.py` builds a `gr.I18n` from `STRINGS`),
so the first paint already follows the browser's language. Texts made on the server (the status,
chart titles and hovers, messages) are rendered with `t(lang, key)` for the visitor's language:
their choice in the switch if they made one, else the browser's language.

    >>> t("zh", "tab_status"), t("en", "tab_status")
    ('状态', 'Status')
    >>> resolve("zh-CN,zh;q=0.9,en;q=0.8"), resolve("en-GB"), resolve("zh-TW", choice="en")
    ('zh', 'en', 'en')
"""

from __future__ import annotations

import re

Lang = str  # "zh" or "en"
LANGS = ("zh", "en")
DEFAULT = "en"

# key: (中文, English). Placeholders in braces are filled by `t(..., **values)`.
STRINGS: dict[str, tuple[str, str]] = {
    "title_md": ("# A 股日线行情 · 同步", "# A-share daily prices · sync"),
    "intro": (
        "让 A 股日线行情数据集保持最新：每个交易日晚上做一次增量同步，唤醒时补齐落下的交易日，"
        "记录每次运行，并可从已发布的数据画出任意股票的走势。",
        "Keeps the dataset of Chinese A-share daily prices fresh: a delta every trading evening, catch-up "
        "on wake, run history and a chart of any stock from the published data.",
    ),
    "language": ("语言 / Language", "Language / 语言"),
    "tab_status": ("状态", "Status"),
    "tab_runs": ("运行记录", "Runs"),
    "tab_logs": ("日志", "Logs"),
    "tab_explore": ("浏览", "Explore"),
    "tab_admin": ("管理", "Admin"),
    # -- status ------------------------------------------------------------------------------
    "messages": ("消息", "Messages"),
    "not_configured": ("尚未配置", "Not configured"),
    "interrupted": ("被中断", "Interrupted"),
    "interrupted_run": (
        "{when} 开始的全量同步（{trigger}）被重启打断；{then}",
        "the full sync started {when} ({trigger}) was cut off by a restart; {then}",
    ),
    "resumed": ("已续跑（触发：续跑）", "resumed (trigger resume)"),
    "not_resumed": ("未续跑：见“日志”", "not resumed: see Logs"),
    "no_messages": ("无", "none"),
    "nothing_published": ("尚未发布数据", "Nothing published yet"),
    "first_sync_running": (
        "首次同步正在运行；完成后数据即可见。",
        "The first sync is running; data appears when it finishes.",
    ),
    "start_full_sync": ("请在“管理”页启动一次全量同步。", "Start a full sync from the Admin tab."),
    "complete_through": ("已完整发布至 {day}", "Complete through {day}"),
    "up_to_date": ("已是最新", "up to date"),
    "behind": ("落后 {n} 个交易日", "{n} trading day behind"),
    "behind_many": ("落后 {n} 个交易日", "{n} trading days behind"),
    "unknown": ("未知", "unknown"),
    "partial_days": ("不完整交易日", "Partial days"),
    "partial_unknown": ("未知（此版本的数据集没有 meta/days）", "unknown (this dataset version has no meta/days)"),
    "next_run": ("下次运行", "Next run"),
    "next_none": (
        "无：自动同步已关闭（合成市场不会自行发布到 Hub；请设置 TUSHARE_TOKEN）",
        "none: automatic syncs are off (the synthetic market never publishes to the Hub by itself; set TUSHARE_TOKEN)",
    ),
    "next_at": ("{when}（上海时间，{kind}）", "{when} Asia/Shanghai ({kind})"),
    "kind_retry": ("重试", "retry"),
    "kind_daily": ("每日增量", "daily delta"),
    "current_run": ("当前运行", "Current run"),
    "idle": ("空闲", "idle"),
    "last_success": ("上次成功", "Last success"),
    "last_error": ("上次失败", "Last error"),
    "none": ("无", "none"),
    "data": ("数据", "Data"),
    "data_rows": ("{rows} 行，自 {first} 起；市场 {markets}", "{rows} rows from {first}; markets {markets}"),
    "repo": ("仓库", "Repo"),
    "repo_unreadable": ("无法读取：{error}", "could not be read: {error}"),  # {error} worded by `message`
    "run_line": ("{kind}（{trigger}）于 {when}：{message}", "{kind} ({trigger}) at {when}: {message}"),
    # -- progress ----------------------------------------------------------------------------
    "progress_idle": ("当前没有运行中的同步。", "No sync is running."),
    "progress_title": ("{kind}同步（{trigger}）· 开始于 {since}", "{kind} sync ({trigger}) · since {since}"),
    "progress_counts": ("{done}/{total} {unit} · {calls} 次 API 调用", "{done}/{total} {unit} · {calls} API calls"),
    "progress_calls": ("{calls} 次 API 调用", "{calls} API calls"),
    "progress_eta": ("本阶段约剩 {eta}", "about {eta} left in this phase"),
    "phase_starting": ("启动中", "starting"),
    "phase_plan": ("规划", "plan"),
    "phase_fetch": ("下载", "fetch"),
    "phase_build": ("构建", "build"),
    "phase_publish": ("发布", "publish"),
    "run_full": ("全量", "full"),
    "run_delta": ("增量", "delta"),
    "trigger_schedule": ("定时", "schedule"),
    "trigger_button": ("按钮", "button"),
    "trigger_catch-up": ("补齐", "catch-up"),
    "trigger_cli": ("命令行", "cli"),
    "trigger_resume": ("续跑", "resume"),
    "seconds": ("{n} 秒", "{n} s"),
    "minutes": ("{n} 分钟", "{n} min"),
    # -- charts ------------------------------------------------------------------------------
    "chart_days": ("每个交易日", "Every trading day"),
    "chart_days_help": (
        "每格是一个交易日（行 = 年，列 = 日期）。绿色：完整；橙色：不完整（某个接口覆盖率低于阈值，已按缺失值发布）；"
        "蓝色：暂缓（最新交易日尚不完整，稍后重试）；红色：缺失（应已发布却没有）。悬停可看每个接口的覆盖率和行数。",
        "One cell per trading day (rows = years, columns = the day of the year). Green: complete; orange: partial "
        "(an interface below the threshold, published with the missing values null); blue: held back (a fresh day "
        "not yet complete, retried later); red: missing (should be published and is not). Hover for the coverage "
        "per interface and the rows.",
    ),
    "state_complete": ("完整", "complete"),
    "state_partial": ("不完整", "partial"),
    "state_held": ("暂缓", "held back"),
    "state_missing": ("缺失", "missing"),
    "hover_rows": ("行数", "rows"),
    "hover_paused": ("停牌", "paused"),
    "hover_coverage": ("覆盖率", "coverage"),
    "hover_not_published": ("未发布", "not published"),
    "month_ticks": (
        "1月,2月,3月,4月,5月,6月,7月,8月,9月,10月,11月,12月",
        "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
    ),
    "chart_coverage": ("各接口覆盖率", "Coverage per interface"),
    "chart_coverage_help": (
        "每个交易日各接口返回的股票占应有股票的比例；虚线是完整性阈值。接口历史开始之前没有点（如 stk_limit 始于 2007-01-04）。",
        "Each interface's share of the stocks it should cover, per trading day; the dashed line is the completeness "
        "threshold. No point before an interface's history starts (e.g. stk_limit from 2007-01-04).",
    ),
    "threshold": ("阈值", "threshold"),
    "chart_runs": ("每次运行的耗时与 API 调用", "Duration and API calls per run"),
    "chart_runs_help": (
        "已发布的运行记录（meta/runs.parquet）加上本进程的运行；红叉为失败的运行，悬停可看消息。",
        "Published runs (meta/runs.parquet) and this process's runs; a red cross is a failed run, hover for its message.",
    ),
    "duration_min": ("耗时（分钟）", "duration (min)"),
    "api_calls": ("API 调用", "API calls"),
    "failed": ("失败", "failed"),
    "runs_kind": ("{kind}", "{kind}"),
    "chart_lag": ("从收盘到可见的时间", "From the close to visible"),
    "chart_lag_help": (
        "每个由增量同步发布的交易日：从当天收盘（上海时间 15:00）到发布它的提交（运行结束）相隔的小时数。全量同步回填的交易日不计入。",
        "For each trading day a delta published: hours from that day's close (15:00 Asia/Shanghai) to the commit that "
        "made it visible (the run's end). Days backfilled by a full sync are left out.",
    ),
    "lag_hours": ("小时", "hours"),
    "no_data": ("暂无数据", "no data yet"),
    "no_lag": ("还没有由增量同步发布的交易日", "no trading day published by a delta yet"),
    "no_runs": ("还没有运行记录", "no runs yet"),
    "no_days": ("此版本的数据集没有 meta/days", "this dataset version has no meta/days"),
    # -- runs tab ----------------------------------------------------------------------------
    "col_started": ("开始（上海）", "started (Shanghai)"),
    "col_finished": ("结束（上海）", "finished (Shanghai)"),
    "col_kind": ("类型", "kind"),
    "col_trigger": ("触发", "trigger"),
    "col_status": ("状态", "status"),
    "col_days": ("新增交易日", "days added"),
    "col_rows": ("行数", "rows"),
    "col_calls": ("API 调用", "API calls"),
    "col_message": ("消息", "message"),
    "runs_label": ("运行记录（最新在前）", "Runs (newest first)"),
    "logs_label": ("日志（最近 200 行）", "Log (last 200 lines)"),
    # -- explore -----------------------------------------------------------------------------
    "stock": ("股票（输入代码或名称）", "Stock (type a code or a name)"),
    "from": ("起（YYYY-MM-DD）", "From (YYYY-MM-DD)"),
    "to": ("止（YYYY-MM-DD）", "To (YYYY-MM-DD)"),
    "adjustment": ("复权", "Adjustment"),
    "adj_none": ("不复权", "none (不复权)"),
    "adj_qfq": ("前复权", "forward (前复权, qfq)"),
    "adj_hfq": ("后复权", "backward (后复权, hfq)"),
    "overlay": ("叠加指数（涨跌幅 %）", "Overlay an index (% change)"),
    "indexes": ("指数", "Indexes"),
    "indexes_coverage": (
        "{n} 个（{codes}）；日线 {first} 至 {last}，共 {bars} 行；{missing} 个交易日缺少指数日线",
        "{n} ({codes}); bars {first} to {last}, {bars} rows; {missing} trading day(s) missing an index bar",
    ),
    "show_chart": ("画图", "Show chart"),
    "price_volume": ("价格与成交量", "Price and volume"),
    "rows_label": ("已发布的原始行（未复权，最新在前）", "Rows as published, unadjusted (newest first)"),
    "price_axis": ("元", "CNY"),
    "volume_axis": ("成交量（手）", "volume (手)"),
    "trading_days_n": ("{n} 个交易日", "{n} trading days"),
    "pick_stock": ("请选择一只股票（输入代码或名称）", "pick a stock (type a code or a name)"),
    "no_rows": ("{code} 在 {first} 至 {last} 之间没有数据", "no rows for {code} between {first} and {last}"),
    # -- admin -------------------------------------------------------------------------------
    "sync_now_title": (
        "### 立即同步\n运行一次增量同步：重新获取最新的几个交易日，并加入每个新的完整交易日。",
        "### Sync now\nRuns a delta: re-fetches the newest days and adds every new complete trading day.",
    ),
    "sync_now": ("立即同步", "Sync now"),
    "full_title": (
        "### 全量同步\n重建区间内的交易日，区间外已发布的交易日保持不变。留空即用默认值。",
        "### Full sync\nRebuilds the trading days in the range and keeps every published day outside it. "
        "Empty fields mean the defaults.",
    ),
    "full_start": ("开始（YYYYMMDD）", "Start (YYYYMMDD)"),
    "full_end": ("结束（YYYYMMDD）", "End (YYYYMMDD)"),
    "full_markets": ("市场（如 主板,创业板 或 all）", "Markets (e.g. 主板,创业板 or all)"),
    "admin_token": ("管理员令牌", "Admin token"),
    "admin_token_unneeded": ("无需填写：未配置管理员令牌", "not needed: no admin token is configured"),
    "full_sync": ("全量同步", "Full sync"),
    "migrate_title": (
        "### 从 all-prices.csv 迁移\n用一次全量同步把旧流水线的布局（`all-prices.csv`）换成本数据集的布局；"
        "在 Hub 上，旧的版本保留标签 `legacy-csv`。你自己的文件保持不变；`calendar.csv` 此后每次发布按原格式重新生成。"
        "需要管理员令牌。",
        "### Migrate from all-prices.csv\nReplaces the old pipeline's layout (`all-prices.csv`) with this "
        "dataset's in one full sync; on the Hub the old head keeps the tag `legacy-csv`. Your own files stay as "
        "they are; `calendar.csv` is regenerated in its old format on every publish. Needs the admin token.",
    ),
    "migrate": ("迁移旧布局", "Migrate legacy layout"),
}

# The Space's own messages (from space.py and run_slot.py, English because the API returns them
# as they are) and their Chinese wording for the page. First match wins; groups are kept.
MESSAGES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), zh)
    for p, zh in (
        (
            r"^nothing published yet: run a full sync first \(Admin → Full sync\)$",
            "尚未发布数据：请先运行全量同步（管理 → 全量同步）",
        ),
        (r"^nothing published yet$", "尚未发布数据"),
        (
            r"^not started: the published dataset has not been read yet; try again in a minute$",
            "未开始：尚未读取到已发布的数据集；请一分钟后再试",
        ),
        (
            r"^not started: nothing new can be published yet; complete through (\S+)$",
            "未开始：暂时没有可发布的新交易日；已完整发布至 \\1",
        ),
        (
            r"^not started: a run started (\d+) min ago; Sync now waits 30 minutes after any run \(try again in (\d+) min\)$",
            "未开始：\\1 分钟前已有一次运行开始；任何运行开始后 30 分钟内“立即同步”不再启动（请 \\2 分钟后再试）",
        ),
        (
            r"^configuration error: SYNC_ADMIN_TOKEN is shorter than (\d+) characters(.*)$",
            "配置错误：SYNC_ADMIN_TOKEN 短于 \\1 个字符，管理操作（全量同步、迁移）一律拒绝；每日定时同步照常运行。"
            "请在 Space 设置中换一个更长的 secret 并重启 Space。",
        ),
        (
            r"^started (full|delta) sync \((.*)\); follow it in Status and Logs$",
            "已开始\\1同步（\\2）；可在“状态”和“日志”中查看",
        ),
        (
            r"^not started: a (.*) is already running since (\d\d:\d\d:\d\d):? ?(.*); try again when it finishes$",
            "未开始：已有 \\1 自 \\2 起在运行（\\3）；请等它结束后再试",
        ),
        (r"^refused: wrong admin token; nothing was started$", "已拒绝：管理员令牌错误；未启动任何任务"),
        (r"^refused: (.*); nothing was started$", "已拒绝：\\1；未启动任何任务"),
        (r"^refused: (.*)$", "已拒绝：\\1"),
        (
            r"^full sync is disabled: this Space publishes to the Hub and has no admin token\. (.*)$",
            "全量同步已停用：此 Space 发布到 Hub，但没有配置管理员令牌。请在 Space 设置中添加名为 SYNC_ADMIN_TOKEN 的 secret 并重启。",
        ),
        (
            r"^migration is disabled: it needs an admin token\. (.*)$",
            "迁移已停用：需要管理员令牌。请在 Space 设置中添加名为 SYNC_ADMIN_TOKEN 的 secret 并重启。",
        ),
        (r"^start (\S+) is after end (\S+)$", "开始日期 \\1 晚于结束日期 \\2"),
        (r"^pick a stock \(type a code or a name\)$", "请选择一只股票（输入代码或名称）"),
        (
            r"^the dataset's visibility could not be read and this app is not a private Space(.*)$",
            "无法读取数据集的可见性，而本应用不是私有 Space，因此不显示任何行（不显示走势图、股票列表和原始行）；"
            "数据新鲜度见“状态”页。把 Space 设为私有即可在此查看，或用你自己的令牌通过 load_dataset 读取。",
        ),
        (
            r"^the dataset is private or gated and this app is not a private Space(.*)$",
            "数据集是私有或需申请访问的，而本应用不是私有 Space，因此不显示任何行（不显示走势图、股票列表和原始行）；"
            "数据新鲜度见“状态”页。把 Space 设为私有即可在此查看，或用你自己的令牌通过 load_dataset 读取。",
        ),
        (r"^no rows for (\S+) between (\S+) and (\S+)$", "\\1 在 \\2 至 \\3 之间没有数据"),
        (r"^(\d+) trading days$", "\\1 个交易日"),
        (r"^(.*); (\d{4}-\d\d-\d\d) not yet published \((.*)\)$", "\\1；\\2 尚未发布（\\3）"),
        (
            r"^rebuilt (\S+)\.\.(\S+) \((\d+) trading days, (\d+) partial\)$",
            "已重建 \\1 至 \\2（\\3 个交易日，其中 \\4 个不完整）",
        ),
        (r"^Tushare rejected the token \((.*)\)\. (.*)$", "Tushare 拒绝了令牌（\\1）。\\2"),
        (r"^(\d+) trading day\(s\) fetched and published(.*)$", "已获取并发布 \\1 个交易日\\2"),
        (r"^complete through (\S+)(.*)$", "已完整发布至 \\1\\2"),
        (r"^nothing new: complete through (\S+)$", "没有新数据：已完整发布至 \\1"),
        # The Hub adapter's failures (sync/targets/hub.py): "<repo>: could not <action>: <advice> (<detail>)"
        (
            r"^(\S+): could not (.+?): (the Hub .*|could not reach the Hub .*) \((\w+: .*)\)$",
            "\\1：无法\\2：\\3（\\4）",
        ),
        (
            r"^the Hub kept answering HTTP (\d+) \((\d+) attempts, (\d+) s of waiting\); "
            r"it limits commits per repo and hour, nothing was published, retry later$",
            "Hub 持续返回 HTTP \\1（尝试 \\2 次，等待 \\3 秒）；Hub 限制每个仓库每小时的提交次数，未发布任何内容，请稍后重试",
        ),
        (
            r"^the Hub kept answering HTTP (\d+) \((\d+) attempts, (\d+) s of waiting\); nothing was published, retry later$",
            "Hub 持续返回 HTTP \\1（尝试 \\2 次，等待 \\3 秒）；未发布任何内容，请稍后重试",
        ),
        (
            r"^the Hub refused the token \(HTTP (\d+)\); set HF_TOKEN to a token with write access to (\S+) \((\S+)\)$",
            "Hub 拒绝了令牌（HTTP \\1）；请把 HF_TOKEN 设为对 \\2 有写权限的令牌（\\3）",
        ),
        (r"^the Hub answered HTTP (\d+); retry later$", "Hub 返回 HTTP \\1；请稍后重试"),
        (r"^the Hub answered HTTP (\d+); check the repo, then retry$", "Hub 返回 HTTP \\1；请检查仓库后重试"),
        (
            r"^could not reach the Hub at (\S+); check the network and HF_ENDPOINT, then retry$",
            "无法连接 Hub（\\1）；请检查网络和 HF_ENDPOINT 后重试",
        ),
        (r"^read the current commit$", "读取当前提交"),
        (r"^list the files at (\S+)$", "列出 \\1 的文件"),
        (r"^read (\S+) at (\S+)$", "读取 \\2 中的 \\1"),
        (r"^commit$", "提交"),
        (r"^create the repo$", "创建仓库"),
        (r"^create tag (\S+) at (\S+)$", "在 \\2 创建标签 \\1"),
        (
            r"^Tushare answered (\S+) with (.+) (\d+) times in (\d+) min\. Tushare gives this code .*$",
            "Tushare 对 \\1 返回 \\2，\\4 分钟内共 \\3 次。Tushare 在自身临时故障和请求格式错误时都会返回此代码："
            "稍后重试可能有帮助；若持续失败，请对照 Tushare 文档检查该调用的参数。",
        ),
        (r"^(.*) \(retrying may help\)$", "\\1（重试可能有帮助）"),
    )
)
WORDS_ZH = {
    "full": "全量",
    "delta": "增量",
    "schedule": "定时",
    "button": "按钮",
    "catch-up": "补齐",
    "cli": "命令行",
    "resume": "续跑",
    "success": "成功",
    "failed": "失败",
    "stopped": "暂停",
    "nothing new": "无新数据",
    "running": "运行中",
    "failure": "失败",
    "error": "失败",
    "interrupted": "中断",
}


def t(lang: Lang, key: str, **values: object) -> str:
    """The text of `key` in `lang` ("zh" or "en"), with `values` filled in."""
    zh, en = STRINGS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def word(lang: Lang, value: object) -> str:
    """A run kind, trigger or status as shown: 'full' → '全量' in Chinese, unchanged in English."""
    text = "" if value is None else str(value)
    return WORDS_ZH.get(text, text) if lang == "zh" else text


def message(lang: Lang, text: str | None) -> str:
    """One of the Space's messages in `lang`; a message without a Chinese wording stays as it is."""
    if not text or lang != "zh":
        return text or ""
    for pattern, zh in MESSAGES:
        found = pattern.match(text)
        if found:  # a group that is a run kind, trigger or status is worded too
            return re.sub(r"\\(\d)", lambda ref, found=found: _part(found.group(int(ref.group(1))) or ""), zh)
    return text


def _part(text: str) -> str:
    """A matched part of a message: a known word, else a message of its own (e.g. the reason of a refusal)."""
    return WORDS_ZH[text] if text in WORDS_ZH else message("zh", text)


def resolve(accept_language: str | None, choice: str | None = None) -> Lang:
    """The visitor's language: their explicit `choice`, else the first of `accept_language`
    (a browser's `navigator.language` or an Accept-Language header) that we have, else English."""
    if choice in LANGS:
        return choice
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in LANGS:
            return base
    return DEFAULT


def translations() -> dict[str, dict[str, str]]:
    """{locale: {key: text}} for `gr.I18n`: 'zh' and its regional tags share the Chinese texts."""
    zh = {key: pair[0] for key, pair in STRINGS.items()}
    en = {key: pair[1] for key, pair in STRINGS.items()}
    return {"en": en, "zh": zh, "zh-CN": zh, "zh-TW": zh, "zh-HK": zh}
