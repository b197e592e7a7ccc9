"""The package order (README, "Layout"): a module may import its own package and packages below it, never one
above. Every module's imports are read with `ast` (function-level imports too), so a violation fails here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; packages on one line are one layer and may import each other. `telephony` and `voice` are below
# all of `bot` and import nothing of it.
LAYERS: list[set[str]] = [
    {"telephony", "voice"},
    {"bot.core"},
    {"bot.outcomes", "bot.values", "bot.consent", "bot.inbound_routing", "bot.asgi"},
    {"bot.config"},
    {"bot.storage", "bot.audit"},
    {"bot.dialog"},
    {"bot.rasa"},
    {"bot.privacy"},
    {"bot.crm", "bot.contacts"},
    {"bot.handoff", "bot.metrics"},
    {"bot.call_results"},
    {"bot.campaigns"},
    {"bot.calls"},
    {"bot.access"},
    {"bot.api"},
    {"bot.dashboard"},
    {"bot.web"},
    {"bot.devtools", "bot.cli", "bot.log", "bot"},  # the CLI sets up logging (bot/log.py) for the process
]


def package_of(module: str) -> str | None:
    """`bot.calls.bridge` → `bot.calls`; top-level modules (`bot.config`) are packages of their own."""
    parts = module.split(".")
    if parts[0] in ("telephony", "voice"):
        return parts[0]
    if parts[0] != "bot":
        return None
    return "bot" if len(parts) == 1 else f"bot.{parts[1]}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bot":  # `from bot import config`
                found.update(f"bot.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def layer_of(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(f"package {package} is in no layer of tests/test_layers.py: add it where it belongs")


def upward_imports() -> dict[tuple[str, str], list[str]]:
    """(importing module, imported package) → the imported modules, for every import of a package above."""
    found: dict[tuple[str, str], list[str]] = {}
    for top in ("bot", "telephony", "voice"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # a migration is frozen history: it may use any package as it was
            module = module_name(path)
            own = package_of(module)
            assert own is not None
            for imported in imported_modules(path):
                target = package_of(imported)
                if target is not None and target != own and layer_of(target) > layer_of(own):
                    found.setdefault((module, target), []).append(imported)
    return found


def test_no_module_imports_a_package_above_its_own():
    violations = upward_imports()
    lines = [
        f"{module} imports {', '.join(sorted(names))} (above it)" for (module, _), names in violations.items()
    ]
    assert not violations, "\n".join(sorted(lines))


def test_every_package_has_a_layer():
    packages = {package_of(module_name(p)) for top in ("bot",) for p in (ROOT / top).rglob("*.py")}
    for package in packages - {None}:
        layer_of(package)  # raises naming the package


def test_an_upward_import_is_found(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.cli import app\n\nfrom bot import config\n")
    assert imported_modules(module) == {"bot.cli", "bot.config"}
    assert layer_of("bot.cli") > layer_of("bot.dialog") > layer_of("bot.core")


def test_the_sip_benchmark_uses_telephony_alone():
    """`voicebot bench sip` measures telephony/ by itself: it lives with the dev tools but imports no other `bot`."""
    used = {package_of(name) for name in imported_modules(ROOT / "bot" / "devtools" / "bench_sip.py")}
    assert used - {None} == {"telephony"}
