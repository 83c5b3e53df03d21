"""Hold Bot API calls to the Bot API reference (``../shared/telegram/bot-api.json``).

The reference is the official documentation in machine-readable form: every method with its
fields (name, types, required, description) and every type with its fields or subtypes.
:class:`BotApiSchema` checks one call against it and returns its problems as sentences:

* an unknown method, an unknown parameter, a missing required parameter (also "Required if
  X is not specified");
* a value of the wrong type.  Parameters arrive as form fields (scalars as text, complex
  values as JSON strings, the way python-telegram-bot sends them) or in a JSON body, so a
  text value is decoded by the type the reference expects; inside a JSON value types must
  match natively.  Unions ("Integer or String") accept any alternative;
* nested objects, recursively: unknown or missing fields, abstract types resolved to their
  subtypes by the discriminator the reference states ("Type of the result, must be article",
  "always "creator""), "Exactly one of the fields ... must be used";
* the limits the reference states in words: lengths ("1-64 bytes", "1-4096 characters after
  entities parsing"), integer ranges ("Values between 1-100 are accepted"), enumerations
  ("Must be one of ..."), character sets ("Can contain only lowercase English letters, digits
  and underscores"), two-letter language codes, "@username", "HTTP or tg:// URL", list sizes
  ("At most 100 commands", "No more than 50 results per query"), unique result ids.

Lengths "after entities parsing" are measured on the visible text: the caller passes the
parser (``visible_text(text, parse_mode)``, returning None when the text does not parse --
that is an answer Telegram gives, not a wrong call).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.botapi_rules import MAX_PER_CALL, FieldRules, OwnerRules, build_owner

__all__ = ["REFERENCE_ENV", "BotApiSchema", "reference_path"]

REFERENCE_ENV = "NEWSBOT_SHARED_DIR"  # overrides ../shared (e.g. from a git worktree)
VisibleText = Callable[[str, str], "str | None"]

_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")


def reference_path() -> Path:
    """Where the reference is: ``$NEWSBOT_SHARED_DIR/telegram/bot-api.json`` if that variable
    is set, else ``../shared/telegram/bot-api.json`` beside the repository root."""
    shared = os.environ.get(REFERENCE_ENV)
    root = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return root / "telegram" / "bot-api.json"


class BotApiSchema:
    """The Bot API reference, ready to check calls (see the module docstring)."""

    def __init__(self, reference: Mapping[str, Any], *, visible_text: VisibleText | None = None):
        self.version = str(reference.get("version", "?"))
        self._visible_text = visible_text
        self._raw_methods = {name.lower(): m for name, m in reference["methods"].items()}
        self._raw_types: dict[str, Any] = dict(reference["types"])
        self._owners: dict[str, OwnerRules] = {}

    @classmethod
    def load(
        cls, path: Path | None = None, *, visible_text: VisibleText | None = None
    ) -> BotApiSchema | None:
        """The schema from ``path`` (default :func:`reference_path`), or None if absent."""
        reference = _read(str(path or reference_path()))
        return None if reference is None else cls(reference, visible_text=visible_text)

    # ------------------------------------------------------------------ public checks

    def has_method(self, method: str) -> bool:
        return method.lower() in self._raw_methods

    def method_name(self, method: str) -> str:
        """The reference's spelling of ``method`` (names are case-insensitive)."""
        return str(self._raw_methods[method.lower()]["name"])

    def check_call(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """The problems of one call (empty if it is one the reference defines)."""
        if not self.has_method(method):
            return [f"unknown method {method!r}: the {self.version} defines no such method"]
        owner = self._owner(method.lower(), is_method=True)
        return self._check_fields(owner, params, owner.name, textual=True)

    def check_object(self, type_expr: str, value: Any, path: str = "") -> list[str]:
        """The problems of ``value`` (a decoded JSON value) read as ``type_expr``."""
        return self._check_value((type_expr,), value, path or type_expr, textual=False)

    def check_result(self, method: str, value: Any) -> list[str]:
        """The problems of ``value`` as the result of ``method`` (what it "returns")."""
        returns = tuple(self._raw_methods[method.lower()].get("returns") or ())
        if not returns:
            return []
        return self._check_value(
            returns, value, f"{self.method_name(method)} result", textual=False
        )

    # ------------------------------------------------------------------ rules

    def _owner(self, key: str, *, is_method: bool = False) -> OwnerRules:
        cache_key = ("m:" if is_method else "t:") + key
        owner = self._owners.get(cache_key)
        if owner is None:
            raw = self._raw_methods[key] if is_method else self._raw_types[key]
            owner = build_owner(raw)
            self._owners[cache_key] = owner
        return owner

    # ------------------------------------------------------------------ objects

    def _check_fields(
        self, owner: OwnerRules, values: Mapping[str, Any], path: str, *, textual: bool
    ) -> list[str]:
        problems: list[str] = []
        for key in values:
            if key not in owner.fields:
                kind = "parameter" if textual else "field"
                problems.append(f"{path}: unknown {kind} {key!r}")
        for name, spec in owner.fields.items():
            if name not in values:
                if spec.required:
                    problems.append(f"{path}: missing required {name!r}")
                elif spec.required_unless and not any(o in values for o in spec.required_unless):
                    others = " and ".join(spec.required_unless)
                    verb = "are" if len(spec.required_unless) > 1 else "is"
                    problems.append(f"{path}: {name!r} is required when {others} {verb} not given")
                continue
            problems += self._check_field(spec, values[name], values, f"{path}.{name}", textual)
        if owner.exactly_one is not None:
            used = sorted(k for k in owner.exactly_one if k in values)
            if len(used) != 1:
                choices = ", ".join(sorted(owner.exactly_one))
                problems.append(f"{path}: exactly one of {choices} must be used, got {used}")
        if textual:  # a method call
            problems += self._per_call_limits(owner, values, path)
        return problems

    def _per_call_limits(
        self, owner: OwnerRules, values: Mapping[str, Any], path: str
    ) -> list[str]:
        raw = self._raw_methods[owner.name.lower()]
        problems = []
        for sentence in raw.get("description", []):
            for match in MAX_PER_CALL.finditer(sentence):
                limit, name = int(match.group(1)), match.group(2)
                value = _decoded_json(values.get(name))
                if isinstance(value, list) and len(value) > limit:
                    problems.append(f"{path}.{name}: {len(value)} given, {sentence!r}")
        return problems

    def _check_object(self, type_name: str, value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: expected a {type_name} object, got {_show(value)}"]
        owner = self._owner(type_name)
        if owner.subtypes:
            return self._check_subtypes(owner, value, path)
        if not owner.fields:  # a placeholder such as CallbackGame
            return []
        return self._check_fields(owner, value, path, textual=False)

    def _check_subtypes(self, owner: OwnerRules, value: dict[str, Any], path: str) -> list[str]:
        """An abstract type: the subtype its discriminator names, else any that fits."""
        candidates = list(self._concrete(owner.name))
        tagged = [c for c in candidates if self._discriminator(c) is not None]
        if tagged:
            matching = [c for c in tagged if _matches(self._discriminator(c), value)]
            if not matching:
                field = self._discriminator(tagged[0])[0]  # type: ignore[index]
                known = sorted({self._discriminator(c)[1] for c in tagged})  # type: ignore[index]
                return [
                    f"{path}: {owner.name} with {field}={_show(value.get(field))} is none of "
                    f"{', '.join(known)}"
                ]
            candidates = matching
        best: list[str] | None = None
        for candidate in candidates:
            problems = self._check_value((candidate,), value, path, textual=False)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or [f"{path}: no subtype of {owner.name} fits"]

    def _concrete(self, type_expr: str) -> list[str]:
        raw = self._raw_types.get(type_expr)
        if raw is None or not raw.get("subtypes"):
            return [type_expr]
        out: list[str] = []
        for sub in raw["subtypes"]:
            out += self._concrete(sub)
        return out

    def _discriminator(self, type_expr: str) -> tuple[str, str] | None:
        if type_expr not in self._raw_types:
            return None
        return self._owner(type_expr).discriminator

    # ------------------------------------------------------------------ values

    def _check_value(
        self, types: tuple[str, ...], value: Any, path: str, *, textual: bool
    ) -> list[str]:
        best: list[str] | None = None
        for type_expr in types:
            problems = self._check_one(type_expr, value, path, textual=textual)[0]
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        assert best is not None
        if len(types) > 1 and len(best) == 1 and best[0].startswith(f"{path}: expected"):
            return [f"{path}: expected {' or '.join(types)}, got {_show(value)}"]
        return best

    def _check_one(
        self, type_expr: str, value: Any, path: str, *, textual: bool
    ) -> tuple[list[str], Any]:
        """Check ``value`` as one type; return (problems, decoded value)."""
        if type_expr.startswith("Array of "):
            if textual and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    return [f"{path}: expected a JSON-serialized {type_expr}"], value
            if not isinstance(value, list):
                return [f"{path}: expected {type_expr}, got {_show(value)}"], value
            inner = (type_expr[len("Array of ") :],)
            problems: list[str] = []
            for i, item in enumerate(value):
                problems += self._check_value(inner, item, f"{path}[{i}]", textual=False)
            return problems, value
        if type_expr in _PRIMITIVES:
            ok, decoded = _primitive(type_expr, value, textual)
            return ([] if ok else [f"{path}: expected {type_expr}, got {_show(value)}"]), decoded
        if type_expr not in self._raw_types:
            return [f"{path}: the reference has no type {type_expr!r}"], value
        if textual and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return [f"{path}: expected a JSON-serialized {type_expr}"], value
        return self._check_object(type_expr, value, path), value

    def _check_field(
        self, spec: FieldRules, value: Any, siblings: Mapping[str, Any], path: str, textual: bool
    ) -> list[str]:
        """Type first (any alternative), then the limits stated for the matching one."""
        fits: list[tuple[str, Any]] = []
        for type_expr in spec.types:
            problems, decoded = self._check_one(type_expr, value, path, textual=textual)
            if not problems:
                fits.append((type_expr, decoded))
        if not fits:
            return self._check_value(spec.types, value, path, textual=textual)
        first_problems: list[str] | None = None
        for type_expr, decoded in fits:
            problems = self._limits(spec, type_expr, decoded, siblings, path)
            if not problems:
                return []
            first_problems = first_problems if first_problems is not None else problems
        return first_problems or []

    def _limits(
        self, spec: FieldRules, type_expr: str, value: Any, siblings: Mapping[str, Any], path: str
    ) -> list[str]:
        if type_expr == "String":
            return self._string_limits(spec, value, siblings, path)
        if type_expr == "Integer" and spec.int_range is not None:
            lo, hi = spec.int_range
            if not lo <= value <= hi:
                return [f"{path}: {value} is outside {lo}-{hi}, the range the reference allows"]
        if type_expr.startswith("Array of "):
            problems = []
            if spec.max_items is not None and len(value) > spec.max_items:
                problems.append(
                    f"{path}: {len(value)} items, the reference allows at most {spec.max_items}"
                )
            if spec.unique_ids:
                ids = [item.get("id") for item in value if isinstance(item, dict)]
                doubled = sorted({str(i) for i in ids if ids.count(i) > 1})
                if doubled:
                    problems.append(f"{path}: result ids must be unique, repeated: {doubled}")
            return problems
        return []

    def _string_limits(
        self, spec: FieldRules, value: str, siblings: Mapping[str, Any], path: str
    ) -> list[str]:
        problems = []
        if spec.length is not None:
            lo, hi, unit = spec.length
            measured = self._measure(spec, value, siblings)
            if measured is not None and not lo <= measured[0] <= hi:
                problems.append(
                    f"{path}: {measured[0]} {measured[1]}, the reference allows {lo}-{hi} {unit}"
                    + (" after entities parsing" if spec.parse_mode_field else "")
                )
        if spec.enum is not None and value not in spec.enum:
            problems.append(f"{path}: {value!r} is not one of {', '.join(sorted(spec.enum))}")
        if spec.pattern is not None and not spec.pattern[0].fullmatch(value):
            problems.append(f"{path}: {value!r} is not {spec.pattern[1]}")
        if spec.username and not _USERNAME.fullmatch(value):
            problems.append(f"{path}: {value!r} is neither an integer id nor an @username")
        return problems

    def _measure(
        self, spec: FieldRules, value: str, siblings: Mapping[str, Any]
    ) -> tuple[int, str] | None:
        """(length, unit) of ``value`` the way the reference counts it; None: not measurable."""
        assert spec.length is not None
        if spec.length[2] == "bytes":
            return len(value.encode("utf-8", "surrogatepass")), "bytes"
        text = value
        if spec.parse_mode_field is not None:
            mode = siblings.get(spec.parse_mode_field)
            has_entities = spec.entities_field is not None and spec.entities_field in siblings
            if has_entities or not mode:
                text = value if has_entities else value.strip()
            elif self._visible_text is None:
                return None
            else:
                visible = self._visible_text(value, str(mode))
                if visible is None:  # does not parse: Telegram's own 400, not a wrong call
                    return None
                text = visible
        return _utf16_len(text), "characters"


# ---------------------------------------------------------------------- helpers


_LOADED: dict[str, dict[str, Any]] = {}


def _read(path: str) -> dict[str, Any] | None:
    """The reference at ``path`` (read once per process), or None if it is absent."""
    if path not in _LOADED:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        if not isinstance(data, dict) or "methods" not in data:
            return None
        _LOADED[path] = data
    return _LOADED[path]


def _primitive(type_name: str, value: Any, textual: bool) -> tuple[bool, Any]:
    """Does ``value`` read as ``type_name``?  A text value is decoded (form fields)."""
    if type_name in ("String", "InputFile"):
        return isinstance(value, str), value
    if textual and isinstance(value, str):
        text = value.strip()
        if type_name == "Integer":
            return (True, int(text)) if re.fullmatch(r"-?\d+", text) else (False, value)
        if type_name == "Float":
            try:
                number = float(text)
            except ValueError:
                return False, value
            return math.isfinite(number), number
        if type_name == "Boolean":
            lowered = text.lower()
            if lowered in ("true", "1", "false", "0"):
                return True, lowered in ("true", "1")
            return False, value
    if isinstance(value, bool):
        return type_name == "Boolean", value
    if type_name == "Integer":
        return isinstance(value, int), value
    if type_name == "Float":
        return isinstance(value, int | float) and math.isfinite(value), value
    return False, value


def _matches(discriminator: tuple[str, str] | None, value: Mapping[str, Any]) -> bool:
    return discriminator is not None and value.get(discriminator[0]) == discriminator[1]


def _decoded_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
