"""Who may import whom: no import cycle among the bot's modules (type-only imports and
imports inside functions included), the core apart from app and handlers, and the pure rooms
apart from the UI texts.  Read from the source with ``ast``, so an import that happens to work
at run time (a cycle broken by ``TYPE_CHECKING``, say) is still seen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The bot module ``name`` is, or the nearest bot package holding it."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Every bot module that ``module`` names in an import statement, anywhere in it.

    ``from bot.pkg import name`` counts as importing ``bot.pkg.name`` when that is a module,
    else ``bot.pkg``.  The implicit import of a parent package is not counted: a package's
    ``__init__`` may gather its own modules."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_graph_is_read():
    assert "bot.core" in GRAPH["bot.app"]
    assert "bot.handlers.registration" in GRAPH["bot.handlers"]
    assert "bot.matching.normalize" in GRAPH["bot.matching.query"]  # a relative import


def test_no_import_cycle():
    cycles = sorted(m for m in MODULES if m in reachable(m))
    assert cycles == [], f"modules that import themselves through others: {cycles}"


def test_core_imports_neither_app_nor_handlers():
    below = reachable("bot.core")
    assert "bot.app" not in below
    assert not any(m == "bot.handlers" or m.startswith("bot.handlers.") for m in below)


@pytest.mark.parametrize(
    "module", ["bot.schedule", *[m for m in MODULES if m.startswith("bot.matching")]]
)
def test_pure_rooms_do_not_know_the_ui_texts(module: str):
    assert "bot.i18n" not in reachable(module)


def _third_party_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("bot.stories.")
                                    or m == "bot.stories"])
def test_the_stories_room_is_pure(module: str):
    """The same-story rule knows no Telegram, no store, no UI texts: only the matching
    module's normalisation below it."""
    below = reachable(module) | {module}
    assert below <= {m for m in MODULES if m.startswith(("bot.stories", "bot.matching"))}
    for m in below:
        assert not _third_party_imports(MODULES[m]) & {"telegram", "tinydb", "httpx"}
