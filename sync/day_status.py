"""Is a fetched trading day complete? The coverage rule, pure (DESIGN §3)."""

from __future__ import annotations

from sync.transform import DayFrames


def incomplete_reason(frames: DayFrames, threshold: float) -> str | None:
    """Why one day's frames are not complete yet, or None when they are.

    Complete: `daily` has rows and daily_basic, stk_limit and adj_factor each cover at least
    `threshold` of the codes that have a daily bar.
    """
    codes = set(frames.daily["ts_code"])
    if not codes:
        return "daily has no rows yet"
    for api, frame in frames.by_api().items():
        if api == "daily":
            continue
        covered = len(codes & set(frame["ts_code"])) / len(codes)
        if covered < threshold:
            return f"{api} covers {covered:.0%} of the codes with a daily bar, below {threshold:.0%}"
    return None
