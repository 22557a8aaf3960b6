"""What the console loads before its first frame: only what that frame needs. The vendor
models (pydantic, built for sync and the account view) and the palette's provider wait until
they are used (bench/README.md measures what each cost at start)."""

from __future__ import annotations

import json
import subprocess
import sys

FIRST_FRAME = """
import json, sys
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache

class FirstFrame(SrmApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.exit)

FirstFrame(load_settings(db={db!r}), Cache({db!r}), sync_on_start=False).run(
    headless=True, size=(120, 40)
)
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("srm_tui", "textual.widgets")))))
"""


def test_the_first_frame_loads_neither_the_vendor_models_nor_the_palette(seeded_cache):
    db = seeded_cache(60, 3)
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME.format(db=str(db))],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "srm_tui.screens.customers" in loaded  # the frame was the customer list
    assert "srm_tui.domain.models" not in loaded
    assert "srm_tui.commands" not in loaded
    assert "srm_tui.sync.engine" not in loaded
    assert "textual.widgets._data_table" not in loaded  # the list is not a DataTable
