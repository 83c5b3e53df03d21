"""The bot's texts: every one in both languages, with the same placeholders; the choice of
language; and the pure rooms' error codes, each with a text in both languages."""

from __future__ import annotations

import string

import pytest

from bot.i18n import ADMIN_COMMANDS, COMMANDS, LANGUAGES, TEXTS, language_for, normalise_language, t
from bot.matching import QueryError
from bot.schedule import ScheduleError


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template fills in (``{{`` and ``}}`` are literal braces)."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_placeholders_are_read():
    assert placeholders("{a} and {b:>3}, not {{c}}") == {"a", "b"}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_exists_in_both_languages_with_the_same_placeholders(key: str):
    entry = TEXTS[key]
    assert set(entry) == set(LANGUAGES), f"{key}: languages {sorted(entry)}"
    assert all(entry[lang].strip() for lang in LANGUAGES), f"{key}: an empty text"
    assert placeholders(entry["en"]) == placeholders(entry["zh"]), key


@pytest.mark.parametrize("key", sorted(TEXTS))
@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_text_formats_with_its_placeholders(key: str, lang: str):
    values = {name: "x" for name in placeholders(TEXTS[key][lang])}
    assert t(lang, key, **values)


def test_every_command_has_a_description_in_both_languages_and_an_example():
    for name, english, chinese, example in COMMANDS + ADMIN_COMMANDS:
        assert english and chinese, name
        assert example.startswith(f"/{name}"), name


@pytest.mark.parametrize(
    ("code", "lang"),
    [("zh-hans", "zh"), ("zh_CN", "zh"), ("中文", "zh"), ("en-US", "en"), ("English", "en"),
     ("fr", None), ("", None), (None, None)],
)
def test_normalise_language(code: str | None, lang: str | None):
    assert normalise_language(code) == lang


def test_language_choice_order():
    assert language_for({"language": "zh"}, "en-US") == "zh"  # the chat's choice first
    assert language_for({}, "zh-hant") == "zh"  # then the user's Telegram language
    assert language_for({"language": "klingon"}, None) == "en"  # else English
    assert language_for(None) == "en"


def _sample(template: str) -> dict[str, object]:
    """A value for each placeholder: a number for the counts, else some text."""
    numbers = ("limit", "length", "count")
    return {name: 7 if name in numbers else "8x" for name in placeholders(template)}


@pytest.mark.parametrize("code", sorted(QueryError.MESSAGES))
def test_every_query_error_has_its_text_and_says_in_english_what_an_english_chat_reads(code):
    arguments = _sample(QueryError.MESSAGES[code])
    for lang in LANGUAGES:
        assert placeholders(TEXTS[code][lang]) == set(arguments), (code, lang)
    error = QueryError(code, **arguments)
    assert (error.code, error.arguments) == (code, arguments)
    assert str(error) == t("en", code, **arguments) + t("en", "query_examples")


@pytest.mark.parametrize("code", sorted(ScheduleError.MESSAGES))
def test_every_schedule_error_has_its_text_and_says_in_english_what_an_english_chat_reads(code):
    arguments = _sample(ScheduleError.MESSAGES[code])
    for lang in LANGUAGES:
        assert placeholders(TEXTS[code][lang]) == set(arguments), (code, lang)
    error = ScheduleError(code, **arguments)
    assert (error.code, error.arguments) == (code, arguments)
    assert str(error) == t("en", code, **arguments)
