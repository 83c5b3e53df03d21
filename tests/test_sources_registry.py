"""The source registry: slugs, renames, removed sources, chat sources, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.core import build_registry
from bot.sources.registry import CHAT, Registry, SourceEntry, slugify, url_key
from bot.store import Store


def test_slugify_is_short_ascii_and_hyphenated() -> None:
    assert slugify("SCMP Tech!") == "scmp-tech"
    assert slugify("Caixin Global — Tech") == "caixin-global-tech"
    assert slugify("Huawéi") == "huawei"
    assert slugify("新闻") == ""
    assert len(slugify("x" * 80)) <= 24


def test_new_slugs_are_unique_case_insensitively_and_fall_back_to_the_host() -> None:
    reg = Registry([SourceEntry("technode", "https://a/", "TechNode")])
    assert reg.new_slug("TechNode", "https://b/") == "technode-2"
    assert reg.new_slug("新闻", "https://www.example.com/feed") == "example"
    assert reg.get("TECHNODE") is not None


def test_rename_keeps_the_slug_url_change_keeps_it_removal_marks_gone() -> None:
    reg = Registry()
    [a, b] = reg.reconcile([("Caixin", "https://c/feed"), ("HN", "https://hn/rss")])
    assert (a.slug, b.slug) == ("caixin", "hn")
    # renamed in the config (same URL): same slug, new title
    [renamed] = reg.reconcile([("Caixin Global", "https://c/feed"), ("HN", "https://hn/rss")])
    assert renamed.slug == "caixin" and renamed.title == "Caixin Global"
    # same name, new URL: still the same source
    [moved] = reg.reconcile([("Caixin Global", "https://c2/feed"), ("HN", "https://hn/rss")])
    assert moved.slug == "caixin" and moved.url == "https://c2/feed"
    # HN left the config: kept, marked gone, invisible, not reused
    [gone] = reg.reconcile([("Caixin Global", "https://c2/feed")])
    assert gone.slug == "hn" and gone.gone
    assert [e.slug for e in reg.visible(1)] == ["caixin"]
    assert reg.new_slug("HN", "https://x/") == "hn-2"
    # back in the config: the same slug again
    [back] = reg.reconcile([("Caixin Global", "https://c2/feed"), ("HN", "https://hn/rss")])
    assert back.slug == "hn" and not back.gone
    assert reg.reconcile([("Caixin Global", "https://c2/feed"), ("HN", "https://hn/rss")]) == []


def test_chat_sources_are_private_and_found_by_url() -> None:
    entry = SourceEntry("blog", "https://Blog.example/feed/", "Blog", CHAT, chats=frozenset({7}))
    reg = Registry([entry])
    assert reg.for_url("https://blog.example/feed") is entry
    assert url_key("http://BLOG.example/feed/#x") == url_key("https://blog.example/feed")
    assert [e.slug for e in reg.visible(7)] == ["blog"]
    assert reg.visible(8) == []
    reg.move_chat(7, -1007)
    assert reg.own(7) == [] and [e.slug for e in reg.own(-1007)] == ["blog"]
    assert SourceEntry.from_dict(entry.to_dict()) == entry


def _settings(tmp_path: Path, sources: list[tuple[str, str]]) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"path": str(tmp_path / "data")},
            "sources": [{"name": n, "url": u} for n, u in sources],
        }
    )


def test_slugs_survive_restarts_and_renames_through_the_store(tmp_path: Path) -> None:
    path = tmp_path / "data"
    with Store.open(path) as store:
        reg = build_registry(store, _settings(tmp_path, [("Caixin", "https://c/feed")]))
        assert [e.slug for e in reg.operators()] == ["caixin"]
    with Store.open(path) as store:
        settings = _settings(tmp_path, [("Caixin Global Tech", "https://c/feed")])
        reg = build_registry(store, settings)
        assert [(e.slug, e.title) for e in reg.operators()] == [("caixin", "Caixin Global Tech")]
    with Store.open(path) as store:  # the rename was stored
        entries = store.registry_entries()
        assert [(e["slug"], e["name"]) for e in entries] == [("caixin", "Caixin Global Tech")]


@pytest.mark.parametrize("variant", [
    "https://technode.com:443/feed/", "http://technode.com:80/feed", "https://TechNode.com/feed#top",
    "https://technode.com/feed?utm_source=tg&utm_medium=bot", "https://technode.com/feed?fbclid=x",
])
def test_one_feed_under_another_spelling_is_the_same_feed(variant: str) -> None:
    """A default port, a tracking parameter or a fragment make no other feed (a chat added
    the demo feed twice with :443 and got each headline twice)."""
    assert url_key(variant) == url_key("https://technode.com/feed")
    assert url_key("https://technode.com/feed?page=2") != url_key("https://technode.com/feed")
    assert url_key("https://technode.com/feed?_gallery=2") != url_key("https://technode.com/feed")
    assert url_key("https://technode.com:8443/feed") != url_key("https://technode.com/feed")
