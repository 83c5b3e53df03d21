"""Caixin Global's own English gateway (``getNewsListByCate``), read as the config reads it,
and beside Caixin's listing API: the same story through both is alerted once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import SourceConfig, load_settings
from bot.matching import MatchIndex, parse_query
from bot.poller import Poller
from bot.sources import Fetcher, ParseError, SourceState, parse_body, poll_source
from bot.sources.netguard import FetchPolicy
from tests.fakes.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "sources"
GATEWAY = json.loads((FIX / "caixinglobal_getNewsListByCate.json").read_text("utf-8"))
HOME = json.loads((FIX / "caixin_homeInterface.json").read_text("utf-8"))
NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def example_source(name: str) -> SourceConfig:
    settings = load_settings(ROOT / "config.example.toml", environ={})
    [source] = [s for s in settings.sources if s.name == name]
    return source


def source_toml(source: SourceConfig, url: str) -> str:
    fields = ", ".join(f'{key} = "{path}"' for key, path in source.fields.items())
    return (
        f'[[sources]]\nname = "{source.name}"\ntype = "json"\nurl = "{url}"\n'
        f'items_path = "{source.items_path}"\ntimezone = "{source.timezone}"\n'
        f"fetch_summaries = false\nfields = {{ {fields} }}\n"
    )


def body(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def test_the_gateway_fixture_reads_as_the_example_config_says():
    source = example_source("Caixin Global (gateway)")
    assert "getNewsListByCate" in source.url
    report = parse_body(source, body(GATEWAY), source.url, NOW, "application/json")
    assert len(report.headlines) == 10 and report.skipped == 1  # the item without its url
    first = report.headlines[0]
    assert first.title == "Investors Flock to Chinese eVTOLs Chasing Regulatory Green Lights"
    assert first.link.startswith("https://www.caixinglobal.com/2025-11-20/investors-flock")
    # timestamp 1763604300000 is in milliseconds: 2025-11-20 10:05 in Beijing
    assert first.published == datetime(2025, 11, 20, 2, 5, tzinfo=UTC)
    assert first.summary.startswith("Caixin summary 0 of “Investors")
    assert all(h.published and h.published <= NOW for h in report.headlines)


def test_the_gateway_timestamp_may_come_as_text():
    doc = copy.deepcopy(GATEWAY)
    doc["data"]["list"][0]["timestamp"] = "1763604300000"
    source = example_source("Caixin Global (gateway)")
    report = parse_body(source, body(doc), source.url, NOW)
    assert report.headlines[0].published == datetime(2025, 11, 20, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "answer",
    [
        {"code": 500, "msg": "system error"},
        {"code": 0, "data": {"totalPage": 0}},
        {"code": 0, "data": {"list": "none"}},
    ],
)
def test_an_answer_without_the_list_is_an_error_not_silence(answer):
    source = example_source("Caixin Global (gateway)")
    with pytest.raises(ParseError, match=r"data\.list"):
        parse_body(source, body(answer), source.url, NOW)


async def test_a_changed_gateway_shows_as_a_failing_source():
    source = example_source("Caixin Global (gateway)")
    with FeedServer() as server:
        server.add("/gw", body({"code": 404, "msg": "gone"}), content_type="application/json")
        local = source.model_copy(update={"url": server.url("/gw")})
        async with Fetcher() as fetcher:
            policy = FetchPolicy.for_source(local.url)
            result = await poll_source(fetcher, local, SourceState(), NOW, policy=policy)
    assert result.status == "error" and "data.list" in (result.error or "")


async def test_a_story_through_both_caixin_apis_is_alerted_once(tmp_path, store):
    home_source = example_source("Caixin Global CX Tech")
    gateway_source = example_source("Caixin Global (gateway)")
    home, gateway = copy.deepcopy(HOME), copy.deepcopy(GATEWAY)
    with FeedServer() as server:

        def publish() -> None:
            server.add("/home", body(home), content_type="application/json")
            server.add("/gw", body(gateway), content_type="application/json")

        publish()
        config = tmp_path / "c.toml"
        config.write_text(
            "[polling]\ntimeout_seconds = 3\n"
            f'[storage]\npath = "{tmp_path / "data"}"\n'
            + source_toml(home_source, server.url("/home"))
            + source_toml(gateway_source, server.url("/gw")),
            encoding="utf-8",
        )
        settings = load_settings(config, environ={})
        index = MatchIndex()
        store.upsert_chat(7, kind="private")
        store.add_subscription(7, "Huawei")
        index.add(7, parse_query("Huawei"))
        async with Fetcher(settings.polling) as fetcher:
            poller = Poller(settings, store, index, fetcher, clock=lambda: NOW)
            await poller.poll_all()  # first polls: recorded, nobody alerted
            link = "http://www.caixinglobal.com/2025-11-20/huawei-unveils-a-chip-102386500.html"
            title = "Huawei Unveils a New Chip"
            home["datas"].insert(0, {**home["datas"][0], "nid": 102386500, "link": link,
                                     "desc": title, "time": "2025-11-20 11:50"})
            gateway["data"]["list"].insert(0, {**gateway["data"]["list"][0], "id": 102386500,
                                               "url": link.replace("http:", "https:"),
                                               "title": title, "timestamp": 1763610600000})
            publish()
            results = await poller.poll_all()
    assert [r.status for r in results] == ["ok", "ok"]
    [alert] = store.pending(7)
    assert store.headline(alert.headline_id).title == "Huawei Unveils a New Chip"
