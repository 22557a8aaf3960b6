"""Typed read repositories above the cache: what the console shows, as small read models.

Screens and widgets reach these through the session (``app.session.customers``,
``app.session.status``), never by importing storage."""

from srm_tui.storage.reads.customers import (
    AccountView,
    CustomerReads,
    FieldChange,
    OfferRef,
    OpenItem,
    ProfileEdit,
    SearchAnswer,
)
from srm_tui.storage.reads.status import (
    OutboxRow,
    Quarantined,
    Status,
    StatusReads,
    SyncOverview,
    SyncRun,
)

__all__ = [
    "AccountView",
    "CustomerReads",
    "FieldChange",
    "OfferRef",
    "OpenItem",
    "OutboxRow",
    "ProfileEdit",
    "Quarantined",
    "SearchAnswer",
    "Status",
    "StatusReads",
    "SyncOverview",
    "SyncRun",
]
