"""The Status tab's text and the current run's progress bar, from the status JSON. Pure.

Both take the visitor's language ("zh" or "en"; English by default, as the API speaks).

    >>> print(status_markdown({"published": False, "running": False, "next_run": "2024-04-15T21:00:00+08:00"}).splitlines()[0])
    ## Nothing published yet
    >>> print(status_markdown({"published": False, "running": False}, "zh").splitlines()[0])
    ## 尚未发布数据
"""

from __future__ import annotations

import datetime as dt
import html

from space_app.i18n import Lang, message, t, word
from sync.core.clock import SHANGHAI


def status_markdown(st: dict, lang: Lang = "en") -> str:
    if st.get("config_error"):  # e.g. a Space without DATASET_REPO: nothing else applies
        return f"## {t(lang, 'not_configured')}\n**{st['config_error']}**"
    lines = [_headline(st, lang), ""]
    partial = st.get("partial_days")
    rows = [
        (t(lang, "partial_days"), t(lang, "partial_unknown") if partial is None and st.get("published") else partial),
        (t(lang, "next_run"), _next(st, lang)),
        (t(lang, "current_run"), _current(st.get("current_run"), lang)),
        (t(lang, "last_success"), _run(st.get("last_success"), lang)),
        (t(lang, "last_error"), _run(st.get("last_error"), lang)),
        (t(lang, "data"), _data(st, lang)),
    ]
    if st.get("indexes"):
        rows.append((t(lang, "indexes"), _indexes(st["indexes"], lang)))
    for run in st.get("interrupted") or []:
        then = t(lang, "resumed" if run.get("resumed") else "not_resumed")
        rows.append(
            (
                t(lang, "interrupted"),
                t(
                    lang,
                    "interrupted_run",
                    when=_when(run.get("started_at")),
                    trigger=word(lang, run.get("trigger")),
                    then=then,
                ),
            )
        )
    if st.get("repo_error"):
        rows.append((t(lang, "repo"), t(lang, "repo_unreadable", error=message(lang, st["repo_error"]))))
    separator = "：" if lang == "zh" else ": "
    lines += [f"- **{name}**{separator}{_cell(value)}" for name, value in rows]
    return "\n".join(lines)


def _headline(st: dict, lang: Lang) -> str:
    if not st.get("published"):
        more = t(lang, "first_sync_running") if st.get("running") else t(lang, "start_full_sync")
        return f"## {t(lang, 'nothing_published')}\n{more}"
    behind = st.get("behind_trading_days")
    if behind is None:
        late = t(lang, "unknown")
    elif behind == 0:
        late = t(lang, "up_to_date")
    else:
        late = t(lang, "behind" if behind == 1 else "behind_many", n=behind)
    return f"## {t(lang, 'complete_through', day=st['watermark'])} · {late}"


def _next(st: dict, lang: Lang) -> str:
    if not st.get("next_run"):
        return t(lang, "next_none")
    kind = t(lang, "kind_retry" if st.get("next_run_trigger") == "retry" else "kind_daily")
    return t(lang, "next_at", when=_when(st["next_run"]), kind=kind)


def _current(run: dict | None, lang: Lang) -> str:
    if not run:
        return t(lang, "idle")
    if lang == "en":  # as the status line always read: 'delta sync (button) since ...: fetch 1/2 day, 4 API calls'
        eta = run.get("eta_seconds")
        eta_text = f", about {_duration(eta)} left in {run['phase']}" if eta is not None else ""
        return f"**{run['kind']} sync** ({run['trigger']}) since {_when(run['started_at'])}: {run.get('progress')}{eta_text}"
    return f"**{_run_title(run, lang)}**：{_phase(run, lang)} {_counts(run, lang)}{_eta(run, lang, '，')}"


def _run(run: dict | None, lang: Lang) -> str:
    if not run:
        return t(lang, "none")
    return t(
        lang,
        "run_line",
        kind=word(lang, run.get("kind")),
        trigger=word(lang, run.get("trigger")),
        when=_when(run.get("finished_at")),
        message=message(lang, run.get("message")) or word(lang, run.get("status")),
    )


def _indexes(cover: dict, lang: Lang) -> str:
    codes = cover.get("codes") or []
    return t(
        lang,
        "indexes_coverage",
        n=len(codes),
        codes=", ".join(codes),
        first=cover.get("first"),
        last=cover.get("last"),
        bars=f"{cover.get('bars') or 0:,}",
        missing=cover.get("days_missing") or 0,
    )


def _data(st: dict, lang: Lang) -> str:
    parts = [f"{st.get('source', '?')} → {st.get('target', '?')}"]
    if st.get("published"):
        parts.append(
            t(
                lang,
                "data_rows",
                rows=f"{st.get('rows') or 0:,}",
                first=st.get("first_date"),
                markets=", ".join(st.get("markets") or []),
            )
        )
    return "; ".join(parts)


# -- the progress bar ----------------------------------------------------------------------------
def progress_html(run: dict | None, lang: Lang = "en") -> str:
    """The current run (`status_json.current_run`) as a bar: phase, done/total, calls and ETA.

    A phase without a known total (plan, publish) shows a moving stripe instead of a share.
    """
    if not run:
        return f'<div class="sync-progress idle" data-state="idle">{html.escape(t(lang, "progress_idle"))}</div>'
    done, total = int(run.get("done") or 0), int(run.get("total") or 0)
    share = min(1.0, done / total) if total else None
    phase = _phase(run, lang)
    width = f"{share * 100:.1f}%" if share is not None else "100%"
    percent = f"{share * 100:.0f}%" if share is not None else ""
    bar_class = "bar" if share is not None else "bar indeterminate"
    details = " · ".join(p for p in (phase, _counts(run, lang), _eta(run, lang)) if p)
    return (
        f'<div class="sync-progress" data-state="running" data-phase="{html.escape(str(run.get("phase")))}" '
        f'data-done="{done}" data-total="{total}">'
        f'<div class="title">{html.escape(_run_title(run, lang))}</div>'
        f'<div class="track" role="progressbar" aria-valuemin="0" aria-valuemax="{total}" aria-valuenow="{done}">'
        f'<div class="{bar_class}" style="width:{width}"></div><span class="percent">{percent}</span></div>'
        f'<div class="details">{html.escape(details)}</div></div>'
    )


PROGRESS_CSS = """
.sync-progress { padding: 10px 14px; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.sync-progress.idle { color: var(--body-text-color-subdued); }
.sync-progress .title { font-weight: 600; margin-bottom: 6px; }
.sync-progress .track { position: relative; height: 22px; background: #e8ebee;
  border: 1px solid var(--border-color-primary); border-radius: 11px; overflow: hidden; }
.sync-progress .bar { height: 100%; background: #3a9d5d; }
.sync-progress .bar.indeterminate { opacity: 0.35; background: repeating-linear-gradient(45deg, #3a9d5d 0 12px,
  #7cc494 12px 24px); background-size: 34px 34px; animation: sync-stripes 1s linear infinite; }
.sync-progress .percent { position: absolute; inset: 0; text-align: center; line-height: 22px; font-size: 12px; }
.sync-progress .details { margin-top: 6px; font-size: 13px; }
@keyframes sync-stripes { from { background-position: 0 0; } to { background-position: 34px 0; } }
"""
_PHASES = {"phase_starting", "phase_plan", "phase_fetch", "phase_build", "phase_publish"}


def _run_title(run: dict, lang: Lang) -> str:
    return t(
        lang,
        "progress_title",
        kind=word(lang, run.get("kind")),
        trigger=word(lang, run.get("trigger")),
        since=_when(run.get("started_at")),
    )


def _counts(run: dict, lang: Lang) -> str:
    calls = f"{int(run.get('calls') or 0):,}"
    if run.get("total"):
        return t(
            lang,
            "progress_counts",
            done=run.get("done") or 0,
            total=run["total"],
            unit=run.get("unit") or "",
            calls=calls,
        )
    return t(lang, "progress_calls", calls=calls)


def _phase(run: dict, lang: Lang) -> str:
    key = f"phase_{run.get('phase')}"
    return t(lang, key) if key in _PHASES else str(run.get("phase"))


def _eta(run: dict, lang: Lang, prefix: str = "") -> str:
    eta = run.get("eta_seconds")
    return f"{prefix}{t(lang, 'progress_eta', eta=_duration(eta, lang))}" if eta is not None else ""


def _when(text: str | None) -> str:
    if not text:
        return "?"
    moment = dt.datetime.fromisoformat(text)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float, lang: Lang = "en") -> str:
    return t(lang, "seconds", n=f"{seconds:.0f}") if seconds < 90 else t(lang, "minutes", n=f"{seconds / 60:.0f}")


def _cell(value) -> str:
    return str(value).replace("\n", " ")
