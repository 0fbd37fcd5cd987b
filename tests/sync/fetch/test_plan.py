"""The full-sync fetch plan: each interface on its cheapest shape (per day, per stock, a month's range), in pages."""

import datetime as dt

import pandas as pd

from sync.fetch.plan import group_by_month, plan_fetch


def stocks(n, listed="2000-01-04", delisted=None, first=600000):
    return pd.DataFrame(
        {
            "code": [f"{first + i}.SH" for i in range(n)],
            "list_date": pd.Series([pd.Timestamp(listed)] * n, dtype="datetime64[us]"),
            "delist_date": pd.Series([pd.Timestamp(delisted) if delisted else pd.NaT] * n, dtype="datetime64[us]"),
        }
    )


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
    assert set(plan.shapes.values()) == {"per-stock"} and plan.strategy == "per-stock"
    assert plan.calls_per_api["daily"] == 20 + 1  # 500 days of one stock fit in one page; the seed call
    assert plan.calls_per_api["suspend_d"] == 20  # fewer than the 24 months' ranges
    assert sum(len(c.calls) for c in plan.chunks) == 20 * 5  # the seed call is made by the build


def test_the_whole_market_over_a_few_days_is_fetched_per_day_in_monthly_chunks():
    days = weekdays(dt.date(2020, 1, 27), 10)  # crosses into February
    plan = plan_fetch(days, stocks(5000), stocks(3000))
    assert plan.shapes["daily"] == plan.shapes["daily_basic"] == "per-day" and plan.shapes["suspend_d"] == "range"
    daily = [c for c in plan.chunks if c.api == "daily"]
    assert [c.id[:18] for c in daily] == ["daily-days-2020-01", "daily-days-2020-02"]
    assert [c.days[0].month for c in daily] == [1, 2]
    assert plan.calls_per_api["daily"] == 10 + 1 and plan.calls_per_api["suspend_d"] == 2


def test_per_day_counts_a_second_page_when_the_cross_section_exceeds_the_cap():
    days = weekdays(dt.date(2020, 3, 2), 5)
    plan = plan_fetch(days, stocks(5900), stocks(5900))
    assert plan.shapes["daily"] == plan.shapes["stk_limit"] == "per-day"
    assert plan.calls_per_api["daily"] == 5 + 1 and plan.calls_per_api["stk_limit"] == 10  # stk_limit caps at 5800


def test_funds_in_stk_limit_are_counted_and_can_move_it_to_per_stock():
    days = weekdays(dt.date(2024, 3, 4), 20)
    plan = plan_fetch(days, stocks(5000), stocks(5000), lambda day: 500.0, probe_calls=1)
    assert plan.shapes["stk_limit"] == "per-day" and plan.calls_per_api["stk_limit"] == 20 + 1  # 5,500 fit a page
    plan = plan_fetch(days, stocks(5000), stocks(5000), lambda day: 1500.0, probe_calls=2)
    assert plan.calls_per_api["stk_limit"] == 2 * 20 + 2  # 6,500 rows a day: two pages each
    few_days = plan_fetch(days[:3], stocks(5000), stocks(5000), lambda day: 1500.0)
    assert few_days.shapes["stk_limit"] == "per-day"
    many = weekdays(dt.date(2012, 1, 2), 2600)  # two pages a day: 5,200 calls; per stock 5,000 (one page each)
    long = plan_fetch(many, stocks(5000), stocks(5000), lambda day: 1500.0)
    assert long.shapes["stk_limit"] == "per-stock" and long.calls_per_api["stk_limit"] == 5000
    assert long.shapes["daily"] == "per-day" and long.calls_per_api["daily"] == 2600 + 1


def test_describe_prints_each_interfaces_shape_and_pages():
    days = weekdays(dt.date(2020, 3, 2), 5)
    text = plan_fetch(days, stocks(5900), stocks(5900)).describe(200)
    assert text == (
        "planned fetch: daily per-day 6, stk_limit per-day 10, daily_basic per-day 5, adj_factor per-day 5, "
        "suspend_d range 1 API calls (pages); the busiest interface needs ~1 min at 200/min"
    )


def test_stocks_not_listed_in_the_range_cost_nothing():
    days = weekdays(dt.date(2020, 1, 1), 100)
    universe = pd.concat(
        [
            stocks(3),
            stocks(4, listed="2030-01-02", first=601000),
            stocks(2, listed="1995-01-03", delisted="1999-01-04", first=602000),
        ]
    )
    plan = plan_fetch(days, stocks(5000), universe)
    assert plan.shapes["daily"] == "per-stock" and plan.calls_per_api["daily"] == 3 + 1


def test_group_by_month_keeps_order():
    days = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
    assert group_by_month(days) == [days[:2], days[2:]]


def test_per_stock_chunks_do_not_depend_on_the_order_of_the_stock_list():
    days = weekdays(dt.date(2020, 1, 1), 300)
    universe = stocks(120)
    shuffled = universe.sample(frac=1, random_state=7).reset_index(drop=True)
    first, second = plan_fetch(days, stocks(5000), universe), plan_fetch(days, stocks(5000), shuffled)
    assert first.shapes == second.shapes and first.shapes["daily"] == "per-stock"
    assert [(c.id, c.codes) for c in first.chunks] == [(c.id, c.codes) for c in second.chunks]


def test_a_chunk_id_changes_when_its_days_change():
    days = weekdays(dt.date(2020, 1, 1), 300)
    longer = plan_fetch(days + weekdays(days[-1] + dt.timedelta(days=1), 1), stocks(5000), stocks(20))
    shorter = plan_fetch(days, stocks(5000), stocks(20))
    same = {c.id for c in longer.chunks} & {c.id for c in shorter.chunks}
    assert same, "a month's range chunk that holds the same days keeps its id (reusable)"
    by_id = {c.id: c for c in shorter.chunks}
    assert all(
        (c.days, c.codes, c.calls) == (by_id[c.id].days, by_id[c.id].codes, by_id[c.id].calls)
        for c in longer.chunks
        if c.id in same
    )
    assert all(c.api == "suspend_d" for c in longer.chunks if c.id in same)  # per-stock chunks span every day


def test_stk_limit_is_not_fetched_before_its_history_starts():
    days = weekdays(dt.date(2006, 12, 1), 60)  # December 2006 into 2007
    plan = plan_fetch(days, stocks(5000), stocks(4000))
    assert plan.shapes["stk_limit"] == "per-day"
    stk_days = sorted(c[1]["trade_date"] for chunk in plan.chunks for c in chunk.calls if c[0] == "stk_limit")
    assert stk_days[0] == "20070104" and plan.calls_per_api["stk_limit"] == len(stk_days)
    assert plan.calls_per_api["daily"] == 60 + 1  # and the seed of the first day's suspended stocks
