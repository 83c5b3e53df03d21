"""``python -m bot stories --input FILE [--json]``: real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.stories_cli import InputError, parse_lines

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
    ],
)
def test_a_bad_line_is_named_and_nothing_is_printed(tmp_path, line, message):
    path = write(tmp_path, [LINES[0], line])
    done = run(tmp_path, "stories", "--input", str(path))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_file_and_missing_input(tmp_path):
    done = run(tmp_path, "stories", "--input", str(tmp_path / "nope.jsonl"))
    assert done.returncode == 2 and "cannot read" in done.stderr
    assert "Traceback" not in done.stderr
    done = run(tmp_path, "stories")
    assert done.returncode == 2 and "--input" in done.stderr


def test_parse_lines_reads_optional_fields():
    reports = parse_lines(['{"source": "a", "title": "b", "published": "2025-10-21T08:00:00"}',
                           "", '{"source": "c", "title": "d"}'])
    assert reports[0].published is not None and reports[0].published.utcoffset() is not None
    assert reports[1].published is None and reports[1].summary == ""
    with pytest.raises(InputError, match="input line 1"):
        parse_lines(["{"])
