"""Sources a chat adds for itself (issue 14): checked at once, private to the chats that
added them, polled like the operator's sources (one fetch per URL however many chats).

* ``discover.py``: is a fetched body a feed, or a page naming feeds (autodiscovery)?
* ``own.py``: a chat source's ``SourceConfig`` and its headlines' own namespace of ids;
* ``add.py``: ``add_source`` / ``remove_source``, the one way ``/addsource``, ``/removesource``
  and an OPML import change a chat's sources;
* ``opml.py``: reads and writes OPML files (not imported here).

No Telegram here; the replies are the handlers'.
"""

from bot.chat_sources.add import (
    REASONS,
    AddOutcome,
    RemoveOutcome,
    Services,
    add_source,
    find_own,
    normalize_url,
    queries_scoped_to,
    remove_source,
)
from bot.chat_sources.discover import Candidate, Discovery, discover
from bot.chat_sources.own import is_own_id, own_headlines, source_config

__all__ = [
    "REASONS",
    "AddOutcome",
    "Candidate",
    "Discovery",
    "RemoveOutcome",
    "Services",
    "add_source",
    "discover",
    "find_own",
    "is_own_id",
    "normalize_url",
    "own_headlines",
    "queries_scoped_to",
    "remove_source",
    "source_config",
]
