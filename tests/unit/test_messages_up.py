"""Workers answer the console's screens and widgets by messages (issue 14, "messages up"):
``call_from_thread`` is left only where the worker needs the call's return value, and such a
call says so in a comment right above it ("needs its return value")."""

from __future__ import annotations

from pathlib import Path

import srm_tui

ROOT = Path(srm_tui.__path__[0])
REASON = "needs its return value"


def _unexplained(path: Path, base: Path = ROOT.parent) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for index, line in enumerate(lines):
        code = line.split("#", 1)[0]
        if "call_from_thread(" not in code:
            continue
        above = " ".join(lines[max(0, index - 2) : index + 1])
        if REASON not in above:
            out.append(f"{path.relative_to(base)}:{index + 1}: {line.strip()}")
    return out


def test_workers_answer_screens_and_widgets_by_messages():
    files = sorted((ROOT / "screens").glob("*.py")) + sorted((ROOT / "widgets").glob("*.py"))
    assert files
    found = [hit for path in files for hit in _unexplained(path)]
    assert found == [], "\n".join(found)


def test_the_check_sees_a_call_without_its_reason(tmp_path):
    """The scan is not blind: an unexplained call is found, an explained one is not."""
    plain = tmp_path / "plain.py"
    plain.write_text("def f(app):\n    app.call_from_thread(print, 1)\n", encoding="utf-8")
    explained = tmp_path / "explained.py"
    explained.write_text(
        f"def f(app):\n    # the answer decides what the worker does next: {REASON}\n"
        "    return app.call_from_thread(input)\n",
        encoding="utf-8",
    )
    assert len(_unexplained(plain, tmp_path)) == 1
    assert _unexplained(explained, tmp_path) == []
