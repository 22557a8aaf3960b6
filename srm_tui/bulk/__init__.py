"""Bulk actions over a segment (issue 17): a support action for every member, frozen at
start, sent through the outbox in batches within the API's pace, resumable after a kill with
nothing done twice, paused or cancelled between batches, and reported member by member.

``BulkService`` (``session.bulk``) is what the CLI and the console call; ``model`` holds
the actions a run may carry and what it reports.
"""

from srm_tui.bulk.model import ACTIONS, BulkInvalid, DryRun, Progress, Refused, Run, fields
from srm_tui.bulk.service import BulkService

__all__ = [
    "ACTIONS",
    "BulkInvalid",
    "BulkService",
    "DryRun",
    "Progress",
    "Refused",
    "Run",
    "fields",
]
