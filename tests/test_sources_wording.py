"""Every way /addsource can end has its own reply, in English and in Chinese."""

from __future__ import annotations

import string

import pytest

from bot.chat_sources import REASONS
from bot.i18n import LANGUAGES, TEXTS, t

#: what bot.handlers.sources.refusal_text fills in
VALUES = {"detail": "HTTP 404", "limit": 17, "title": "Caixin", "slug": "caixin"}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_refusal_reason_has_its_own_reply(lang: str):
    replies = {reason: t(lang, f"addsource_refused_{reason}", **VALUES) for reason in REASONS}
    assert len(set(replies.values())) == len(REASONS)  # no two reasons worded alike
    for reason in REASONS:
        template = TEXTS[f"addsource_refused_{reason}"][lang]
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert fields <= set(VALUES), (reason, fields)
    assert "17" in replies["limit_reached"]
    assert "caixin" in replies["already_added"]
    assert "allow_hosts" in replies["forbidden_address"]
    assert "HTTP 404" in replies["unreachable"]


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_added_text_exists(lang: str):
    added = t(lang, "addsource_added", title="TechNode", slug="technode", count=20)
    assert "technode" in added and "20" in added
