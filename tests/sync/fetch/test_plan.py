"""The full-sync fetch plan: per day or per stock, whichever the busiest interface needs fewer calls for."""

import datetime as dt

import pandas as pd

from sync.fetch.plan import group_by_month, plan_fetch


def stocks(n, listed="2000-01-04", delisted=None, first=600000):
    return pd.DataFrame({
        "code": [f"{first + i}.SH" for i in range(n)],
        "list_date": pd.Series([pd.Timestamp(listed)] * n, dtype="datetime64[us]"),
        "delist_date": pd.Series([pd.Timestamp(delisted) if delisted else pd.NaT] * n, dtype="datetime64[us]"),
    })


def weekdays(start, count):
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_a_few_stocks_over_many_days_are_fetched_per_stock():
    days = weekdays(dt.date(2020, 1, 1), 500)
    plan = plan_fetch(days, stocks(5000), stocks(20))
    assert plan.strategy == "per-stock"
    assert plan.calls_per_api["daily"] == 20  # 500 days of one stock fit in one page
    assert sum(len(c.calls) for c in plan.chunks) == 20 * 5  # daily, stk_limit, daily_basic, adj_factor, suspend_d


def test_the_whole_market_over_a_few_days_is_fetched_per_day_in_monthly_chunks():
    days = weekdays(dt.date(2020, 1, 27), 10)  # crosses into February
    plan = plan_fetch(days, stocks(5000), stocks(3000))
    assert plan.strategy == "per-day"
    assert [c.id[:12] for c in plan.chunks] == ["days-2020-01", "days-2020-02"]
    assert [c.days[0].month for c in plan.chunks] == [1, 2]
    assert plan.calls_per_api["daily"] == 10


def test_per_day_counts_a_second_page_when_the_cross_section_exceeds_the_cap():
    days = weekdays(dt.date(2020, 3, 2), 5)
    plan = plan_fetch(days, stocks(5900), stocks(5900))
    assert plan.strategy == "per-day"
    assert plan.calls_per_api["daily"] == 5 and plan.calls_per_api["stk_limit"] == 10  # stk_limit caps at 5800


def test_stocks_not_listed_in_the_range_cost_nothing():
    days = weekdays(dt.date(2020, 1, 1), 100)
    universe = pd.concat([stocks(3), stocks(4, listed="2030-01-02", first=601000),
                          stocks(2, listed="1995-01-03", delisted="1999-01-04", first=602000)])
    plan = plan_fetch(days, stocks(5000), universe)
    assert plan.strategy == "per-stock" and plan.calls_per_api["daily"] == 3


def test_group_by_month_keeps_order():
    days = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
    assert group_by_month(days) == [days[:2], days[2:]]


def test_per_stock_chunks_do_not_depend_on_the_order_of_the_stock_list():
    days = weekdays(dt.date(2020, 1, 1), 300)
    universe = stocks(120)
    shuffled = universe.sample(frac=1, random_state=7).reset_index(drop=True)
    first, second = plan_fetch(days, stocks(5000), universe), plan_fetch(days, stocks(5000), shuffled)
    assert first.strategy == second.strategy == "per-stock"
    assert [(c.id, c.codes) for c in first.chunks] == [(c.id, c.codes) for c in second.chunks]


def test_a_chunk_id_changes_when_its_days_change():
    days = weekdays(dt.date(2020, 1, 1), 300)
    longer = plan_fetch(days + weekdays(days[-1] + dt.timedelta(days=1), 1), stocks(5000), stocks(20))
    shorter = plan_fetch(days, stocks(5000), stocks(20))
    assert {c.id for c in longer.chunks}.isdisjoint({c.id for c in shorter.chunks})


def test_stk_limit_is_not_fetched_before_its_history_starts():
    days = weekdays(dt.date(2006, 12, 1), 60)  # December 2006 into 2007
    plan = plan_fetch(days, stocks(5000), stocks(4000))
    assert plan.strategy == "per-day"
    stk_days = sorted(c[1]["trade_date"] for chunk in plan.chunks for c in chunk.calls if c[0] == "stk_limit")
    assert stk_days[0] == "20070104" and plan.calls_per_api["stk_limit"] == len(stk_days)
    assert plan.calls_per_api["daily"] == 60
