"""The Gradio Blocks page and the named API endpoints (/status, /sync_now, /full_sync, /migrate_legacy).

Everything here only lays out components and forwards to `Space`; a `gr.Timer` refreshes the
status, the run history and the log tail every few seconds.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from space_app import explore
from space_app.space import Space, client_id
from space_app.status_markdown import status_markdown

REFRESH_SECONDS = 2.0
INTRO = """# A-share daily prices · sync
Keeps the dataset of Chinese A-share daily prices fresh: a delta every trading evening, catch-up
on wake, run history and a chart of any stock from the published data."""


def build(space: Space) -> gr.Blocks:
    with gr.Blocks(title="A-share prices sync") as demo:
        gr.Markdown(INTRO)
        head = gr.State(None)
        with gr.Tab("Status"):
            status_md = gr.Markdown(elem_id="status")
        with gr.Tab("Runs"):
            runs = gr.Dataframe(interactive=False, wrap=True, elem_id="runs")
        with gr.Tab("Logs"):
            logs = gr.Code(language=None, lines=20, max_lines=30, interactive=False, elem_id="logs")
        with gr.Tab("Explore"):
            stock, start, end, mode, show, chart, rows, note = _explore_tab()
        with gr.Tab("Admin"):
            _admin_tab(space)

        def refresh(known_head, chosen, first, last):
            st = space.status()
            facts = space.view.get()
            if facts.head == known_head:
                return status_markdown(st), space.runs(), space.logs(), known_head, gr.skip(), gr.skip(), gr.skip()
            # A new version: fresh stock choices, and a default range unless the visitor typed one.
            # A listed stock is preselected so the Explore tab opens on a chart, not an empty frame.
            first, last = (first, last) if (first or last) else space.default_range()
            return (status_markdown(st), space.runs(), space.logs(), facts.head,
                    gr.update(choices=space.stock_choices(), value=chosen or space.default_stock()), first, last)

        timer = gr.Timer(REFRESH_SECONDS)
        outputs = [status_md, runs, logs, head, stock, start, end]
        timer.tick(refresh, inputs=[head, stock, start, end], outputs=outputs, api_visibility="private",
                   show_progress="hidden", concurrency_limit=None, queue=False)
        demo.load(refresh, inputs=[head, stock, start, end], outputs=outputs, api_visibility="private", queue=False)
        # A chosen stock (by the visitor or preselected above) or adjustment draws at once; the button
        # redraws after the dates are edited.
        for event in (show.click, stock.change, mode.change):
            event(space.chart, inputs=[stock, start, end, mode], outputs=[chart, rows, note], api_visibility="private")
        _api(space)
    return demo


def _explore_tab():
    with gr.Row():
        stock = gr.Dropdown(label="Stock (type a code or a name)", choices=[], filterable=True, elem_id="stock")
        start = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="from")
        end = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="to")
        mode = gr.Radio([(label, key) for key, label in explore.ADJUSTMENTS.items()], value="qfq", label="Adjustment")
    show = gr.Button("Show chart", variant="primary", elem_id="show-chart")
    note = gr.Markdown(elem_id="chart-note")
    chart = gr.Plot(label="Price and volume", elem_id="chart")
    rows = gr.Dataframe(explore.table(pd.DataFrame()), interactive=False,
                        label="Rows as published, unadjusted (newest first)", elem_id="rows")
    return stock, start, end, mode, show, chart, rows, note


def _admin_tab(space: Space) -> None:
    gr.Markdown("### Sync now\nRuns a delta: re-fetches the newest days and adds every new complete trading day.")
    sync_button = gr.Button("Sync now", elem_id="sync-now")
    sync_message = gr.Markdown(elem_id="sync-now-message")
    sync_button.click(lambda: space.sync_now(), outputs=sync_message, api_visibility="private", queue=False)

    gr.Markdown("### Full sync\nRebuilds the trading days in the range and keeps every published day outside it. "
                "Empty fields mean the defaults.")
    disabled = space.full_sync_disabled()
    if disabled:
        gr.Markdown(f"**{disabled}**", elem_id="full-sync-disabled")
    with gr.Row():
        start = gr.Textbox(label="Start (YYYYMMDD)", elem_id="full-start")
        end = gr.Textbox(label="End (YYYYMMDD)", elem_id="full-end")
        markets = gr.Textbox(label="Markets (e.g. 主板,创业板 or all)", elem_id="full-markets")
        token = gr.Textbox(label="Admin token", type="password", elem_id="admin-token",
                           placeholder="not needed: no admin token is configured" if not space.settings.admin_token else "")
    full_button = gr.Button("Full sync", variant="stop", interactive=not disabled, elem_id="full-sync")
    full_message = gr.Markdown(elem_id="full-sync-message")

    def full(start_text: str, end_text: str, markets_text: str, token_text: str, request: gr.Request) -> str:
        return space.full_sync(start_text, end_text, markets_text, token_text, client_id(request))

    full_button.click(full, inputs=[start, end, markets, token], outputs=full_message, api_visibility="private", queue=False)

    gr.Markdown("### Migrate from all-prices.csv\nReplaces the old pipeline's layout (`all-prices.csv`) with this "
                "dataset's in one full sync; on the Hub the old head keeps the tag `legacy-csv`. Needs the admin token.")
    migrate_off = space.migrate_disabled()
    if migrate_off:
        gr.Markdown(f"**{migrate_off}**", elem_id="migrate-disabled")
    migrate_token = gr.Textbox(label="Admin token", type="password", elem_id="migrate-admin-token")
    migrate_button = gr.Button("Migrate legacy layout", variant="stop", interactive=not migrate_off, elem_id="migrate-legacy")
    migrate_message = gr.Markdown(elem_id="migrate-legacy-message")

    def migrate(token_text: str, request: gr.Request) -> str:
        return space.migrate_legacy(token_text, client_id(request))

    migrate_button.click(migrate, inputs=[migrate_token], outputs=migrate_message, api_visibility="private", queue=False)


def _api(space: Space) -> None:
    """The named endpoints (docs/operations.md#the-space) for gradio_client."""

    def status() -> dict:
        """The status JSON (same as GET /healthz)."""
        return space.status()

    def sync_now() -> str:
        """Start a delta in the background, or say why not."""
        return space.sync_now()

    def full_sync(start: str = "", end: str = "", markets: str = "", admin_token: str = "",
                  request: gr.Request = None) -> str:
        """Start a full sync in the background (dates YYYYMMDD, markets a comma list or 'all'), or refuse."""
        return space.full_sync(start, end, markets, admin_token, client_id(request))

    gr.api(status, api_name="status", queue=False)
    gr.api(sync_now, api_name="sync_now", queue=False)
    def migrate_legacy(admin_token: str = "", request: gr.Request = None) -> str:
        """Start `full --migrate-legacy` in the background (admin token required), or refuse."""
        return space.migrate_legacy(admin_token, client_id(request))

    gr.api(full_sync, api_name="full_sync", queue=False)
    gr.api(migrate_legacy, api_name="migrate_legacy", queue=False)
