"""JSON listing APIs read through a field mapping (this is how Caixin Global is read).

``source.items_path`` is a dotted path to the item list (``""`` or ``"."``: the top level).
``source.fields`` maps a Headline field to an item path:

* ``"a.b"``: nested key; ``"a[].b"``: ``b`` of every element of list ``a``; ``"a[0].b"``: index;
* ``"x|y"``: the first of several paths that gives a non-empty value;
* ``"path=value"``: a boolean, true when the value at ``path`` equals ``value`` (as text).

Known keys: ``id``, ``title``, ``summary``, ``link``, ``published``, ``tags`` (a list or a
space/comma separated string), ``keywords`` (extra tags, space separated), ``paid`` (bool).
A JSONP body (``callback({...});``) is unwrapped first.  Caixin specifics: its links are
upgraded to https, ``time`` may be "YYYY-MM-DD HH:MM[:SS]", "MM月DD日 HH:MM" or epoch ms, all
Beijing time (the source's ``timezone``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from bot.sources.feeds import ParseError, ParseReport
from bot.sources.identity import absolute_link, identified_headline
from bot.sources.text import clean_title, collapse, html_to_text, parse_date

_JSONP = re.compile(r"^\s*(?:/\*\*/)?\s*[A-Za-z_$][\w$.]*\s*\((?P<body>.*)\)\s*;?\s*$", re.DOTALL)
_SEGMENT = re.compile(r"^(?P<key>[^\[\]]*)(?P<index>\[(?P<n>\d*)\])?$")
#: hosts whose http links are upgraded to https
HTTPS_HOSTS = ("caixin.com", "caixinglobal.com")


def strip_jsonp(text: str) -> str:
    """``cb({...});`` -> ``{...}``; anything else is returned unchanged."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        return stripped
    match = _JSONP.match(stripped)
    return match.group("body").strip() if match else stripped


def load_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="strict") if body else ""
    try:
        return json.loads(strip_jsonp(text))
    except ValueError as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc


def resolve(data: Any, path: str) -> Any:
    """The value at ``path`` (syntax in the module doc); ``None`` when absent."""
    for alternative in path.split("|"):
        alternative = alternative.strip()
        if "=" in alternative:
            where, expected = alternative.split("=", 1)
            value = _walk(data, where.strip())
            if value is None or value == []:
                continue
            return str(value).strip() == expected.strip()
        value = _walk(data, alternative)
        if value not in (None, "", []):
            return value
    return None


def _walk(data: Any, path: str) -> Any:
    if path in ("", "."):
        return data
    parts = path.split(".")
    for i, part in enumerate(parts):
        match = _SEGMENT.match(part)
        if match is None:
            return None
        key = match["key"]
        if key:
            if not isinstance(data, dict) or key not in data:
                return None
            data = data[key]
        if match["index"] is not None:
            if not isinstance(data, list):
                return None
            if match["n"]:
                n = int(match["n"])
                data = data[n] if n < len(data) else None
                continue
            rest = ".".join(parts[i + 1 :])
            values = [_walk(element, rest) if rest else element for element in data]
            return [v for v in values if v not in (None, "", [])]
    return data


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    return str(value)


def _tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        out: list[str] = []
        for element in value:
            out.extend(
                _tag_list(element) if isinstance(element, list) else [collapse(_as_text(element))]
            )
        return [t for t in out if t]
    return [t for t in re.split(r"[\s,;，；]+", str(value)) if t]


def upgrade_link(link: str) -> str:
    if link.startswith("http://"):
        host = link[7:].split("/", 1)[0].split(":", 1)[0].lower()
        if any(host == h or host.endswith("." + h) for h in HTTPS_HOSTS):
            return "https://" + link[7:]
    return link


def parse_json_api(
    body: bytes,
    url: str,
    source: str,
    fields: dict[str, str],
    items_path: str = "datas",
    timezone: str = "UTC",
    now: datetime | None = None,
) -> ParseReport:
    data = load_json(body)
    items = _walk(data, items_path) if items_path else data
    if isinstance(data, list) and items is None:
        items = data
    if not isinstance(items, list):
        raise ParseError(f"no item list at {items_path!r}")
    report = ParseReport()
    for item in items:
        if not isinstance(item, dict):
            report.skipped += 1
            continue
        f = fields.get
        title = clean_title(_as_text(resolve(item, f("title", "title"))), is_html=True)
        raw_link = _as_text(resolve(item, f("link", "link|url")))
        link = upgrade_link(absolute_link(raw_link, url))
        summary = html_to_text(_as_text(resolve(item, f("summary", "summary"))))
        if not link or not title:
            report.skipped += 1
            report.reasons.append("no usable link" if not link else f"no title: {link}")
            continue
        guid = _as_text(resolve(item, fields["id"])) if "id" in fields else ""
        published = parse_date(resolve(item, f("published", "published")), timezone, now)
        tags: list[str] = []
        for key in ("tags", "keywords"):
            if key in fields:
                for tag in _tag_list(resolve(item, fields[key])):
                    if tag not in tags:
                        tags.append(tag)
        paid = bool(resolve(item, fields["paid"])) if "paid" in fields else False
        report.headlines.append(
            identified_headline(
                source,
                guid,
                title,
                link,
                published=published,
                summary=summary,
                tags=tuple(tags),
                paid=paid,
            )
        )
    return report
