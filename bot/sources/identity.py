"""Who a headline is: its id and the canonical link that dedups it across sources.

* ``canonical_link(url)``: scheme and host lowercased, default port, fragment and tracking
  parameters (``utm_*``, ``fbclid``, ``gclid``, ...) dropped, other parameters kept in order.
* ``headline_id(source, guid, link, title)``: ``"<source>#<guid>"`` when the item has a
  guid/id, else the canonical link, else ``"<source>#sha1:<hash of source and title>"``.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bot.models import Headline
from bot.sources.text import cap_summary, scrub

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "ncid",
        "sr_share",
        "cmpid",
        "_ga",
        "_gl",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS


def absolute_link(link: str | None, base: str | None) -> str:
    """``link`` resolved against ``base``; ``""`` unless the result is an http(s) URL."""
    if not link:
        return ""
    link = link.strip()
    try:
        resolved = urljoin(base or "", link)
        parts = urlsplit(resolved)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return resolved


def canonical_link(url: str) -> str:
    """The dedup key of a link (``""`` for anything that is not an absolute http(s) URL)."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return ""
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def headline_id(source: str, guid: str | None, link: str | None, title: str | None) -> str:
    guid = (guid or "").strip()
    if guid:
        return f"{source}#{guid}"
    key = canonical_link(link or "")
    if key:
        return key
    digest = hashlib.sha1(f"{source}\n{(title or '').strip()}".encode()).hexdigest()
    return f"{source}#sha1:{digest}"


def identified_headline(
    source: str, guid: str | None, title: str, link: str, **fields: Any
) -> Headline:
    """A ``Headline`` whose ``id`` and ``url_key`` follow the identity rules above; every
    reader builds its headlines through here.

    Every text is scrubbed of lone surrogates (see ``text.scrub``) and the summary is capped
    (``text.cap_summary``), whatever the reader did before.
    """
    guid, title, link = scrub(guid or ""), scrub(title), scrub(link)
    if "summary" in fields:
        fields["summary"] = cap_summary(scrub(fields["summary"] or ""))
    if "tags" in fields:
        fields["tags"] = tuple(scrub(tag) for tag in fields["tags"])
    return Headline(
        source=source,
        id=headline_id(source, guid, link, title),
        title=title,
        link=link,
        url_key=canonical_link(link),
        **fields,
    )
