"""Bulk imports of the vendor's exports (ChurnIQ reports) and lists of customer ids or emails.

Everything here writes through the sync's parsing path (srm_tui.sync.parse.validate and
srm_tui.storage.records.upsert) and imports no Textual.
"""
