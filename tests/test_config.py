"""Settings: TOML + TELEGRAM_BOT_TOKEN, clear errors, and the shipped example."""

from pathlib import Path

import pytest

from bot.config import ConfigError, default_sources, load_settings, resolve_config_path

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    settings = load_settings(None, environ={})
    assert settings.token is None
    assert settings.telegram.api_base_url == "https://api.telegram.org/bot"
    assert settings.sources[0].name == "Caixin Global CX Tech"
    assert settings.sources[0].type == "json"


def test_example_config_is_valid_and_matches_the_built_in_defaults():
    settings = load_settings(ROOT / "config.example.toml", environ={})
    assert [s.model_dump() for s in settings.sources] == [s.model_dump() for s in default_sources()]
    names = [s.name for s in settings.sources]
    for expected in (
        "SCMP Tech",
        "TechNode",
        "KrASIA",
        "Pandaily",
        "Rest of World",
        "TechCrunch",
        "The Verge",
        "Ars Technica",
        "Hacker News",
    ):
        assert expected in names


def test_environment_token_overrides_the_file(tmp_path):
    path = write(tmp_path, '[telegram]\ntoken = "1:from-file"\n')
    assert load_settings(path, environ={}).token == "1:from-file"
    assert load_settings(path, environ={"TELEGRAM_BOT_TOKEN": "2:env"}).token == "2:env"


def test_token_is_not_shown_in_repr(tmp_path):
    settings = load_settings(None, environ={"TELEGRAM_BOT_TOKEN": "2:very-secret"})
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.telegram)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[polling]\ninterval_seconds = 0\n", "polling.interval_seconds"),
        ("[polling]\nintervall = 5\n", "polling.intervall"),
        ('[[sources]]\nname = "x"\nurl = "ftp://x"\n', "sources.0.url"),
        ('[[sources]]\nname = "x"\nurl = "http://x"\ntype = "html"\n', "link_selector"),
        ('[[sources]]\nname = "x"\nurl = "http://x"\ntype = "atom"\n', "sources.0.type"),
        ('[[sources]]\nname = "x"\nurl = "http://x"\ntimezone = "Mars/Base"\n', "Mars/Base"),
        (
            '[[sources]]\nname="a"\nurl="http://a"\n[[sources]]\nname="a"\nurl="http://b"\n',
            "two sources are named",
        ),
        ("[storage\npath = 1\n", "not valid TOML"),
    ],
)
def test_invalid_config_names_the_key_and_the_problem(tmp_path, text, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert names in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_interval_of_one_second_is_accepted(tmp_path):
    settings = load_settings(write(tmp_path, "[polling]\ninterval_seconds = 1\n"), environ={})
    assert settings.polling.interval_seconds == 1


def test_config_path_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    assert resolve_config_path(None) is None
    (tmp_path / "config.toml").write_text("")
    assert resolve_config_path(None) == Path("config.toml")
    monkeypatch.setenv("NEWSBOT_CONFIG", "/etc/newsbot.toml")
    assert resolve_config_path(None) == Path("/etc/newsbot.toml")
    assert resolve_config_path("given.toml") == Path("given.toml")


def test_listeners_default_to_loopback_and_the_docker_image_opens_them(tmp_path):
    import re

    defaults = load_settings(None, environ={})
    assert defaults.telegram.webhook_listen == "127.0.0.1"
    assert defaults.metrics.listen == "127.0.0.1"
    example = load_settings(ROOT / "config.example.toml", environ={})
    assert example.telegram.webhook_listen == "127.0.0.1"
    # the Dockerfile's sed expressions, applied to the example as the image build does
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    edits = re.findall(r"-e 's\|\^([^|]*)\|([^|]*)\|'", dockerfile)
    assert len(edits) == 3
    for pattern, replacement in edits:
        text, count = re.subn("^" + pattern, replacement, text, flags=re.MULTILINE)
        assert count == 1, pattern
    image = load_settings(write(tmp_path, text), environ={})
    assert image.telegram.webhook_listen == "0.0.0.0"
    assert image.metrics.listen == "0.0.0.0"
    assert str(image.storage.path) == "/data"


def test_stories_settings_defaults_example_and_refusals(tmp_path):
    from bot.story_keeper import rule_from

    example = load_settings(ROOT / "config.example.toml", environ={})
    assert example.stories == load_settings(None, environ={}).stories
    rule = rule_from(example.stories)
    assert (rule.window_hours, rule.title, rule.named, rule.summary) == (72, 0.4, 0.2, 0.3)
    tuned = load_settings(write(tmp_path, "[stories]\nenabled = false\ntitle_threshold = 0.6\n"),
                          environ={})
    assert not tuned.stories.enabled and rule_from(tuned.stories).title == 0.6
    for bad, key in (("max_sources = 0", "stories.max_sources"),
                     ("title_threshold = 1.5", "stories.title_threshold"),
                     ("windows = 3", "stories.windows")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_settings(write(tmp_path, f"[stories]\n{bad}\n"), environ={})
