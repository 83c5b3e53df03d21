"""The poll scheduler (bot/sources/pace.py): pure, times are epoch seconds, no sleeping."""

from __future__ import annotations

import math

import pytest

from bot.sources.pace import (
    DAY,
    HOUR,
    MAX_HINT,
    POLLS_PER_ITEM,
    Scheduler,
    format_duration,
    merge_hints,
    profile,
)

# 2025-11-20 00:00 UTC: a whole day, so hour-of-day slots are easy to place
T0 = 1_763_596_800.0
assert T0 % DAY == 0


def busy(sched: Scheduler, name: str, per_hour: float, *, hours: float, end: float) -> None:
    """``name`` published ``per_hour`` items an hour, evenly, for ``hours`` before ``end``."""
    sched.add(name, watching_since=end - hours * HOUR)
    gap = HOUR / per_hour
    t = end - hours * HOUR + gap / 2
    while t <= end:
        sched.observe(name, t, t + 30)
        t += gap


# ---------------------------------------------------------------------------- the rate


def test_rate_from_a_dated_listing_is_seen_at_the_first_poll():
    # 20 dated items over the last 2 hours: about 10 an hour, known at once
    events = [T0 - 2 * HOUR + i * 360 for i in range(20)]
    p = profile(events, origin=T0, now=T0, window=7 * DAY)
    assert p.items == 20
    assert p.exposure == pytest.approx(2 * HOUR)
    assert 9.5 <= p.rate * HOUR <= 10.5


def test_old_items_fall_out_of_the_window_and_exposure_is_capped():
    events = [T0 - 30 * DAY, T0 - 20 * DAY, T0 - DAY]
    p = profile(events, origin=T0 - 40 * DAY, now=T0, window=7 * DAY)
    assert p.items == 1
    assert p.exposure == pytest.approx(7 * DAY)


def test_a_silent_source_has_a_rate_near_zero_but_not_below():
    p = profile([], origin=T0 - 30 * DAY, now=T0, window=7 * DAY)
    assert p.items == 0
    assert 0 < p.rate * DAY < 0.1  # half an item in a week, not nothing


def test_date_only_dates_give_no_hour_of_day_pattern():
    # a feed that dates its items by day only: every item at 00:00
    events = [T0 - d * DAY for d in range(7, 0, -1)]
    p = profile(events, origin=T0 - 8 * DAY, now=T0, window=7 * DAY)
    assert max(p.slots) == pytest.approx(min(p.slots))


def test_hour_of_day_pattern():
    # a week of news between 09:00 and 11:00 UTC only, 6 an hour
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None, window=7 * DAY)
    s.add("office", watching_since=T0 - 7 * DAY)
    for day in range(7, 0, -1):
        for i in range(12):
            t = T0 - day * DAY + 9 * HOUR + i * 600
            s.observe("office", t, t + 60)
    p = s.profile("office", T0)
    assert p.at(T0 + 10 * HOUR) > 10 * p.at(T0 + 3 * HOUR)
    assert s.decide("office", T0 + 10 * HOUR).interval < s.decide("office", T0 + 3 * HOUR).interval


def test_undated_items_of_the_first_poll_are_not_news():
    # an HTML listing read for the first time: 20 items, no dates, all "seen now"
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    s.add("page")
    s.watch("page", T0)
    for _ in range(20):
        s.observe("page", T0, T0 + 2)  # the poller dates an undated item at its first sight
    assert s.profile("page", T0 + HOUR).items == 0
    # later undated items are news (first seen = published)
    s.observe("page", T0 + 600, T0 + 601)
    assert s.profile("page", T0 + HOUR).items == 1


# ---------------------------------------------------------------------------- floor, ceiling


def test_a_source_publishing_every_minute_is_polled_at_the_floor():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    busy(s, "wire", 60, hours=24, end=T0)
    d = s.decide("wire", T0)
    assert d.interval == 60 and d.bound == "floor"
    assert "(floor)" in d.reason and "new/h" in d.reason


def test_a_silent_source_is_polled_at_the_ceiling():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    s.add("blog", watching_since=T0 - 30 * DAY)
    d = s.decide("blog", T0)
    assert d.interval == 3600 and d.bound == "ceiling"
    assert "no new items in 7d" in d.reason


def test_a_new_silent_source_drifts_from_the_floor_to_the_ceiling():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    s.add("new")
    s.watch("new", T0)
    minutes = (1, 10, 60, 600, 1440, 3 * 1440)
    intervals = [s.decide("new", T0 + m * 60).interval for m in minutes]
    assert intervals == sorted(intervals)
    assert intervals[0] < 120
    assert intervals[-1] == 3600


def test_never_more_than_a_few_polls_per_expected_item():
    # one item a day: even with budget to spare, at most POLLS_PER_ITEM polls a day
    s = Scheduler(floor=60, ceiling=10 * DAY, budget_per_hour=None)
    busy(s, "daily", 1 / 24, hours=7 * 24, end=T0)
    d = s.decide("daily", T0)
    assert d.interval >= DAY / POLLS_PER_ITEM * 0.9
    assert d.bound == "rate"


# ---------------------------------------------------------------------------- the budget


def test_the_budget_is_shared_by_the_square_root_of_the_rates():
    # 40/h and 10/h with a budget far below what the floor would cost: intervals 1 : 2
    s = Scheduler(floor=1, ceiling=10 * HOUR, budget_per_hour=12)
    busy(s, "a", 40, hours=48, end=T0)
    busy(s, "b", 10, hours=48, end=T0)
    a, b = s.decide("a", T0, replan=True), s.decide("b", T0)
    assert a.bound == b.bound == "budget"
    assert b.interval / a.interval == pytest.approx(2.0, rel=0.05)
    assert HOUR / a.interval + HOUR / b.interval == pytest.approx(12, rel=0.02)


def test_a_binding_budget_is_spent_exactly_over_the_day():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=50)
    for i, rate in enumerate([30, 12, 5, 2, 0.5, 0.1]):
        busy(s, f"s{i}", rate, hours=72, end=T0)
    s.add("silent", watching_since=T0 - 30 * DAY)
    names = [f"s{i}" for i in range(6)] + ["silent"]
    daily = s.daily_polls(T0)
    assert sum(daily.values()) / 24 == pytest.approx(50, rel=0.01)
    # each decision is the plan's rate for the hour it is made in
    d = s.decide("s3", T0 + 1)
    assert daily["s3"] == pytest.approx(DAY / d.interval, rel=0.05)
    # the busiest get the most, the silent one the least
    per = [s.decide(n, T0 + 1).interval for n in names]
    assert per == sorted(per)


def test_budget_to_spare_is_not_forced_on_quiet_sources():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=10_000)
    busy(s, "busy", 120, hours=24, end=T0)
    s.add("silent", watching_since=T0 - 30 * DAY)
    assert s.decide("busy", T0, replan=True).interval == 60
    assert s.decide("silent", T0).interval == 3600


def test_fixed_sources_spend_their_share_of_the_budget_first():
    s = Scheduler(floor=1, ceiling=10 * HOUR, budget_per_hour=30)
    s.add("fixed", fixed=180)  # 20 an hour
    busy(s, "a", 40, hours=48, end=T0)
    d = s.decide("a", T0, replan=True)
    assert HOUR / d.interval == pytest.approx(10, rel=0.02)
    f = s.decide("fixed", T0)
    assert f.interval == 180 and f.bound == "fixed" and "fixed in config" in f.reason


def test_a_budget_below_the_ceilings_leaves_every_source_at_its_ceiling():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=1)
    for name in ("a", "b", "c"):
        busy(s, name, 30, hours=24, end=T0)
    for name in ("a", "b", "c"):
        assert s.decide(name, T0, replan=True).interval == 3600


def test_sources_never_polled_take_no_share_yet():
    s = Scheduler(floor=1, ceiling=10 * HOUR, budget_per_hour=12)
    busy(s, "a", 40, hours=48, end=T0)
    s.add("unknown")
    assert s.decide("a", T0, replan=True).interval == pytest.approx(300, rel=0.02)


# ---------------------------------------------------------------------------- hints


def test_a_hint_is_never_undercut():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    busy(s, "wire", 60, hours=24, end=T0)
    s.hints("wire", {"ttl": 300.0})
    d = s.decide("wire", T0)
    assert d.interval == 300 and d.bound == "hint"
    assert d.reason.endswith("hint ttl 5m")


def test_the_largest_hint_counts_and_may_exceed_the_ceiling():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    busy(s, "wire", 60, hours=24, end=T0)
    s.hints("wire", {"max-age": 120.0, "sy": 7200.0})
    d = s.decide("wire", T0)
    assert d.interval == 7200 and "hint sy:updatePeriod 2h" in d.reason


def test_a_hint_counts_for_a_fixed_source_too():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    s.add("fixed", fixed=120, hints={"retry-after": 600.0})
    d = s.decide("fixed", T0)
    assert d.interval == 600 and d.reason == "every 10m: fixed 2m in config, hint Retry-After 10m"


def test_hints_with_a_binding_budget_still_hold():
    s = Scheduler(floor=1, ceiling=10 * HOUR, budget_per_hour=100)
    busy(s, "a", 40, hours=48, end=T0)
    busy(s, "b", 40, hours=48, end=T0)
    s.hints("b", {"max-age": 900.0})
    assert s.decide("b", T0, replan=True).interval == 900


def test_merge_hints():
    old = {"ttl": 600.0, "max-age": 60.0}
    # a 304 without caching headers keeps what the last answers said
    assert merge_hints(old, headers={}, not_modified=True) == old
    # a 304 with them replaces the header hints, and keeps the feed's
    assert merge_hints(old, headers={"expires": 30.0}, not_modified=True) == {
        "ttl": 600.0,
        "expires": 30.0,
    }
    # a 200 replaces both kinds; hints are capped and junk is dropped
    assert merge_hints(old, headers={}, feed={"sy": 10 * DAY}) == {"sy": MAX_HINT}
    assert merge_hints(old, headers={"max-age": -5.0}, feed={}) == {}
    assert merge_hints({"ttl": math.nan, "bogus": 5.0}, headers=None) == {}


# ---------------------------------------------------------------------------- reasons


def test_reason_of_a_busy_hour():
    s = Scheduler(floor=60, ceiling=3600, budget_per_hour=None)
    busy(s, "wire", 15, hours=48, end=T0)
    s.hints("wire", {"ttl": 300.0})
    assert s.decide("wire", T0).reason == "every 5m: 15 new/h, hint ttl 5m"


def test_format_duration():
    assert [format_duration(x) for x in (1, 45, 60, 247, 300, 3600, 5400, 86400, 90000)] == [
        "1s", "45s", "1m", "4m7s", "5m", "1h", "1h30m", "1d", "1d1h",
    ]
