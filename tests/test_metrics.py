"""Metrics: one registry per bot, the counters, the gauges, and /healthz and /metrics served
over real HTTP on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from bot.config import ConfigError, load_settings
from bot.metrics import Metrics, MetricsServer
from tests.fakes.rawhttp import send_head


def test_each_metrics_has_its_own_registry():
    a, b = Metrics(), Metrics()
    a.poll("Tech", "ok", items=3, new=1)
    assert a.value("polls_total", source="Tech", status="ok") == 1
    assert b.value("polls_total", source="Tech", status="ok") == 0
    assert a.registry is not b.registry


def test_counters():
    m = Metrics()
    m.poll("Tech", "ok", items=5, new=2)
    m.poll("Tech", "not_modified")
    m.poll("Down", "error")
    m.queued(3)
    m.queued(0)
    m.sent(messages=1, alerts=3)
    m.flood()
    m.error("handler")
    assert m.value("polls_total", source="Tech", status="ok") == 1
    assert m.value("polls_total", source="Tech", status="not_modified") == 1
    assert m.value("polls_total", source="Down", status="error") == 1
    assert m.value("items_total", source="Tech") == 5
    assert m.value("new_items_total", source="Tech") == 2
    assert m.value("alerts_queued_total") == 3
    assert m.value("messages_sent_total") == 1
    assert m.value("alerts_delivered_total") == 3
    assert m.value("telegram_429_total") == 1
    assert m.value("errors_total", kind="source") == 1  # the failed poll
    assert m.value("errors_total", kind="handler") == 1


def test_error_tally_mirrors_every_increment():
    m = Metrics()
    tally = m.error_tally("delivery")
    tally["forbidden"] += 1
    tally["forbidden"] += 1
    tally["network"] += 1
    tally.update({"network": 2})
    assert dict(tally) == {"forbidden": 2, "network": 3}
    assert m.value("errors_total", kind="delivery_forbidden") == 2
    assert m.value("errors_total", kind="delivery_network") == 3


def test_gauges_are_read_at_scrape_time():
    m = Metrics()
    assert b"newsbot_chats " not in m.exposition()  # nothing tracked yet
    state = {"chats": 2, "chats_active": 1, "subscriptions": 5, "outbox_pending": 0}
    m.track(lambda: state)
    text = m.exposition().decode()
    assert "newsbot_chats 2.0" in text
    assert "newsbot_chats_active 1.0" in text
    assert "newsbot_subscriptions 5.0" in text
    assert "newsbot_outbox_pending 0.0" in text
    state["outbox_pending"] = 7
    assert "newsbot_outbox_pending 7.0" in m.exposition().decode()


def test_a_failing_gauge_reader_does_not_fail_the_scrape():
    m = Metrics()
    m.poll("Tech", "ok")

    def closed() -> dict[str, float]:
        raise RuntimeError("the store is closed")

    m.track(closed)
    text = m.exposition().decode()
    assert 'newsbot_polls_total{source="Tech",status="ok"} 1.0' in text
    assert "newsbot_chats " not in text


def test_metrics_config_defaults_and_limits(tmp_path):
    settings = load_settings(None, environ={})
    assert settings.metrics.enabled is True
    assert settings.metrics.listen == "127.0.0.1"
    assert settings.metrics.port == 9464
    path = tmp_path / "c.toml"
    path.write_text('[metrics]\nlisten = "0.0.0.0"\nport = 0\n')
    assert load_settings(path, environ={}).metrics.port == 0
    path.write_text("[metrics]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings(path, environ={})


@pytest.fixture
async def served():
    """A MetricsServer on an ephemeral 127.0.0.1 port whose health a test can switch."""
    metrics = Metrics()
    state = {"ok": True}
    server = MetricsServer(
        metrics, lambda: (state["ok"], {"mode": "polling"}), listen="127.0.0.1", port=0
    )
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=5) as client:
        yield metrics, state, server, client
    await server.stop()


async def test_healthz_200_then_503(served):
    _metrics, state, server, client = served
    assert server.port != 0
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok", "mode": "polling"}
    state["ok"] = False
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_metrics_endpoint_speaks_the_prometheus_text_format(served):
    metrics, _state, _server, client = served
    metrics.poll("Caixin", "ok", items=20, new=4)
    metrics.sent(2, 2)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE newsbot_polls_total counter" in text
    assert 'newsbot_polls_total{source="Caixin",status="ok"} 1.0' in text
    assert 'newsbot_items_total{source="Caixin"} 20.0' in text
    assert 'newsbot_new_items_total{source="Caixin"} 4.0' in text
    assert "newsbot_messages_sent_total 2.0" in text
    assert "newsbot_telegram_429_total 0.0" in text
    assert (await client.get("/nothing")).status_code == 404


async def test_metrics_endpoint_speaks_openmetrics_when_asked(served):
    metrics, _state, _server, client = served
    metrics.flood()
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert "newsbot_telegram_429_total 1.0" in response.text
    assert response.text.endswith("# EOF\n")


async def test_stopped_server_refuses_connections(served):
    _metrics, _state, server, client = served
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        await client.get("/healthz")


async def test_a_taken_port_raises_oserror(served):
    _metrics, _state, server, _client = served
    other = MetricsServer(Metrics(), lambda: (True, {}), listen="127.0.0.1", port=server.port)
    with pytest.raises(OSError):
        await other.start()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/metrics", 405), ("PUT", "/healthz", 405), ("POST", "/upload", 404)],
)
async def test_a_request_with_a_body_is_answered_from_its_headers(served, method, path, status):
    # 100 MB announced, not one byte sent: a server that reads bodies would wait for it
    _metrics, _state, server, _client = served
    answer = await send_head(
        server.port, method, path, {"Content-Length": "100000000", "Content-Type": "text/plain"}
    )
    assert answer.status == status
    assert answer.closed and answer.seconds < 1.0


async def test_head_answers_without_a_body(served):
    _metrics, _state, _server, client = served
    for path in ("/healthz", "/metrics"):
        response = await client.head(path)
        assert response.status_code == 200 and response.content == b""
    assert (await client.get("/healthz")).json()["status"] == "ok"  # GET still works
