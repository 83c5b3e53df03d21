"""``python -m bot stories --input FILE [--json]``, and without ``--input`` the stories in
the store: real process, real files, a real store (open, as a running bot holds it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Headline
from bot.store import Store
from bot.stories_cli import InputError, parse_lines
from bot.story_keeper import StoryKeeper

ROOT = Path(__file__).resolve().parents[1]

LINES = [
    {"source": "TechNode", "title": "Nexperia China chip supplies to resume",
     "published": "2025-10-22T09:00:00Z"},
    {"source": "Caixin", "title": "Nexperia halts wafer supply to its China unit",
     "published": "2025-10-21T08:00:00+08:00", "link": "https://example.com/1",
     "summary": "Nexperia stopped supplying wafers."},
    {"source": "SCMP Tech", "title": "Nexperia stops wafer shipments to its China unit",
     "published": "2025-10-21T09:00:00+08:00"},
]


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSBOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, input=stdin,
        capture_output=True, text=True, timeout=60,
    )


def write(tmp_path: Path, lines: list) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def test_json_output_in_published_order_with_story_keys(tmp_path):
    path = write(tmp_path, LINES)
    done = run(tmp_path, "stories", "--input", str(path), "--json")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["source"] for o in out] == ["Caixin", "SCMP Tech", "TechNode"]
    assert out[0]["story"] == out[1]["story"] != out[2]["story"]
    assert out[0]["link"] == "https://example.com/1"  # the line comes back whole
    assert out[0]["summary"] == "Nexperia stopped supplying wafers."
    assert "3 headlines, 2 stories" in done.stderr


def test_text_output_and_stdin(tmp_path):
    stdin = "\n".join(json.dumps(x) for x in LINES) + "\n\n"
    done = run(tmp_path, "stories", "--input", "-", stdin=stdin)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and "Caixin: Nexperia halts" in lines[0]
    assert lines[0].split()[0] == lines[1].split()[0] != lines[2].split()[0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: not a JSON object"),
        ('{"title": "x"}', "line 2: missing 'source'"),
        ('{"source": "a", "title": "   "}', "line 2: 'title' is empty"),
        ('{"source": 3, "title": "x"}', "line 2: 'source' must be a string"),
        ('{"source": "a", "title": "x", "published": "yesterday"}',
         "line 2: 'published' is not an ISO 8601 time"),
        ('{"source": "a", "title": "x", "published": 17}', "line 2: 'published' must be"),
        ("[" * 100_000, "line 2: not JSON (nested too deeply)"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_printed(tmp_path, line, message):
    path = write(tmp_path, [LINES[0], line])
    done = run(tmp_path, "stories", "--input", str(path))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("as_json", [False, True])
def test_a_lone_surrogate_is_read_as_the_bot_reads_it(tmp_path, as_json):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"source": "A", "title": "Nexperia halts wafer supply \\ud83d"}\n')
    done = run(tmp_path, "stories", "--input", str(path), *(["--json"] if as_json else []))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-400:]
    assert "Nexperia halts wafer supply \ufffd" in done.stdout


def test_a_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes("\ufeff".encode() + json.dumps(LINES[1]).encode() + b"\n")
    done = run(tmp_path, "stories", "--input", str(path))
    assert done.returncode == 0, done.stderr
    assert "Caixin: Nexperia halts" in done.stdout
    done = run(tmp_path, "stories", "--input", "-", stdin="\ufeff" + json.dumps(LINES[1]))
    assert done.returncode == 0 and "Caixin: Nexperia halts" in done.stdout, done.stderr


def test_missing_file_and_missing_input(tmp_path):
    done = run(tmp_path, "stories", "--input", str(tmp_path / "nope.jsonl"))
    assert done.returncode == 2 and "cannot read" in done.stderr
    assert "Traceback" not in done.stderr
    done = run(tmp_path, "stories")  # no --input: the store, which is not there
    assert done.returncode == 3 and "no store at" in done.stderr
    assert "Traceback" not in done.stderr


def test_parse_lines_reads_optional_fields():
    reports = parse_lines(['{"source": "a", "title": "b", "published": "2025-10-21T08:00:00"}',
                           "", '{"source": "c", "title": "d"}'])
    assert reports[0].published is not None and reports[0].published.utcoffset() is not None
    assert reports[1].published is None and reports[1].summary == ""
    with pytest.raises(InputError, match="input line 1"):
        parse_lines(["{"])


def test_without_input_the_stores_stories_of_the_last_72_hours(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "data"}"\n', encoding="utf-8")
    now = datetime.now(UTC)

    def h(hid: str, source: str, title: str, hours_ago: float) -> Headline:
        return Headline(source=source, id=hid, title=title, link=f"https://{hid}.example/",
                        published=now - timedelta(hours=hours_ago))

    store = Store.open(tmp_path / "data")
    try:  # left open while the command reads it, as a running bot holds it
        keeper = StoryKeeper(store)
        reports = [
            h("old", "Caixin", "Baidu opens an AI lab in Shenzhen", 100),
            h("c1", "Caixin", "Nexperia halts wafer supply to its China unit", 5),
            h("s1", "SCMP Tech", "Nexperia halts wafer supplies to China unit", 4),
            h("t1", "TechNode", "Nexperia China chip supplies to resume", 1),
        ]
        with store.batch():
            store.add_headlines(reports)
            keeper.file(reports, now)
        done = run(tmp_path, "--config", str(config), "stories")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        heads = [line for line in lines if line.startswith("story ")]
        assert len(heads) == 2, done.stdout
        assert "2 report(s) from Caixin, SCMP Tech" in heads[0]
        assert "1 report(s) from TechNode" in heads[1]
        assert "Baidu" not in done.stdout  # older than the window
        assert "3 headlines in 2 stories (1 from several sources) in the last 72 h" in (
            done.stderr
        )
        as_json = run(tmp_path, "--config", str(config), "stories", "--json")
        records = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert [r["sources"] for r in records] == [["Caixin", "SCMP Tech"], ["TechNode"]]
        assert records[0]["headlines"][0]["link"] == "https://c1.example/"
    finally:
        store.close()


def test_input_is_folded_by_the_configs_stories_settings(tmp_path):
    path = write(tmp_path, LINES)
    config = tmp_path / "strict.toml"
    config.write_text("[stories]\ntitle_threshold = 1.0\nnamed_threshold = 1.0\n"
                      "summary_threshold = 1.0\n", encoding="utf-8")
    default = run(tmp_path, "stories", "--input", str(path), "--json")
    strict = run(tmp_path, "--config", str(config), "stories", "--input", str(path), "--json")
    assert strict.returncode == 0, strict.stderr
    assert "3 headlines, 2 stories" in default.stderr
    assert "3 headlines, 3 stories" in strict.stderr  # exactly the bot's rule, as configured


def test_one_headline_is_counted_in_the_singular(tmp_path):
    path = write(tmp_path, LINES[:1])
    done = run(tmp_path, "stories", "--input", str(path))
    assert done.returncode == 0 and "newsbot: 1 headline, 1 story" in done.stderr, done.stderr
