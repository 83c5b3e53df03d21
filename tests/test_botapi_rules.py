"""The rules read from the words of a Bot API reference, on a small reference written here
(so these tests run without ../shared), and where the reference is looked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.botapi_schema import REFERENCE_ENV, BotApiSchema, reference_path

MINI = {
    "version": "Bot API 0.1",
    "methods": {
        "sendThing": {
            "name": "sendThing",
            "description": ["Sends things. No more than 3 things per call are allowed."],
            "returns": ["Boolean"],
            "fields": [
                {
                    "name": "chat_id",
                    "types": ["Integer", "String"],
                    "required": True,
                    "description": "Target chat or channel in the format @username",
                },
                {
                    "name": "label",
                    "types": ["String"],
                    "required": False,
                    "description": "Label, 2-5 characters after entities parsing",
                },
                {
                    "name": "parse_mode",
                    "types": ["String"],
                    "required": False,
                    "description": "Mode",
                },
                {
                    "name": "level",
                    "types": ["Integer"],
                    "required": False,
                    "description": "Level; 1-9. Defaults to 1",
                },
                {
                    "name": "things",
                    "types": ["Array of Thing"],
                    "required": False,
                    "description": "Things",
                },
                {
                    "name": "colour",
                    "types": ["String"],
                    "required": False,
                    "description": 'Colour. Must be one of "red", "blue" or "green"',
                },
            ],
        }
    },
    "types": {
        "Thing": {"name": "Thing", "description": ["A thing."], "subtypes": ["Box", "Ball"]},
        "Box": {
            "name": "Box",
            "description": ["A box."],
            "fields": [
                {
                    "name": "type",
                    "types": ["String"],
                    "required": True,
                    "description": "Type, must be box",
                },
                {"name": "size", "types": ["Integer"], "required": True, "description": "Size"},
            ],
        },
        "Ball": {
            "name": "Ball",
            "description": ["A ball."],
            "fields": [
                {
                    "name": "type",
                    "types": ["String"],
                    "required": True,
                    "description": 'Type, always "ball"',
                },
                {
                    "name": "tag",
                    "types": ["String"],
                    "required": False,
                    "description": "Tag, 1-3 bytes",
                },
            ],
        },
    },
}


def test_rules_are_read_from_the_words_of_any_reference() -> None:
    schema = BotApiSchema(MINI, visible_text=lambda text, mode: text.replace("*", ""))
    ok = {
        "chat_id": "@channel",
        "label": "*abc*",
        "parse_mode": "Markdown",
        "level": "9",
        "colour": "red",
        "things": json.dumps([{"type": "box", "size": 1}, {"type": "ball"}]),
    }
    assert schema.check_call("sendThing", ok) == []
    assert schema.check_call("sendthing", {"chat_id": "5"}) == []

    def bad(**params: str) -> str:
        [problem] = schema.check_call("sendThing", {"chat_id": "1", **params})
        return problem

    assert "6 characters, the reference allows 2-5 characters after entities" in bad(label="abcdef")
    assert (
        schema.check_call(
            "sendThing", {"chat_id": "1", "label": "**ab**", "parse_mode": "Markdown"}
        )
        == []
    )
    assert "10 is outside 1-9" in bad(level="10")
    assert "'pink' is not one of blue, green, red" in bad(colour="pink")
    assert "type='crate' is none of ball, box" in bad(things=json.dumps([{"type": "crate"}]))
    assert "missing required 'size'" in bad(things=json.dumps([{"type": "box"}]))
    assert "tag: 4 bytes" in bad(things=json.dumps([{"type": "ball", "tag": "abcd"}]))
    assert "4 given" in bad(things=json.dumps([{"type": "ball"}] * 4))
    assert (
        "neither an integer id nor an @username"
        in schema.check_call("sendThing", {"chat_id": "channel"})[0]
    )
    assert "unknown method" in schema.check_call("sendOther", {})[0]
    assert schema.check_result("sendThing", True) == []


def test_reference_path_and_absence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REFERENCE_ENV, str(tmp_path))
    assert reference_path() == tmp_path / "telegram" / "bot-api.json"
    assert BotApiSchema.load() is None  # absent: the fake runs unchecked
    (tmp_path / "telegram").mkdir()
    (tmp_path / "telegram" / "bot-api.json").write_text(json.dumps(MINI), encoding="utf-8")
    loaded = BotApiSchema.load()
    assert loaded is not None and loaded.version == "Bot API 0.1"
    monkeypatch.delenv(REFERENCE_ENV)
    root = Path(__file__).resolve().parents[1]
    assert reference_path() == root.parent / "shared" / "telegram" / "bot-api.json"
