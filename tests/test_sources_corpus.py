"""Every real feed of ../shared/corpus/feeds parses, with titles and absolute links.

Prints items recovered and losses per feed (run with ``-s`` to see the table).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.feeds import parse_feed

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "feeds"
FILES = sorted(CORPUS.glob("*")) if CORPUS.is_dir() else []
NOW = datetime(2026, 11, 26, tzinfo=UTC)
_ITEM = re.compile(rb"<(?:[A-Za-z]+:)?(?:item|entry)[\s>]")


def _expected_items(body: bytes) -> int:
    if body.lstrip()[:1] == b"{":
        import json

        return len(json.loads(body).get("items", []))
    return len(_ITEM.findall(body))


@pytest.mark.skipif(not FILES, reason="../shared/corpus/feeds is absent")
def test_corpus_feeds_parse() -> None:
    rows = []
    total = lost = 0
    for path in FILES:
        body = path.read_bytes()
        report = parse_feed(body, f"https://corpus.invalid/{path.name}", path.stem, "UTC", NOW)
        expected = _expected_items(body)
        for h in report.headlines:
            assert h.title.strip(), (path.name, h)
            assert h.link.startswith(("http://", "https://")), (path.name, h.link)
            assert "<" not in h.title or "&lt;" not in h.title
        got = len(report.headlines)
        total += got
        lost += max(0, expected - got)
        rows.append(f"{path.name:24} items {got:4} / {expected:4}  skipped {report.skipped}")
        # the parser recovers every item a naive count of <item>/<entry> tags finds
        assert got + report.skipped >= expected, (path.name, got, expected, report.reasons)
    print("\n" + "\n".join(rows) + f"\nTOTAL recovered {total}, lost {lost}, feeds {len(FILES)}")
    assert total > 0
