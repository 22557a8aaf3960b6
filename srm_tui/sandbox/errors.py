"""Refusals raised by sandbox operations; the server turns them into HTTP answers."""

from __future__ import annotations


class Refusal(Exception):
    """An operation was refused; `status` is the HTTP status the vendor answers with."""

    status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(Refusal):
    """The request itself is malformed (400)."""

    status = 400


class NotFound(Refusal):
    """The addressed record does not exist (404)."""

    status = 404


class Unprocessable(Refusal):
    """A business rule refuses the change (422)."""

    status = 422


class PreconditionFailed(Refusal):
    """`If-Match` names a version that is no longer current (412)."""

    status = 412
