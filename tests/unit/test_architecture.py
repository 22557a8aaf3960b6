"""The headless core imports no Textual, so the CLI and tests run every service without a UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import srm_tui

# The same list as .importlinter's "The core imports no Textual"; this proves at run time what
# the contract reads from the static graph (launch imports the app only inside a function).
CORE = (
    "domain",
    "storage",
    "api",
    "sync",
    "segments",
    "actions",
    "offers",
    "writes",
    "imports",
    "sandbox",
    "cli",
)


def _core_modules() -> list[str]:
    names = []
    for package in CORE:
        names.append(f"srm_tui.{package}")
        path = [f"{srm_tui.__path__[0]}/{package}"]
        names += [f"srm_tui.{package}.{m.name}" for m in pkgutil.iter_modules(path)]
    return names


def test_core_imports_no_textual():
    modules = _core_modules() + [
        "srm_tui.config",
        "srm_tui.runtime",
        "srm_tui.session",
        "srm_tui.faces",
        "srm_tui.exits",
        "srm_tui.entry",
        "srm_tui.launch",
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Textual imported by the core: {result.stdout}"


def test_every_module_over_400_lines_says_why_at_its_top():
    """Issue 14: no file over about 400 lines without a reason stated at its top."""
    import ast
    from pathlib import Path

    root = Path(srm_tui.__path__[0])
    silent = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= 400:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "400 lines" not in doc:
            silent.append(f"{path.relative_to(root)} ({text.count(chr(10))} lines)")
    assert silent == [], "say why at the top (e.g. 'Over 400 lines: ...'):\n" + "\n".join(silent)


def test_a_command_imports_only_what_it_uses():
    """`srm search` (and every command) starts without importing the other commands: the
    action rules, the bulk engine, the sandbox server and the team store stay unloaded until a
    command of theirs runs. Before, every command (even --version) loaded them all."""
    code = (
        "import sys\n"
        "from srm_tui.cli import main\n"
        "try:\n"
        "    main(['search', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "srm_tui.cli.customers" in loaded
    unused = {
        "srm_tui.actions.rules",
        "srm_tui.bulk.service",
        "srm_tui.cli.actions",
        "srm_tui.cli.bulk",
        "srm_tui.sandbox.server",
        "srm_tui.storage.pg.connection",
        "srm_tui.team",
        "textual",
    }
    assert unused.isdisjoint(loaded), unused & loaded
