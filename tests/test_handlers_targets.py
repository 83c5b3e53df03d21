"""A channel named as a command's first argument (``/follow @name eVTOL``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.core import Core, build_index
from bot.handlers.targets import LINKED, channel_argument, channel_label, find_linked
from bot.store import Store


@pytest.mark.parametrize(
    ("text", "ref", "rest"),
    [
        ("@mychannel eVTOL", "@mychannel", "eVTOL"),
        ("@My_Channel1   low altitude economy", "@My_Channel1", "low altitude economy"),
        ("-1001234567 08:00 18:00", "-1001234567", "08:00 18:00"),
        ("@mychannel", "@mychannel", ""),
    ],
)
def test_a_channel_first_is_split_from_the_rest(text: str, ref: str, rest: str) -> None:
    named = channel_argument(text)
    assert named is not None
    assert (named.ref, named.rest) == (ref, rest)


@pytest.mark.parametrize(
    "text", ["eVTOL", "@abc eVTOL", "@1abc", "-5 x", "C++ @mychannel", "", "@a-b-c-d x"]
)
def test_anything_else_is_no_channel(text: str) -> None:
    assert channel_argument(text) is None


def test_only_channels_this_person_linked_are_found(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        core = Core(settings=Settings(), store=store, index=build_index(store))
        store.upsert_chat(-1001, kind="channel", title="Tech Wire")
        store.set_setting(-1001, "username", "TechWire")
        store.upsert_chat(-1002, kind="channel", title="Other")
        store.set_setting(-1002, "username", "other")
        owner = store.upsert_chat(7, kind="private")
        store.set_setting(7, LINKED, [-1001])
        owner = store.chat(7)
        assert owner is not None
        found = find_linked(core, owner, "@techwire")
        assert found is not None and found.id == -1001
        assert channel_label(found) == "@TechWire"
        assert find_linked(core, owner, "-1001") is not None
        assert find_linked(core, owner, "@other") is None  # not linked by this person
        assert find_linked(core, owner, "-1002") is None
    finally:
        store.close()
