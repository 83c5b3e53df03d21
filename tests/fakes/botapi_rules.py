"""The rules the Bot API reference states in words, read from its descriptions.

Each field of a method or type becomes a :class:`FieldRules` (types, required, and what its
description says: "1-64 bytes", "1-4096 characters after entities parsing", "Values between
1-100 are accepted", "Must be one of ...", "Can contain only lowercase English letters, digits
and underscores", "A two-letter ISO 639-1 language code", "in the format @username", "HTTP or
tg:// URL", "At most 100 commands can be specified", "Required if X is not specified"); each
method or type an :class:`OwnerRules` (its fields, subtypes, the discriminator a subtype is
known by -- "must be article", "always "creator"" -- and "Exactly one of the fields ... must
be used").  A method's description may add "No more than 50 results per query are allowed"
(:data:`MAX_PER_CALL`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_PER_CALL", "FieldRules", "OwnerRules", "build_owner"]

_LENGTH = re.compile(r"(\d+)\s*-\s*(\d+)\s+(characters|bytes)\b", re.I)
_RANGE = re.compile(r"(?:Values between |[;,] )(\d+)-(\d+)(?!\d| for)")
_ENUM = re.compile(r"(?:[Mm]ust be one of|Currently, can be)\s+(.*?)(?:\.\s|\.$|$)")
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')
_DISCRIMINATOR = re.compile(r"(?:must be|always)\s+[\"“]?([A-Za-z0-9_]+)[\"”]?\s*$")
_REQUIRED_UNLESS = re.compile(
    r"[Rr]equired if ((?:\w+)(?: and \w+)*) (?:is|are) not specified|"
    r"[Rr]equired if (\w+) isn't specified"
)
_MAX_ITEMS = (
    re.compile(r"At most (\d+) \w+ can be specified"),
    re.compile(r"up to (\d+) items"),
    re.compile(r"list of up to (\d+) \w+"),
)
MAX_PER_CALL = re.compile(r"No more than (\d+) (\w+) per \w+ (?:are|is) allowed")
_EXACTLY_ONE = (
    re.compile(r"Exactly one of the fields other than (.+?) must be used"),
    re.compile(r"[Ee]xactly one of the fields ([\w, ]+? or \w+) must be used"),
    re.compile(r"[Yy]ou must use exactly one of the (optional) fields"),
)
# Character sets and formats the reference states in words: phrase -> (regex, what it says).
_PHRASES: tuple[tuple[str, str, str], ...] = (
    ("Only characters A-Z, a-z, 0-9, _ and - are allowed", r"[A-Za-z0-9_-]*", "A-Z a-z 0-9 _ -"),
    ("only A-Z, a-z, 0-9, _ and - are allowed", r"[A-Za-z0-9_-]*", "A-Z a-z 0-9 _ -"),
    (
        "Can contain only lowercase English letters, digits and underscores",
        r"[a-z0-9_]*",
        "lowercase English letters, digits and underscores",
    ),
    ("A two-letter ISO 639-1 language code", r"(?:[a-z]{2})?", "a two-letter language code"),
    ("HTTP or tg:// URL", r"(?:[Hh][Tt][Tt][Pp][Ss]?|tg)://\S+", "an HTTP or tg:// URL"),
)


@dataclass(frozen=True)
class FieldRules:
    """One field of a method or type with the rules its description states."""

    name: str
    types: tuple[str, ...]
    required: bool
    length: tuple[int, int, str] | None = None  # (lo, hi, "bytes" | "characters")
    parse_mode_field: str | None = None  # measure the visible text, parsed with this field
    entities_field: str | None = None
    int_range: tuple[int, int] | None = None
    enum: frozenset[str] | None = None
    pattern: tuple[re.Pattern[str], str] | None = None
    username: bool = False  # a String alternative must be "@username"
    max_items: int | None = None
    unique_ids: bool = False  # an array of results whose ids must differ
    required_unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class OwnerRules:
    """A method or an object type: its fields, subtypes and whole-object rules."""

    name: str
    fields: dict[str, FieldRules]
    subtypes: tuple[str, ...]
    exactly_one: frozenset[str] | None
    discriminator: tuple[str, str] | None


def build_owner(raw: Mapping[str, Any]) -> OwnerRules:
    fields_raw = list(raw.get("fields", []))
    names = {f["name"] for f in fields_raw}
    fields = {f["name"]: _build_field(f, names) for f in fields_raw}
    exactly_one = _exactly_one(" ".join(raw.get("description", [])), fields)
    discriminator = None
    for spec_raw in fields_raw:
        if spec_raw["required"] and spec_raw["name"] in ("type", "status", "source"):
            match = _DISCRIMINATOR.search(spec_raw["description"])
            if match:
                discriminator = (spec_raw["name"], match.group(1))
                break
    return OwnerRules(
        name=str(raw["name"]),
        fields=fields,
        subtypes=tuple(raw.get("subtypes", ())),
        exactly_one=exactly_one,
        discriminator=discriminator,
    )


def _build_field(raw: Mapping[str, Any], siblings: set[str]) -> FieldRules:
    """Read the rules one field's description states (see the module docstring)."""
    name: str = raw["name"]
    text: str = raw["description"]
    types = tuple(raw["types"])
    rules: dict[str, Any] = {}
    if "String" in types:
        length = _LENGTH.search(text)
        if length:
            rules["length"] = (int(length.group(1)), int(length.group(2)), length.group(3).lower())
            mode = f"{name}_parse_mode"
            if mode in siblings:
                rules["parse_mode_field"] = mode
            elif "parse_mode" in siblings and (
                "after entit" in text or name in ("text", "caption", "message_text")
            ):
                rules["parse_mode_field"] = "parse_mode"
            if "parse_mode_field" in rules:
                entities = "entities" if name in ("text", "message_text") else f"{name}_entities"
                rules["entities_field"] = entities if entities in siblings else None
        enum = _ENUM.search(text)
        if enum:
            values = {a or b for a, b in _QUOTED.findall(enum.group(1))}
            if values:
                rules["enum"] = frozenset(values)
        for phrase, regex, says in _PHRASES:
            if phrase in text:
                rules["pattern"] = (re.compile(regex), says)
        if "Integer" in types and "in the format @username" in text:
            rules["username"] = True
    if "Integer" in types or "Float" in types:
        int_range = _RANGE.search(text)
        if int_range:
            rules["int_range"] = (int(int_range.group(1)), int(int_range.group(2)))
    if any(t.startswith("Array of ") for t in types):
        for pattern in _MAX_ITEMS:
            found = pattern.search(text)
            if found:
                rules["max_items"] = int(found.group(1))
                break
        rules["unique_ids"] = any(t == "Array of InlineQueryResult" for t in types)
    unless = _REQUIRED_UNLESS.search(text)
    if unless and not raw["required"]:
        others = tuple((unless.group(1) or unless.group(2)).split(" and "))
        if all(o in siblings for o in others):
            rules["required_unless"] = others
    return FieldRules(name=name, types=types, required=bool(raw["required"]), **rules)


def _exactly_one(description: str, fields: dict[str, FieldRules]) -> frozenset[str] | None:
    for i, pattern in enumerate(_EXACTLY_ONE):
        match = pattern.search(description)
        if not match:
            continue
        listed = {w for w in re.split(r",\s*(?:and |or )?|\s+(?:and|or)\s+", match.group(1)) if w}
        if i == 0:  # "other than text, ..., and style"
            return frozenset(n for n in fields if n not in listed)
        if i == 1:  # "the fields html or markdown"
            return frozenset(listed & set(fields))
        return frozenset(n for n, f in fields.items() if not f.required)
    return None
