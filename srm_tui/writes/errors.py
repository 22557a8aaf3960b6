"""The one error family of every write srm sends: invalid input, refused by a rule, conflict.

Support actions and offer edits raise their own named subclasses (``ActionInvalid``,
``OfferRefused``, ...) so callers that know the kind keep catching what they caught; a caller
that handles any write catches these.
"""

from __future__ import annotations


class WriteError(Exception):
    """Base of every reason a write is not carried out as asked."""


class WriteInvalid(WriteError):
    """The input cannot be used; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class WriteRefused(WriteError):
    """A rule refused the write (checked locally, or the API's own refusal); ``rule`` is its
    stable id."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"refused by rule {rule}: {message}")
        self.rule = rule
        self.message = message


class WriteConflict(WriteError):
    """The record changed at the API since the write was based on it: both versions are kept
    beside the write until someone decides."""

    def __init__(self, ref: str, message: str):
        super().__init__(f"{ref}: {message}")
        self.ref = ref
        self.message = message
