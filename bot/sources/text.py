"""Text and date clean-up shared by every reader.

* ``html_to_text``: markup to plain text, entities decoded exactly once, whitespace collapsed.
* ``clean_title`` / ``clean_text``: the same for titles given as HTML or as plain text.
* ``scrub``: lone UTF-16 surrogates (a Java-style API cutting a text mid-emoji sends
  ``"\\ud83d"``) become U+FFFD; every cleaning helper here applies it, because such a string
  cannot be encoded as UTF-8 (the store refuses it).
* ``cap_summary``: a summary cut to ``SUMMARY_MAX_CHARS`` at a word boundary.
* ``parse_date``: a published time in whatever shape a source gives it, read in the source's
  timezone when it names none; ``None`` when absent, unreadable or in the future.
"""

from __future__ import annotations

import email.utils
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser as HTMLParser

_WS = re.compile(r"\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: summaries longer than this are cut (at a word boundary) when a source is parsed
SUMMARY_MAX_CHARS = 1000
_TAG_HINT = re.compile(r"<[a-zA-Z/!]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
# tags that survive in titles given as plain text (an escaped "<b>" in a feed title)
_STRAY_TAG = re.compile(
    r"</?(?:a|b|i|u|s|em|strong|span|font|br|p|div|sup|sub|small|big|code|mark|strike|img|abbr)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)

#: zones in which a bare "CST" means China Standard Time (+08:00), not US Central
CHINA_ZONES = frozenset(
    {
        "Asia/Shanghai",
        "Asia/Chongqing",
        "Asia/Chungking",
        "Asia/Harbin",
        "Asia/Urumqi",
        "Asia/Kashgar",
        "Asia/Hong_Kong",
        "Asia/Macau",
        "Asia/Macao",
        "Asia/Taipei",
        "PRC",
        "Hongkong",
        "ROC",
    }
)

#: how far ahead of "now" a date may be before it is called a future date and dropped
FUTURE_SLACK = timedelta(minutes=5)


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (so it encodes as UTF-8)."""
    return _SURROGATE.sub("\ufffd", text)


def collapse(text: str) -> str:
    """Whitespace runs (incl. NBSP and newlines) to one space, ends stripped, lone
    surrogates replaced."""
    return _WS.sub(" ", scrub(text).replace("\u00a0", " ")).strip()


def cap_summary(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else cut at the last space of its
    first ``limit - 1`` characters (a hard cut when there is none in their second half, as
    in Chinese text) and ended with "…": never longer than ``limit``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|blockquote|pre|section|article"
    r"|header|footer|aside|nav|figure|figcaption|main)\b[^>]*>",
    re.IGNORECASE,
)


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment: tags gone, scripts/styles dropped, entities decoded once.

    Block elements separate words; inline elements do not ("<b>AT</b>&amp;T" -> "AT&T").
    """
    if not markup:
        return ""
    markup = scrub(markup)
    if not _TAG_HINT.search(markup):
        return collapse(markup)
    tree = HTMLParser(f"<div>{_BLOCK_TAG.sub(' ', markup)}</div>")
    tree.strip_tags(["script", "style", "noscript", "template"])
    root = tree.body or tree.root
    if root is None:
        return ""
    return collapse(root.text(deep=True, separator=""))


def clean_title(value: str | None, *, is_html: bool = True) -> str:
    """A one-line title without markup.

    ``is_html``: the value is HTML (feedparser's ``text/html``, an HTML page): decode it once.
    Otherwise it is already text: only stray formatting tags are removed, nothing is decoded
    (so "AT&amp;T" stays as written, because the source wrote exactly that).
    """
    if not value:
        return ""
    return html_to_text(value) if is_html else clean_text(_STRAY_TAG.sub("", value))


def clean_text(value: str | None) -> str:
    """Plain text (nothing decoded): whitespace collapsed, lone surrogates replaced."""
    return collapse(value) if value else ""


def source_zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return UTC


# ---------------------------------------------------------------------------------------------
# dates

_ZONE_ABBR: dict[str, int] = {  # minutes east of UTC
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "BST": 60,
    "CET": 60,
    "CEST": 120,
    "JST": 540,
    "KST": 540,
    "HKT": 480,
    "SGT": 480,
    "IST": 330,
    "AEST": 600,
    "AEDT": 660,
}
_TRAILING_ZONE = re.compile(r"\s+\(?([A-Z]{1,5})\)?\s*$")
_NUMERIC = re.compile(r"^\d{9,14}(\.\d+)?$")
_CN_MONTH_DAY = re.compile(
    r"^(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})日\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?$"
)
_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%b %d, %Y %I:%M %p",  # Caixin article page: "Dec 20, 2019 02:35 PM"
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%a, %d %b %Y %H:%M:%S",
    "%a, %d %b %Y %H:%M",
)


def _cst_minutes(zone_name: str) -> int:
    return 480 if zone_name in CHINA_ZONES else -360


def _zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", "") or str(tz)


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    return naive.replace(tzinfo=tz)


def _parse_inner(value: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The first reading of ``value`` that works, most specific first."""
    text = collapse(value)
    if not text:
        return None
    for reader in (_epoch, _cn_month_day, _iso):
        parsed = reader(text, tz, now)
        if parsed is not None:
            return parsed
    return _with_zone_or_rfc822(text, tz) or _feedparser_date(text)


def _epoch(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """Seconds (or milliseconds) since the epoch."""
    if not _NUMERIC.match(text):
        return None
    number = float(text)
    if number > 1e11:  # epoch milliseconds
        number /= 1000.0
    return datetime.fromtimestamp(number, UTC)


def _cn_month_day(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """``2026年11月30日 08:15`` or ``11月30日 08:15`` (no year: the latest not in the future)."""
    m = _CN_MONTH_DAY.match(text)
    if not m:
        return None
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    month, day = int(m["m"]), int(m["d"])
    if m["y"]:
        return datetime(int(m["y"]), month, day, hour, minute, second, tzinfo=tz)
    year = now.astimezone(tz).year
    try:
        guess = datetime(year, month, day, hour, minute, second, tzinfo=tz)
        if guess > now + FUTURE_SLACK:
            guess = guess.replace(year=year - 1)
    except ValueError:  # 29 Feb in a non-leap year
        guess = datetime(year - 1, month, day, hour, minute, second, tzinfo=tz)
    return guess


def _iso(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """ISO 8601, with or without an offset ("Z" included)."""
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else _localize(parsed, tz)


def _with_zone_or_rfc822(text: str, tz: tzinfo) -> datetime | None:
    """The site formats of ``_FORMATS``, then RFC 822 / 2822 (RSS).  A trailing zone
    abbreviation is ours to read: "CST" depends on the source's zone."""
    offset_minutes: int | None = None
    core = text
    zm = _TRAILING_ZONE.search(text)
    if zm and zm.group(1) in _ZONE_ABBR:
        abbr = zm.group(1)
        offset_minutes = _cst_minutes(_zone_name(tz)) if abbr == "CST" else _ZONE_ABBR[abbr]
        core = text[: zm.start()]
    zone = timezone(timedelta(minutes=offset_minutes)) if offset_minutes is not None else None
    for fmt in _FORMATS:
        try:
            naive = datetime.strptime(core, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=zone) if zone is not None else _localize(naive, tz)
    tup = email.utils.parsedate_tz(core if zone is not None else text)
    if tup is None or tup[0] <= 0:
        return None
    base = datetime(*tup[:6])  # type: ignore[misc]
    if zone is not None:
        return base.replace(tzinfo=zone)
    has_numeric_zone = re.search(r"[+-]\d{4}\s*$", text) is not None
    named_utc = re.search(r"\b(GMT|UT|UTC)\b", text) is not None
    if tup[9] is not None and (has_numeric_zone or tup[9] != 0 or named_utc):
        return base.replace(tzinfo=timezone(timedelta(seconds=tup[9])))
    return _localize(base, tz)


def _feedparser_date(text: str) -> datetime | None:
    """Last resort: feedparser's date handlers (W3C-DTF variants, Korean, Greek, ...); they
    read a zone-less time as UTC, which is the best that can be done here."""
    import feedparser  # local: only needed for odd formats

    st = feedparser.datetimes._parse_date(text)
    if st is None:
        return None
    year, month, day, hour, minute, second = st[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def parse_date(
    value: str | int | float | time.struct_time | datetime | None,
    tz: tzinfo | str | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """A timezone-aware publication time, or ``None``.

    ``tz`` is the source's zone, used for times that name none; ``now`` rejects future dates
    (more than ``FUTURE_SLACK`` ahead) and fixes the year of "MM月DD日 HH:MM".
    """
    zone = source_zone(tz) if isinstance(tz, str) or tz is None else tz
    now = now or datetime.now(UTC)
    if value is None or value == "":
        return None
    result: datetime | None
    try:
        if isinstance(value, datetime):
            result = value if value.tzinfo else _localize(value, zone)
        elif isinstance(value, time.struct_time):
            result = datetime(*value[:6], tzinfo=UTC)
        elif isinstance(value, bool):
            return None
        elif isinstance(value, int | float):
            number = float(value)
            if number > 1e11:
                number /= 1000.0
            result = datetime.fromtimestamp(number, UTC)
        else:
            result = _parse_inner(str(value), zone, now)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    if result is None:
        return None
    if result > now + FUTURE_SLACK:
        return None
    if result.year < 1995:  # epoch zero, "0000-00-00" and friends
        return None
    return result
