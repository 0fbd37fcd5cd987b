"""The Status tab as Markdown, from the status JSON. Pure.

    >>> print(status_markdown({"published": False, "running": False, "next_run": "2024-04-15T21:00:00+08:00"}).splitlines()[0])
    ## Nothing published yet
"""

from __future__ import annotations

import datetime as dt

from sync.core.clock import SHANGHAI


def status_markdown(st: dict) -> str:
    if st.get("config_error"):
        return f"## Not configured\n**{st['config_error']}**"
    lines = [_headline(st), ""]
    partial = st.get("partial_days")
    rows = [
        ("Partial days", "unknown (this dataset version has no meta/days)" if partial is None and st.get("published") else partial),
        ("Next run", _next(st)),
        ("Current run", _current(st.get("current_run"))),
        ("Last success", _run(st.get("last_success"))),
        ("Last error", _run(st.get("last_error"))),
        ("Data", _data(st)),
    ]
    for run in st.get("interrupted") or []:
        then = "resumed (trigger resume)" if run.get("resumed") else "not resumed: see Logs"
        rows.append(("Interrupted", f"the full sync started {_when(run.get('started_at'))} ({run.get('trigger')}) "
                                    f"was cut off by a restart; {then}"))
    if st.get("repo_error"):
        rows.append(("Repo", f"could not be read: {st['repo_error']}"))
    lines += [f"- **{name}:** {_cell(value)}" for name, value in rows]
    return "\n".join(lines)


def _headline(st: dict) -> str:
    if not st.get("published"):
        if st.get("running"):
            return "## Nothing published yet\nThe first sync is running; data appears when it finishes."
        return "## Nothing published yet\nStart a full sync from the Admin tab."
    behind = st.get("behind_trading_days")
    late = "unknown" if behind is None else ("up to date" if behind == 0 else f"{behind} trading day{'s' if behind != 1 else ''} behind")
    return f"## Complete through {st['watermark']} · {late}"


def _next(st: dict) -> str:
    if not st.get("next_run"):
        return "none: automatic syncs are off (the synthetic market never publishes to the Hub by itself; set TUSHARE_TOKEN)"
    kind = "retry" if st.get("next_run_trigger") == "retry" else "daily delta"
    return f"{_when(st['next_run'])} Asia/Shanghai ({kind})"


def _current(run: dict | None) -> str:
    if not run:
        return "idle"
    eta = run.get("eta_seconds")
    eta_text = f", about {_duration(eta)} left in {run['phase']}" if eta is not None else ""
    return f"**{run['kind']} sync** ({run['trigger']}) since {_when(run['started_at'])}: {run['progress']}{eta_text}"


def _run(run: dict | None) -> str:
    if not run:
        return "none"
    return f"{run.get('kind')} ({run.get('trigger')}) at {_when(run.get('finished_at'))}: {run.get('message') or run.get('status')}"


def _data(st: dict) -> str:
    parts = [f"{st.get('source', '?')} → {st.get('target', '?')}"]
    if st.get("published"):
        parts.append(f"{st.get('rows') or 0:,} rows from {st.get('first_date')}; markets {', '.join(st.get('markets') or [])}")
    return "; ".join(parts)


def _when(text: str | None) -> str:
    if not text:
        return "?"
    moment = dt.datetime.fromisoformat(text)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _cell(value) -> str:
    return str(value).replace("\n", " ")
