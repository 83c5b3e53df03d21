"""The callback data of /sources and /addsource's buttons (bot.buttons) and the headlines a
day /sources counts (Store.headline_counts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import buttons
from bot.models import Headline


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ("sf:caixin", ("sf", "caixin")),
        ("sr:scmp-tech", ("sr", "scmp-tech")),
        ("sy:scmp-tech", ("sy", "scmp-tech")),  # yes, remove it
        ("sk:scmp-tech", ("sk", "scmp-tech")),  # keep it
        ("sy:Scmp", None),
        ("sa:AbC_-123:2", ("sa", "AbC_-123:2")),
        ("sf:" + "a" * 24, ("sf", "a" * 24)),
        ("sf:" + "a" * 25, None),  # longer than any slug
        ("sf:Caixin", None),  # slugs are lower case
        ("sf:", None),
        ("sr:../x", None),
        ("sa:token", None),  # no feed number
        ("sa:tok:x", None),
        ("zz:caixin", None),
    ],
)
def test_source_buttons_parse(data: str, parsed: tuple[str, str] | None):
    assert buttons.parse(data) == parsed


def test_every_source_button_fits_telegrams_64_bytes():
    longest = f"{buttons.REMOVE_SOURCE}:{'a' * 24}"
    choice = f"{buttons.CHOOSE_FEED}:{'A' * 16}:99"
    assert len(longest.encode()) <= 64 and len(choice.encode()) <= 64


def test_headline_counts_by_source_since(store):
    now = datetime.now(UTC)

    def h(n: int, source_id: str, hours: float) -> Headline:
        return Headline(source="Name " + source_id, id=f"{source_id}-{n}", title=f"T {n}",
                        link=f"https://x.example/{source_id}/{n}",
                        published=now - timedelta(hours=hours), source_id=source_id)

    store.add_headlines([h(1, "caixin", 1), h(2, "caixin", 30), h(3, "caixin", 100),
                         h(4, "technode", 2)])
    counts = store.headline_counts(now - timedelta(days=3))
    assert counts == {"caixin": 2, "technode": 1}
