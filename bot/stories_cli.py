"""The ``stories`` command: which headlines the same-story rule folds together.

``python -m bot stories --input FILE [--json]`` reads one JSON headline per line (``source``
and ``title`` required; ``summary``, ``published`` in ISO 8601 and ``link`` optional; ``-``
reads standard input; UTF-8, a byte order mark allowed), takes them in ``published`` order
and prints each back with its ``story``: headlines judged the same story share it.  Lone
surrogates (``"\\ud83d"``, a cut emoji) are read as U+FFFD, as the bot reads them.  It is
exactly the rule the bot folds alerts with.  A bad line (too deeply nested JSON too) stops
the command with an error naming it, before anything is printed.

``python -m bot stories [--json]`` (no ``--input``) lists, for operators, the stories the bot
has filed in the last ``[stories] window_hours`` (72): each with its reports, oldest first,
their sources, times, titles and links.  It reads the store the config names without locking
or writing it, so it works beside the running bot (a moment behind it, at worst).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.models import Headline, utcnow
from bot.sources.text import scrub
from bot.stories import DEFAULT_RULE, Rule, assign, taken_order

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["InputError", "Report", "parse_lines", "run_stories", "stored_stories"]

EXIT_INPUT = 2
EXIT_STORE = 3


class InputError(ValueError):
    """A line of the input is not a headline; the message names the line."""


@dataclass(frozen=True, slots=True)
class Report:
    """One input headline."""

    source: str
    title: str
    summary: str = ""
    published: datetime | None = None
    link: str = ""
    record: dict[str, Any] | None = None  # the line as read, printed back


def _text(record: dict[str, Any], key: str, where: str, required: bool) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}: missing {key!r} (needed: source and title)")
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise InputError(f"{where}: {key!r} is empty")
    return scrub(value)  # a lone surrogate (a cut emoji) as the bot reads it: U+FFFD


def _published(record: dict[str, Any], where: str) -> datetime | None:
    value = record.get("published")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: 'published' must be an ISO 8601 string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{where}: 'published' is not an ISO 8601 time: {value!r} "
            "(example: 2025-10-21T08:00:00+08:00)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_lines(lines: Iterable[str], name: str = "input") -> list[Report]:
    """The headlines of ``lines`` (blank lines skipped); raises :class:`InputError`."""
    reports = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise InputError(f"{where}: not JSON (nested too deeply)") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}: not a JSON object")
        reports.append(
            Report(
                source=_text(record, "source", where, True),
                title=_text(record, "title", where, True),
                summary=_text(record, "summary", where, False),
                published=_published(record, where),
                link=_text(record, "link", where, False),
                record=record,
            )
        )
    return reports


def _read(path: str) -> tuple[list[str], str]:
    try:
        if path == "-":
            return sys.stdin.read().removeprefix("\ufeff").splitlines(), "stdin"
        return Path(path).read_text(encoding="utf-8-sig").splitlines(), path
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def run_stories(path: str | None, *, as_json: bool, rule: Rule = DEFAULT_RULE,
                out: TextIO | None = None, settings: Settings | None = None) -> int:
    """Print every headline of ``path`` with its story (without ``path``: the stories in the
    store of ``settings``); the exit status."""
    out = out or sys.stdout
    if path is None:
        if settings is None:
            print("newsbot: stories needs --input FILE, or a config whose store to read",
                  file=sys.stderr)
            return EXIT_INPUT
        return stored_stories(settings, as_json=as_json, out=out)
    try:
        lines, name = _read(path)
        reports = parse_lines(lines, name)
    except InputError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_INPUT
    stories = assign(reports, rule)
    order, _ = taken_order(reports)
    for i in order:
        report, story = reports[i], stories[i]
        if as_json:
            line = json.dumps({**(report.record or {}), "story": story}, ensure_ascii=False)
            print(scrub(line), file=out)
        else:
            when = report.published.isoformat(timespec="minutes") if report.published else "-"
            print(f"{story:>6}  {when:<22} {report.source}: {report.title}", file=out)
    out.flush()  # the tally (standard error) after the lines, not among them
    print(f"newsbot: {_count(len(reports), 'headline')}, {_count(len(set(stories)), 'story')}",
          file=sys.stderr)
    return 0


def _count(n: int, noun: str) -> str:
    """``1 headline``, ``2 headlines``, ``2 stories``."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"


# ------------------------------------------------------------------ the store's stories


def stored_stories(settings: Settings, *, as_json: bool, out: TextIO | None = None,
                   now: datetime | None = None) -> int:
    """Print the stories of the store's last ``[stories] window_hours``; the exit status."""
    from bot.store import Store, StoreError  # the --input form needs no store

    out = out or sys.stdout
    path = settings.storage.path
    if not Path(path).exists():
        print(f"newsbot: no store at {path} (the bot has not run with this config)",
              file=sys.stderr)
        return EXIT_STORE
    try:
        store = Store.read_only(path)
    except StoreError as exc:
        print(f"newsbot: cannot read the store at {path}: {exc}", file=sys.stderr)
        return EXIT_STORE
    hours = settings.stories.window_hours
    since = (now or utcnow()) - timedelta(hours=hours)
    stories: dict[str, list[Headline]] = {}
    unfiled = 0
    for headline in store.headlines_since(since):
        story = store.story_of(headline.id)
        if story is None:
            unfiled += 1
        else:
            stories.setdefault(story, []).append(headline)
    for story, reports in stories.items():
        _print_story(story, reports, as_json, out)
    several = sum(1 for reports in stories.values() if len({h.source for h in reports}) > 1)
    out.flush()
    print(f"newsbot: {_count(sum(map(len, stories.values())), 'headline')} in "
          f"{_count(len(stories), 'story')} ({several} from several sources) in the last "
          f"{hours:g} h" + (f"; {_count(unfiled, 'headline')} without a story" if unfiled else ""),
          file=sys.stderr)
    return 0


def _print_story(story: str, reports: list[Headline], as_json: bool, out: TextIO) -> None:
    def when(h: Headline) -> str:
        return h.published.isoformat(timespec="minutes") if h.published else "-"

    if as_json:
        record = {
            "story": story,
            "sources": list(dict.fromkeys(h.source for h in reports)),
            "headlines": [{"source": h.source, "title": h.title, "link": h.link,
                           "published": h.published.isoformat() if h.published else None}
                          for h in reports],
        }
        print(json.dumps(record, ensure_ascii=False), file=out)
        return
    sources = list(dict.fromkeys(h.source for h in reports))
    print(f"story {story}: {len(reports)} report(s) from {', '.join(sources)}", file=out)
    for h in reports:
        print(f"  {when(h):<22} {h.source}: {h.title}  {h.link}", file=out)
