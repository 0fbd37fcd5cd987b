"""What happens to one stock over its life: renames, ST episodes, paused listing, delisting,
suspensions and dividends.

Each process runs forward in time from its own random stream and stops at the market's end,
drawing a fixed number of values per step. Running it to a later end therefore replays the
same steps first: that is what keeps earlier days unchanged when a market is extended.
Times are session indices (global for the life events, range-relative for suspensions).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

YEAR = 243  # trading days in a year
H_RENAME = 0.01 / YEAR  # hazard of a plain rename (改名)
H_RISK = 0.025 / YEAR  # hazard of a main-board stock getting a risk warning (ST / *ST)
H_MERGE = 0.0015 / YEAR  # hazard of delisting without warning (merger, privatisation)
SUSPENSION_GAP = 400.0  # mean trading days between two suspensions of a stock


@dataclasses.dataclass(frozen=True)
class NameRow:
    start_g: int  # first session of the name
    ann_g: int  # session of the announcement
    st: str  # "", "ST" or "*ST"
    tail: int  # which of the industry's two tails the name uses
    reason: str  # namechange.change_reason


@dataclasses.dataclass(frozen=True)
class Life:
    names: tuple[NameRow, ...]
    delist_g: int | None  # first session without listing; None while listed
    pauses: tuple[tuple[int, int], ...]  # paused listing (list_status P), [start, end) sessions


def _wait(u: float, hazard: float) -> float:
    return math.inf if hazard <= 0 else -math.log1p(-u) / hazard


def _after_warning(state: str, u: float, may_pause: bool) -> tuple[str, str]:
    """(next state, change_reason) when a risk-warning period ends."""
    if state == "ST":
        return ("", "撤销ST") if u < 0.65 else ("*ST", "*ST")
    if u < 0.45:
        return "", "撤销*ST"
    if u < 0.65:
        return "ST", "撤消*ST并实行ST"
    if u < 0.85 or not may_pause:
        return "D", ""
    return "P", ""


def lifecycle(rng: np.random.Generator, list_g: int, main_board: bool, start_g: int, end_g: int) -> Life:
    """Name history, pauses and delisting of one stock from its listing up to session `end_g`.

    Only main-board stocks get risk warnings (where the ±5% limit rule is unambiguous). A
    paused listing only starts inside the simulated range, so no stock is already suspended
    on the first day of the range.
    """
    rows = [NameRow(list_g, list_g, "", 0, "其他")]
    state, tail, g, pause_end = "", 0, list_g, list_g
    pauses: list[tuple[int, int]] = []
    delist: int | None = None
    while True:
        u = rng.random(4)  # always four draws per step
        if state == "":
            waits = (_wait(u[0], H_RENAME), _wait(u[1], H_RISK if main_board else 0.0), _wait(u[2], H_MERGE))
            which = int(np.argmin(waits))
            if g + 1 + waits[which] > end_g:
                break
            g = g + 1 + int(waits[which])
        else:
            g = pause_end if state == "P" else g + YEAR + int(u[0] * 360)
            if g > end_g:
                break
        ann = max(list_g, g - int(u[3] * 1000) % 3)
        if state == "":
            if which == 0:
                tail = 1 - tail
                rows.append(NameRow(g, ann, "", tail, "改名"))
            elif which == 1:
                state = "ST" if u[3] < 0.45 else "*ST"
                rows.append(NameRow(g, ann, state, tail, state))
            else:
                delist = g
                break
        elif state == "P":
            if u[1] < 0.6:
                delist = g
                break
            state = "*ST"  # resumes trading, still under *ST
        else:
            state, reason = _after_warning(state, u[1], may_pause=g > start_g)
            if state == "D":
                delist = g
                break
            if state == "P":
                pause_end = g + 120 + int(u[2] * 280)
                pauses.append((g, pause_end))
                continue
            rows.append(NameRow(g, ann, state, tail, reason))
    return Life(tuple(rows), delist, tuple(pauses))


def suspension_spells(rng: np.random.Generator, first: int, n_days: int) -> list[tuple[int, int]]:
    """Ordinary suspensions [start, end) in range days; never on the stock's first day.

    Most last a day (pending announcements), some a week, a few two months (restructuring).
    The day after a spell always trades, which is where suspend_d has its R row.
    """
    spells: list[tuple[int, int]] = []
    t = first + 1
    while True:
        u = rng.random(3)
        start = t + int(-math.log1p(-u[0]) * SUSPENSION_GAP)
        if start >= n_days:
            return spells
        length = 1 if u[1] < 0.65 else 2 + int(u[2] * 4) if u[1] < 0.9 else 6 + int(u[2] * 55)
        spells.append((start, start + length))
        t = start + length + 1


def dividend_plan(
    draws: np.ndarray, profit: np.ndarray, list_year: int, p_div: float, first_year: int
) -> list[tuple[int, int, float, float]]:
    """(year, ex-date day offset from 20 May, cash total 万元, bonus ratio) per dividend.

    `draws` has four uniforms per year from `first_year`; `profit` is the annual net profit by
    year (same indexing). A stock pays out of last year's profit, never in its listing year.
    """
    plan = []
    for i in range(1, len(draws)):
        year = first_year + i
        eligible = year > list_year and profit[i - 1] > 0 and draws[i, 0] < p_div
        if eligible:
            bonus = (0.2, 0.3, 0.4, 0.5, 1.0)[int(draws[i, 3] / 0.12 * 5)] if draws[i, 3] < 0.12 else 0.0
            plan.append((year, int(draws[i, 1] * 70), (0.2 + 0.4 * draws[i, 2]) * profit[i - 1], bonus))
    return plan
