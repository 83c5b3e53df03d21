"""A chat's own source as the poller and the check see it: its config, its headlines' identity.

* ``source_config(entry)``: the ``SourceConfig`` a chat's own source is polled with: named by
  its state name (``chat:<slug>``), type ``rss`` (RSS, Atom, RDF and JSON Feed all read by
  ``parse_feed``), no fixed interval (paced like the operator's sources).
* ``renamed(entry, headlines)``: what ``discover`` parsed (before the source had a name) as
  a poll of the source parses it, so the check's record and the later polls agree;
* ``own_headlines(entry, headlines)``: the headlines of a chat's own source in a namespace of
  their own.  A headline's ``id`` and ``url_key`` decide what counts as seen across *all*
  sources; a chat's private source must not make another chat miss a headline of the
  operator's sources (or of its own) because it saw the story first, nor leak it into
  ``/latest``.  So its ids and URL keys are prefixed with ``chat:<slug>#`` (a guid id already
  is: the parser names the source by its state name), ``source`` is the entry's title and
  ``source_id`` its slug.  The check of ``/addsource`` and every later poll go through here,
  so the first poll's ids are the ids every later poll compares with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from bot.chat_sources.discover import PARSED_AS
from bot.config import SourceConfig
from bot.models import Headline
from bot.sources.identity import headline_id
from bot.sources.registry import CHAT_STATE_PREFIX, SourceEntry

__all__ = ["is_own_id", "own_headlines", "renamed", "source_config"]


def source_config(entry: SourceEntry) -> SourceConfig:
    """How the poller fetches and parses the chat source ``entry``."""
    return SourceConfig(name=entry.state_name, url=entry.url, type="rss")


def _prefix(entry: SourceEntry) -> str:
    return f"{entry.state_name}#"


def is_own_id(headline_id: str) -> bool:
    """Is this the id of a headline of some chat's own source?"""
    return headline_id.startswith(CHAT_STATE_PREFIX)


def own_headlines(
    entry: SourceEntry, headlines: Iterable[Headline], now: datetime | None = None
) -> list[Headline]:
    """``headlines`` (parsed under ``source_config(entry)``) in the entry's namespace; with
    ``now``, undated ones dated ``now`` (as the poller dates new headlines)."""
    prefix = _prefix(entry)
    out = []
    for h in headlines:
        out.append(
            replace(
                h,
                id=h.id if h.id.startswith(prefix) else prefix + h.id,
                url_key=prefix + h.url_key if h.url_key else "",
                source=entry.title or entry.slug,
                source_id=entry.slug,
                published=h.published or now,
            )
        )
    return out


def renamed(entry: SourceEntry, headlines: Iterable[Headline]) -> list[Headline]:
    """Headlines ``discover`` parsed (under ``PARSED_AS``) as a poll of the source gives them:
    an id made from the source's name (a guid's, or a title digest's) is made again from the
    entry's; then :func:`own_headlines`."""
    parsed = f"{PARSED_AS}#"
    out = []
    for h in headlines:
        if h.id.startswith(parsed + "sha1:"):
            h = replace(h, id=headline_id(entry.state_name, None, h.link, h.title))
        elif h.id.startswith(parsed):
            h = replace(h, id=f"{entry.state_name}#{h.id[len(parsed):]}")
        out.append(h)
    return own_headlines(entry, out)
