"""The Gradio Blocks page and the named API endpoints (/status, /sync_now, /full_sync, /migrate_legacy).

Everything here only lays out components and forwards to `Space`. A `gr.Timer` refreshes the
status, the progress bar, the run history and the log tail every few seconds; the pictures are
redrawn only when the published head, this process's runs or the language change.

Languages: static labels are `gr.I18n` keys (`I18N`, passed to `mount_gradio_app`), which the
browser shows in its own language on the first paint; texts made here follow the visitor's
language, resolved on load from their choice (kept in the browser's localStorage) or
`navigator.language`. The switch at the top changes both at once.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from space_app import admin, charts, explore, i18n, index_view
from space_app.i18n import t
from space_app.space import Space
from space_app.status_markdown import PROGRESS_CSS, progress_html, status_markdown

REFRESH_SECONDS = 2.0
I18N = gr.I18n(**i18n.translations())
L = I18N  # static label: L("key") is translated in the browser
STORE_KEY = "a-share-prices-lang"
LOAD_JS = f"(...args) => [localStorage.getItem('{STORE_KEY}') || navigator.language || 'en', ...args.slice(1)]"
SWITCH_JS = f"(...args) => {{ localStorage.setItem('{STORE_KEY}', args[0]); return args; }}"
CSS = (
    PROGRESS_CSS
    + """
#lang { max-width: 260px; }
.chart-help { font-size: 13px; color: var(--body-text-color-subdued); padding: 0 4px 12px; }
"""
)


class Labels:
    """The components whose static text changes with the language switch, and which key each prop shows."""

    def __init__(self) -> None:
        self.props: dict[int, tuple[object, dict[str, str]]] = {}

    def add(self, component, key: str, prop: str = "label"):
        self.props.setdefault(id(component), (component, {}))[1][prop] = key
        return component

    @property
    def components(self) -> list:
        return [component for component, _ in self.props.values()]

    def updates(self, lang: str) -> list:
        out = []
        for _, props in self.props.values():
            values = {prop: t(lang, key) for prop, key in props.items() if prop != "choices"}
            if "choices" in props:
                values["choices"] = [(t(lang, f"adj_{k}"), k) for k in explore.ADJUSTMENTS]
            out.append(gr.update(**values))
        return out


def build(space: Space) -> gr.Blocks:
    labels = Labels()
    with gr.Blocks(title="A-share prices sync") as demo:
        lang = gr.State(i18n.DEFAULT)
        asked = gr.Textbox(visible=False)  # carries localStorage / navigator.language into the load event
        with gr.Row(equal_height=True):
            with gr.Column(scale=5):
                labels.add(gr.Markdown(L("title_md")), "title_md", "value")
                labels.add(gr.Markdown(L("intro")), "intro", "value")
            switch = labels.add(
                gr.Radio([("中文", "zh"), ("English", "en")], value=None, label=L("language"), elem_id="lang", scale=1),
                "language",
            )
        head, drawn = gr.State(None), gr.State(None)
        with gr.Tabs():
            with labels.add(gr.Tab(L("tab_status"), id="status", elem_id="tab-status"), "tab_status"):
                status_md = gr.Markdown(elem_id="status")
                progress = gr.HTML(progress_html(None), elem_id="progress")
                messages = labels.add(
                    gr.Textbox(label=L("messages"), lines=2, max_lines=8, interactive=False, elem_id="messages"),
                    "messages",
                )
                days_plot = gr.Plot(show_label=False, elem_id="days-chart")
                labels.add(gr.Markdown(L("chart_days_help"), elem_classes="chart-help"), "chart_days_help", "value")
                coverage_plot = gr.Plot(show_label=False, elem_id="coverage-chart")
                labels.add(
                    gr.Markdown(L("chart_coverage_help"), elem_classes="chart-help"), "chart_coverage_help", "value"
                )
                lag_plot = gr.Plot(show_label=False, elem_id="lag-chart")
                labels.add(gr.Markdown(L("chart_lag_help"), elem_classes="chart-help"), "chart_lag_help", "value")
                runs_plot = gr.Plot(show_label=False, elem_id="runs-chart")
                labels.add(gr.Markdown(L("chart_runs_help"), elem_classes="chart-help"), "chart_runs_help", "value")
            with labels.add(gr.Tab(L("tab_runs"), id="runs", elem_id="tab-runs"), "tab_runs"):
                runs = labels.add(
                    gr.Dataframe(interactive=False, wrap=True, label=L("runs_label"), elem_id="runs"), "runs_label"
                )
            with labels.add(gr.Tab(L("tab_logs"), id="logs", elem_id="tab-logs"), "tab_logs"):
                logs = labels.add(
                    gr.Code(
                        language=None, lines=20, max_lines=30, interactive=False, label=L("logs_label"), elem_id="logs"
                    ),
                    "logs_label",
                )
            with labels.add(gr.Tab(L("tab_explore"), id="explore", elem_id="tab-explore"), "tab_explore"):
                stock, start, end, mode, overlay, show, chart, rows, note = _explore_tab(labels)
            with labels.add(gr.Tab(L("tab_admin"), id="admin", elem_id="tab-admin"), "tab_admin"):
                _admin_tab(space, labels, lang)

        def texts(language: str) -> list:
            st = space.status()
            facts = space.view.get()
            indexes = index_view.coverage(facts.index_prices, facts.days, None)  # the tab's, not /healthz's
            return [
                status_markdown({**st, "indexes": indexes} if indexes else st, language),
                progress_html(st.get("current_run"), language),
                status_messages(st, language),
                localised_runs(space.runs(), language),
                space.logs(),
            ]

        def pictures(known: tuple | None, language: str) -> tuple[tuple, list]:
            """The four figures, or skips when nothing they show has changed since `known`."""
            facts = space.view.get()
            _, history = space.runner.snapshot()
            key = (facts.head, len(history), history[-1].finished_at if history else None, language)
            if key == known:
                return known, [gr.skip()] * 4
            return key, draw(space, facts, language)

        def refresh(known_head, known_drawn, language, chosen, first, last):
            drawn_key, figures = pictures(known_drawn, language)
            facts = space.view.get()
            if facts.head == known_head:
                return [*texts(language), drawn_key, *figures, known_head, gr.skip(), gr.skip(), gr.skip(), gr.skip()]
            # A new version: fresh stock choices, and a default range unless the visitor typed one.
            # A listed stock is preselected so the Explore tab opens on a chart, not an empty frame.
            first, last = (first, last) if (first or last) else space.default_range()
            hidden = space.rows_hidden()  # a private or gated dataset on a public Space: no stock list, and why
            overlays, overlaid = space.overlay_choices()
            return [
                *texts(language),
                drawn_key,
                *figures,
                facts.head,
                gr.update(
                    choices=space.stock_choices(),
                    value=None if hidden else chosen or space.default_stock(),
                    **({"info": i18n.message(language, hidden)} if hidden else {}),
                ),
                first,
                last,
                gr.update(choices=overlays, value=overlaid),
            ]

        live = [status_md, progress, messages, runs, logs, drawn, days_plot, coverage_plot, lag_plot, runs_plot]
        outputs = [*live, head, stock, start, end, overlay]
        timer = gr.Timer(REFRESH_SECONDS)
        timer.tick(
            refresh,
            inputs=[head, drawn, lang, stock, start, end],
            outputs=outputs,
            api_visibility="private",
            show_progress="hidden",
            concurrency_limit=None,
            queue=False,
        )

        def opened(asked_text, known_head, known_drawn, chosen, first, last):
            """On load: the visitor's language, every label in it, and the page's contents."""
            language = i18n.resolve(asked_text)
            return [
                language,
                gr.update(value=language),
                *labels.updates(language),
                *refresh(known_head, None, language, chosen, first, last),
            ]

        def switched(choice, known_head, known_drawn, chosen, first, last):
            language = i18n.resolve(None, choice)
            return [
                language,
                gr.skip(),
                *labels.updates(language),
                *refresh(known_head, None, language, chosen, first, last),
            ]

        every = [lang, switch, *labels.components, *outputs]
        demo.load(
            opened,
            inputs=[asked, head, drawn, stock, start, end],
            outputs=every,
            js=LOAD_JS,
            api_visibility="private",
            queue=False,
        )
        switch.input(
            switched,
            inputs=[switch, head, drawn, stock, start, end],
            outputs=every,
            js=SWITCH_JS,
            api_visibility="private",
            queue=False,
        )

        # A chosen stock (by the visitor or preselected above) or adjustment draws at once; the button
        # redraws after the dates are edited.
        def chart_for(code, first, last, adjustment, language, overlaid=None):
            figure, table, text = space.chart(code, first, last, adjustment, overlaid)
            return explore.localise(figure, language), table, i18n.message(language, text)

        for event in (show.click, stock.change, mode.change, overlay.change):
            event(
                chart_for,
                inputs=[stock, start, end, mode, lang, overlay],
                outputs=[chart, rows, note],
                api_visibility="private",
            )
        # The switch's own value: the `lang` state is updated by the listener above, not yet seen by this one.
        switch.input(
            lambda code, first, last, adjustment, choice, overlaid: chart_for(
                code, first, last, adjustment, i18n.resolve(None, choice), overlaid
            ),
            inputs=[stock, start, end, mode, switch, overlay],
            outputs=[chart, rows, note],
            api_visibility="private",
        )
        _api(space)
    return demo


def draw(space: Space, facts, lang: str) -> list:
    """[days heatmap, coverage, publication lag, runs] for the head `facts` in `lang`."""
    expected = _expected(space, facts)
    cells = charts.day_cells(facts.days, facts.open_days, facts.watermark, expected)
    return [
        charts.days_figure(cells, lang),
        charts.coverage_figure(facts.days, space.settings.completeness, lang),
        charts.lag_figure(charts.publication_lags(facts.days, facts.runs), lang),
        charts.runs_figure(charts.run_points(space.runs()), lang),
    ]


def _expected(space: Space, facts):
    """The newest trading day that could be published now (the status JSON's basis for 'behind')."""
    from space_app import schedule_rules

    if not facts.open_days:
        return None
    return schedule_rules.newest_expected_day(
        space.clock(), facts.open_days, space.settings.sync_time, space.settings.sync_tz
    )


def status_messages(st: dict, lang: str) -> str:
    """What needs the maintainer's attention, one per line: configuration errors, an unreadable
    repo, a last run that failed after the last success. 'none' when all is well."""
    lines = []
    for key in ("config_error", "config_errors", "error"):
        value = st.get(key)
        if isinstance(value, str) and value:
            lines.append(value)
        elif isinstance(value, (list, tuple)):
            lines += [str(v) for v in value if v]
    if st.get("repo_error"):
        lines.append(t(lang, "repo") + ": " + t(lang, "repo_unreadable", error=i18n.message(lang, st["repo_error"])))
    error, success = st.get("last_error"), st.get("last_success")
    if error and (not success or (error.get("started_at") or "") > (success.get("started_at") or "")):
        lines.append(f"{t(lang, 'last_error')}: {i18n.message(lang, error.get('message'))}")
    return "\n".join(lines) or t(lang, "no_messages")


def localised_runs(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The Runs table with its headers, kinds, triggers, statuses and messages in `lang`."""
    keys = [
        "col_started",
        "col_finished",
        "col_kind",
        "col_trigger",
        "col_status",
        "col_days",
        "col_rows",
        "col_calls",
        "col_message",
    ]
    shown = table.copy()
    for column in list(shown.columns)[2:5]:
        shown[column] = [i18n.word(lang, v) for v in shown[column]]
    if len(shown.columns) >= 9:
        message_column = shown.columns[8]
        shown[message_column] = [i18n.message(lang, v) for v in shown[message_column]]
    shown.columns = [t(lang, k) for k in keys[: len(shown.columns)]] + list(shown.columns[len(keys) :])
    return shown


def _explore_tab(labels: Labels):
    with gr.Row():
        stock = labels.add(gr.Dropdown(label=L("stock"), choices=[], filterable=True, elem_id="stock"), "stock")
        start = labels.add(gr.Textbox(label=L("from"), elem_id="from"), "from")
        end = labels.add(gr.Textbox(label=L("to"), elem_id="to"), "to")
        mode = labels.add(
            gr.Radio(
                [(L(f"adj_{key}"), key) for key in explore.ADJUSTMENTS],
                value="qfq",
                label=L("adjustment"),
                elem_id="adjustment",
            ),
            "adjustment",
        )
        labels.add(mode, "adjustment", "choices")
        overlay = labels.add(
            gr.Dropdown(label=L("overlay"), choices=[], value=None, elem_id="overlay", allow_custom_value=True),
            "overlay",
        )
    show = labels.add(gr.Button(L("show_chart"), variant="primary", elem_id="show-chart"), "show_chart", "value")
    note = gr.Markdown(elem_id="chart-note")
    chart = labels.add(gr.Plot(label=L("price_volume"), elem_id="chart"), "price_volume")
    rows = labels.add(
        gr.Dataframe(explore.table(pd.DataFrame()), interactive=False, label=L("rows_label"), elem_id="rows"),
        "rows_label",
    )
    return stock, start, end, mode, overlay, show, chart, rows, note


def _admin_tab(space: Space, labels: Labels, lang: gr.State) -> None:
    labels.add(gr.Markdown(L("sync_now_title")), "sync_now_title", "value")
    sync_button = labels.add(gr.Button(L("sync_now"), elem_id="sync-now"), "sync_now", "value")
    sync_message = gr.Markdown(elem_id="sync-now-message")
    sync_button.click(
        lambda language: i18n.message(language, space.sync_now()),
        inputs=lang,
        outputs=sync_message,
        api_visibility="private",
        queue=False,
    )

    labels.add(gr.Markdown(L("full_title")), "full_title", "value")
    disabled = space.full_sync_disabled()
    if disabled:
        gr.Markdown(f"**{disabled}**\n\n**{i18n.message('zh', disabled)}**", elem_id="full-sync-disabled")
    with gr.Row():
        start = labels.add(gr.Textbox(label=L("full_start"), elem_id="full-start"), "full_start")
        end = labels.add(gr.Textbox(label=L("full_end"), elem_id="full-end"), "full_end")
        markets = labels.add(gr.Textbox(label=L("full_markets"), elem_id="full-markets"), "full_markets")
        token = labels.add(
            gr.Textbox(
                label=L("admin_token"),
                type="password",
                elem_id="admin-token",
                placeholder=L("admin_token_unneeded") if not space.settings.admin_token else "",
            ),
            "admin_token",
        )
        if not space.settings.admin_token:
            labels.add(token, "admin_token_unneeded", "placeholder")
    full_button = labels.add(
        gr.Button(L("full_sync"), variant="stop", interactive=not disabled, elem_id="full-sync"), "full_sync", "value"
    )
    full_message = gr.Markdown(elem_id="full-sync-message")

    async def full(start_text: str, end_text: str, markets_text: str, token_text: str, language: str) -> str:
        answer = await admin.answered(space.full_sync(start_text, end_text, markets_text, token_text))
        return i18n.message(language, answer)

    full_button.click(
        full, inputs=[start, end, markets, token, lang], outputs=full_message, api_visibility="private", queue=False
    )

    labels.add(gr.Markdown(L("migrate_title")), "migrate_title", "value")
    migrate_off = space.migrate_disabled()
    if migrate_off:
        gr.Markdown(f"**{migrate_off}**\n\n**{i18n.message('zh', migrate_off)}**", elem_id="migrate-disabled")
    migrate_token = labels.add(
        gr.Textbox(label=L("admin_token"), type="password", elem_id="migrate-admin-token"), "admin_token"
    )
    migrate_button = labels.add(
        gr.Button(L("migrate"), variant="stop", interactive=not migrate_off, elem_id="migrate-legacy"),
        "migrate",
        "value",
    )
    migrate_message = gr.Markdown(elem_id="migrate-legacy-message")

    async def migrate(token_text: str, language: str) -> str:
        return i18n.message(language, await admin.answered(space.migrate_legacy(token_text)))

    migrate_button.click(
        migrate, inputs=[migrate_token, lang], outputs=migrate_message, api_visibility="private", queue=False
    )


def _api(space: Space) -> None:
    """The named endpoints (docs/operations.md#the-space) for gradio_client; their messages stay in English.

    The ones that take an admin token are async: a wrong token's answer waits on the event loop
    (`admin.answered`), holding no worker thread and no queue slot (queue=False)."""

    def status() -> dict:
        """The status JSON (same as GET /healthz)."""
        return space.status()

    async def sync_now(admin_token: str = "") -> str:
        """Start a delta in the background, or say why not (anonymous: only when a newer day may be
        published and no run started in the last 30 minutes; with the admin token: whenever free)."""
        return await admin.answered(space.sync_now(admin_token))

    async def full_sync(start: str = "", end: str = "", markets: str = "", admin_token: str = "") -> str:
        """Start a full sync in the background (dates YYYYMMDD, markets a comma list or 'all'), or refuse."""
        return await admin.answered(space.full_sync(start, end, markets, admin_token))

    async def migrate_legacy(admin_token: str = "") -> str:
        """Start `full --migrate-legacy` in the background (admin token required), or refuse."""
        return await admin.answered(space.migrate_legacy(admin_token))

    gr.api(status, api_name="status", queue=False)
    gr.api(sync_now, api_name="sync_now", queue=False)
    gr.api(full_sync, api_name="full_sync", queue=False)
    gr.api(migrate_legacy, api_name="migrate_legacy", queue=False)
