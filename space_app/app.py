"""Start the Space: `python space_app/app.py` from the repo root (that is how HuggingFace Spaces starts it).

Serves the dashboard at `/`, the named API endpoints for gradio_client, and `GET /healthz` for
uptime monitors, on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860; Spaces sets
0.0.0.0). Configuration is read once from the environment (see the README).
"""

from __future__ import annotations

import os
import sys

# Started as a script, Python puts space_app/ on the path, not the repo root that holds `sync`.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import datetime as dt  # noqa: E402
import logging  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402

from sync.core.clock import SHANGHAI, now_from_env  # noqa: E402
from sync.core.config import Settings  # noqa: E402
from sync.core.errors import SyncError  # noqa: E402

log = logging.getLogger("space_app")


def make_clock() -> Callable[[], dt.datetime]:
    """The clock, decided once: SYNC_NOW pins it (replays, tests), else the wall clock in Shanghai."""
    pinned = now_from_env() if os.environ.get("SYNC_NOW", "").strip() else None
    return (lambda: pinned) if pinned else (lambda: dt.datetime.now(SHANGHAI))


def create_app(settings: Settings, clock: Callable[[], dt.datetime], env: Mapping[str, str] | None = None):
    """The FastAPI app with the Gradio page mounted at `/` and `/healthz`; the scheduler started.

    `env` (default: the environment) is checked for a Space's configuration errors."""
    import fastapi
    import gradio as gr
    from fastapi.responses import JSONResponse

    from space_app import ui
    from space_app.admin import space_config_error
    from space_app.space import Space

    env = os.environ if env is None else env
    space = Space(settings, clock, space_config_error(env), space_id=env.get("SPACE_ID"))
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz(max_behind: int | None = None) -> JSONResponse:
        """The status JSON; with ?max_behind=N, HTTP 503 when more than N trading days behind."""
        status = space.status()
        behind = status["behind_trading_days"]
        stale = max_behind is not None and (behind is None or behind > max_behind)
        return JSONResponse(status, status_code=503 if stale else 200)

    demo = ui.build(space)
    app = gr.mount_gradio_app(
        app, demo, path="/", footer_links=["api", "gradio"], ssr_mode=False, i18n=ui.I18N, css=ui.CSS
    )
    _quiet_queue(demo)
    space.start()
    return app, space


IDLE_QUEUE_POLL = 0.02  # seconds between polls of an empty event queue
IDLE_PROGRESS_POLL = 0.1  # seconds between progress polls (this app sends no gr.Progress)


def _quiet_queue(demo) -> None:
    """Gradio's queue polls every 1 ms and its progress loop every 10 ms when idle: ~8% of a core at
    rest, measured. A free Space has 2 vCPUs shared with the sync, so poll slower; a click waits
    at most 20 ms longer. Best effort: attributes of gradio's queue, left alone if they change."""
    queue = getattr(demo, "_queue", None)
    for name, seconds in (
        ("sleep_when_free", IDLE_QUEUE_POLL),
        ("progress_update_sleep_when_free", IDLE_PROGRESS_POLL),
    ):
        current = getattr(queue, name, None)
        if isinstance(current, (int, float)):
            setattr(queue, name, max(current, seconds))


def main() -> int:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings, clock = Settings.from_env(), make_clock()
    except SyncError as error:  # a malformed setting: say which and how to fix it
        print(f"error: {error}", file=sys.stderr)
        return 2
    app, _ = create_app(settings, clock)
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    print(f"* Running on http://{host}:{port}", flush=True)
    uvicorn.run(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2
    )  # open SSE streams must not hold a restart
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
