"""What the connected API offers, as the actions need it: without the network for a preview
(the profile remembered in the cache), detected when an action runs online."""

from __future__ import annotations

import json
import sqlite3

from srm_tui.actions.registry import feature
from srm_tui.api import profile as api_profile
from srm_tui.api.profile import ApiProfile, Feature, NotOffered

__all__ = ["remembered", "offered", "NotOffered"]


def remembered(conn: sqlite3.Connection, api_url: str | None) -> ApiProfile | None:
    """The profile the cache remembers: the one of ``api_url`` when given; offline (no URL),
    the last one detected whatever its URL (a cache synced from the vendor stays the
    vendor's when reviewed offline)."""
    if api_url:
        return api_profile.cached_profile(conn, api_url)
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (api_profile.META_KEY,)).fetchone()
    if row is None:
        return None
    try:
        return api_profile.profile_for(json.loads(row[0])["profile"])
    except (ValueError, TypeError, KeyError):
        return None


def offered(profile: ApiProfile | None, action: str) -> Feature | None:
    """The feature row an action needs; raises NotOffered when the profile lacks it.

    None when no profile is known yet (the API decides when the action is sent).
    """
    if profile is None:
        return None
    row = profile.feature(feature(action))
    if not row.available:
        raise NotOffered(row)
    return row
