"""Deep-link payloads and button callback data: round trips and Telegram's limits."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import buttons
from bot.deeplinks import follow_link, follow_payload, query_from_payload

ALLOWED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    ("query", "payload"),
    [
        ("eVTOL", "follow-eVTOL"),
        ("low altitude economy", "follow-low_altitude_economy"),
        ("AI-Powered", "follow-AI-Powered"),
        ("华为", "f64-5Y2O5Li6"),
        ('"flying car"', None),  # checked below: encoded, not readable
    ],
)
def test_payloads(query, payload):
    got = follow_payload(query)
    if payload is not None:
        assert got == payload
    assert ALLOWED.match(got)
    assert query_from_payload(got) == query


@given(st.text(min_size=1, max_size=40))
def test_any_short_query_round_trips_within_telegram_limits(query):
    payload = follow_payload(query)
    if payload is None:
        assert len(query.encode("utf-8")) > 40
        return
    assert ALLOWED.match(payload)
    assert query_from_payload(payload) == query


def test_too_long_and_foreign_payloads():
    assert follow_payload("华为" * 30) is None
    assert follow_link("newsbot", "华为" * 30) is None
    assert follow_link("newsbot", "eVTOL") == "https://t.me/newsbot?start=follow-eVTOL"
    assert query_from_payload("ref-123") is None
    assert query_from_payload("f64-!!!") is None
    assert query_from_payload("follow-") is None


def test_callback_data_fits_64_bytes_and_parses_back():
    key = "x" * 100
    keyboard = buttons.alert_keyboard("en", [("Nexperia", key), ("华为" * 50, "k2")])
    datas = [b.callback_data for row in keyboard.inline_keyboard for b in row]
    assert all(len(d.encode()) <= 64 for d in datas)
    assert buttons.parse(datas[0]) == ("uf", buttons.query_hash(key))
    assert buttons.parse(datas[-1]) == ("mute", "1d")
    labels = [b.text for row in keyboard.inline_keyboard for b in row]
    assert labels[0] == "Unfollow Nexperia" and labels[-1] == "Mute 1 day"
    assert len(labels[1]) <= 50
    assert buttons.parse("uf:short") is None and buttons.parse(None) is None
    assert buttons.parse("rm:" + buttons.query_hash("a")) == ("rm", buttons.query_hash("a"))
    assert buttons.list_keyboard("zh", []) is None
    assert buttons.list_keyboard("zh", [("eVTOL", "evtol")]).inline_keyboard[0][0].text == "✖ eVTOL"
