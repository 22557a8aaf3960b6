"""One write pipeline: the pending-write record, the push-and-resolve engine, the error
family and the push summary. Support actions and offer edits are kinds registered with it."""

from srm_tui.writes.engine import ClientHolder, Settled, WriteEngine, WriteKind, interactive_retry
from srm_tui.writes.errors import WriteConflict, WriteError, WriteInvalid, WriteRefused
from srm_tui.writes.record import PendingWrite
from srm_tui.writes.summary import OFFER_FIELDS, OUTBOX_FIELDS, PushSummary

__all__ = [
    "ClientHolder",
    "OFFER_FIELDS",
    "OUTBOX_FIELDS",
    "PendingWrite",
    "PushSummary",
    "Settled",
    "WriteConflict",
    "WriteEngine",
    "WriteError",
    "WriteInvalid",
    "WriteKind",
    "WriteRefused",
    "interactive_retry",
]
