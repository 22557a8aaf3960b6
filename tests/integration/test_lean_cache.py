"""A lean cache (issue 16) loses no field: a sync from the sandbox over loopback stores every
record compressed with its table's dictionary, and every entity's decoded record equals the
sandbox's export, field by field."""

from __future__ import annotations

import json
import sqlite3

import pytest

from srm_tui.storage import payload
from tests.helpers import cache_matches_export, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "400", "--seed", "11", "--as-of", AS_OF)


def test_a_synced_cache_is_compressed_and_equals_the_export(sandbox, tmp_path):
    db = tmp_path / "c.db"
    result = run_srm("sync", "--json", env=srm_env(sandbox, db))
    assert result.returncode == 0, result.stderr
    export = sandbox.export()
    assert json.loads(result.stdout)["customers"] == len(export["customers"]) == 400
    assert cache_matches_export(db, export) == []
    conn = sqlite3.connect(db)
    try:
        for entity, ident in payload.WRITE_WITH.items():
            rows = conn.execute(f"SELECT raw FROM {entity}").fetchall()
            assert rows or entity == "season_groups", entity
            stored = json_bytes = 0
            for (value,) in rows:
                assert not isinstance(value, str), f"{entity}: a plain JSON row"
                assert value[0] == ident, entity
                stored += len(value)
                json_bytes += len(payload.dumps(payload.decode_raw(value)).encode("utf-8"))
            if entity in ("customers", "subscriptions", "transactions", "emails"):
                assert stored * 2 < json_bytes, entity  # well under half
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    # The account a reader opens is the export's, through the one decode path.
    customer = export["customers"][17]
    shown = run_srm("customer", "show", str(customer["id"]), "--json", env=srm_env(None, db))
    assert shown.returncode == 0, shown.stderr
    assert customer["email"] in shown.stdout
