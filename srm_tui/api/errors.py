"""Typed errors of the vendor API client. Messages never contain the API key."""

from __future__ import annotations


class ApiError(Exception):
    """Any failure talking to the API."""

    status: int | None = None

    def __init__(self, message: str, status: int | None = None, body: object = None):
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.status
        self.body = body


class Unreachable(ApiError):
    """No answer: connection refused, DNS, timeouts after every retry."""

    refused: bool = False  # the connection itself was refused: nothing listens there


class AuthError(ApiError):
    """401/403: the API key is wrong or lacks the right."""


class BadRequest(ApiError):
    """400: the API refused the request's shape."""


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    """412: the record changed since the version the request was based on."""

    status = 412


class RuleRefused(ApiError):
    """422: a business rule refused the request (e.g. "User has an active subscription")."""

    status = 422


class RateLimited(ApiError):
    status = 429


class ServerError(ApiError):
    """5xx after every retry."""


class MalformedResponse(ApiError):
    """The body was not the JSON the API documents (truncated, wrong type)."""


def for_status(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    return {
        400: BadRequest,
        404: NotFound,
        409: Conflict,
        412: PreconditionFailed,
        422: RuleRefused,
        429: RateLimited,
    }.get(status, ServerError if status >= 500 else ApiError)


def is_transient(exc: ApiError) -> bool:
    """Failures worth trying again later (the outbox keeps such actions pending)."""
    return isinstance(exc, (Unreachable, ServerError, RateLimited, MalformedResponse))
