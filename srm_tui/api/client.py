"""The vendor API client: auth, envelopes, paging, retries with backoff, typed errors.

Retries and the pace learnt from 429s: srm_tui/api/retry.py (``RetryPolicy`` is imported
from here by callers).

Over 400 lines: one client class whose requests, paging and typed errors share the retry
and envelope handling; the retry policy itself is already apart (api/retry.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from srm_tui.api import errors
from srm_tui.api.retry import Pace, RetryPolicy, Transient, retry_after

USER_AGENT = "srm-tui"
# A page of 1,000 records is a few MB; anything far bigger is not an answer to read whole.
MAX_BODY_BYTES = 32 << 20


class _TooLarge(Exception):
    pass


@dataclass
class Page:
    """One page of an enumeration: items, where to go on from, and what is left."""

    items: list[Any]
    next_since: int
    has_more: bool
    total: int | None
    raw_body: bytes = b""


def _message(body: Any, fallback: str) -> str:
    """The vendor's error text from whichever envelope it used."""
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])
        errs = body.get("errors")
        if isinstance(errs, list) and errs:
            return "; ".join(str(e) for e in errs)
    return fallback


def unwrap(body: Any) -> Any:
    """The payload inside the vendor's envelopes.

    Customers: ``{success, message, data}``; PATCH subscription: ``{success, subscription}``;
    MediaStore: ``{responseData, errors}``; newer resources: the bare resource.
    """
    if isinstance(body, dict):
        if "success" in body and ("data" in body or "subscription" in body or "payment" in body):
            if body.get("success") is False:
                raise errors.ApiError(_message(body, "the API reported a failure"), body=body)
            for key in ("data", "subscription", "payment"):
                if key in body:
                    return body[key]
        if "responseData" in body and "errors" in body:
            if body["errors"]:
                raise errors.ApiError(_message(body, "the API reported errors"), body=body)
            return body["responseData"]
    return body


class ApiClient:
    """A thin, typed face over the vendor's Core API 3.1 (and the sandbox's extensions)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.max_body = max_body
        self._sleep = sleep
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            headers["X-Publisher-Token"] = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
        self.retries = 0  # how many retries this client made (for summaries)
        self.pace = Pace(sleep)  # the vendor publishes no rate limit: learnt from 429s

    @property
    def limited(self) -> int:
        """How many 429 answers this client met."""
        return self.pace.limited

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # core request ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send a request, retrying transient failures; returns a 2xx response with JSON.

        Writes always carry an ``Idempotency-Key`` so a retry after a lost answer is applied
        once. Raises a typed ``ApiError`` for everything else.
        """
        headers = dict(headers or {})
        if method.upper() not in ("GET", "HEAD"):
            headers.setdefault("Idempotency-Key", idempotency_key or uuid.uuid4().hex)
        retrying = self.retry.retrying(self._sleep, self._count_retry)
        try:
            # the same headers (and so the same Idempotency-Key) on every attempt
            return retrying(self._attempt, method, path, params, json_body, headers)
        except Transient as exc:
            raise exc.error from None

    def _count_retry(self) -> None:
        self.retries += 1

    def _attempt(
        self, method: str, path: str, params: Any, json_body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        """One try: a 2xx answer with its JSON read, a typed ``ApiError`` that no retry would
        change, or ``Transient`` (a timeout, a broken connection, 429, 5xx, a garbled body)."""
        self.pace.keep()
        try:
            response, body_bytes = self._exchange(method, path, params, json_body, headers)
        except httpx.TimeoutException as exc:
            raise Transient(
                errors.Unreachable(f"the API did not answer in time ({type(exc).__name__})")
            ) from None
        except httpx.ConnectError as exc:
            # Refused (or no such host): nothing to wait for; the policy tries it only briefly.
            refused = errors.Unreachable(f"cannot reach the API at {self.base_url}: {_short(exc)}")
            refused.refused = True
            raise Transient(refused, refused=True) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise Transient(
                errors.Unreachable(
                    f"{method} {path}: the connection broke off in the "
                    f"middle of the answer ({_short(exc)})"
                )
            ) from None
        except _TooLarge:
            raise Transient(
                errors.MalformedResponse(
                    f"{method} {path}: the answer is larger than {self.max_body >> 20} MB; not read"
                )
            ) from None
        except httpx.DecodingError as exc:
            raise Transient(
                errors.MalformedResponse(
                    f"{method} {path}: the body cannot be decoded ({_short(exc)})"
                )
            ) from None
        except (
            httpx.UnsupportedProtocol,
            httpx.LocalProtocolError,
            httpx.InvalidURL,
        ) as exc:  # nothing a retry would change
            raise errors.ApiError(f"cannot send {method} {path}: {_short(exc)}") from None
        if response.status_code == 429:
            self.pace.slow_down()
        else:
            self.pace.speed_up()
        if response.status_code < 300:
            if response.status_code == 204 or not body_bytes:
                return response
            try:
                response._srm_json = json.loads(body_bytes)  # type: ignore[attr-defined]
            except (ValueError, RecursionError):
                raise Transient(
                    errors.MalformedResponse(
                        f"{method} {path}: the body is not valid JSON "
                        f"({len(body_bytes)} bytes, {response.headers.get('content-type')})",
                        status=response.status_code,
                        body=body_bytes[:2000],
                    )
                ) from None
            return response
        try:
            body: Any = json.loads(body_bytes) if body_bytes else None
        except (ValueError, RecursionError):
            body = body_bytes[:500].decode("utf-8", "replace")
        cls = errors.for_status(response.status_code)
        error = cls(
            _message(body, f"HTTP {response.status_code}"),
            status=response.status_code,
            body=body,
        )
        if response.status_code not in (429, 500, 502, 503, 504):
            raise error
        raise Transient(error, retry_after(response))

    def _exchange(
        self, method: str, path: str, params: Any, json_body: Any, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        """One request; the body is read only up to ``max_body`` bytes (a huge or endless
        answer is cut off instead of filling memory)."""
        request = self._http.build_request(
            method, path, params=params, json=json_body, headers=headers
        )
        response = self._http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_body:
                raise _TooLarge()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body:
                    raise _TooLarge()
                chunks.append(chunk)
        finally:
            response.close()
        body = b"".join(chunks)
        response._content = body  # what Response.read() keeps; .content works as usual
        return response, body

    def get_json(self, path: str, params: Any = None) -> tuple[Any, httpx.Response]:
        response = self.request("GET", path, params=params)
        return getattr(response, "_srm_json", None), response

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, httpx.Response]:
        response = self.request(
            method, path, json_body=body, headers=headers, idempotency_key=idempotency_key
        )
        return getattr(response, "_srm_json", None), response

    # paging ----------------------------------------------------------------------------

    def paginate(
        self, path: str, params: dict[str, Any] | None = None, limit: int = 100
    ) -> Iterator[Any]:
        """Every item of an offset/limit list, using ``X-Total-Count`` to know the end.

        A page that brings nothing new ends the list: ``GET /passes`` documents ``offset``
        only, and a list that ignores the paging would otherwise be read forever.
        """
        offset = 0
        seen: set[str] = set()
        while True:
            query = dict(params or {}, offset=offset, limit=limit)
            body, response = self.get_json(path, query)
            items = unwrap(body)
            if not isinstance(items, list):
                raise errors.MalformedResponse(f"GET {path}: expected a list of items")
            fresh = []
            for item in items:
                mark = json.dumps(item, sort_keys=True, default=str)
                if mark not in seen:
                    seen.add(mark)
                    fresh.append(item)
            yield from fresh
            offset += len(items)
            total = _count(response.headers.get("X-Total-Count"))
            if (
                not fresh
                or (total is not None and offset >= total)
                or (total is None and len(items) < limit)
            ):
                return

    def changes(
        self, entity: str, since: int, limit: int = 1000, customer_id: int | None = None
    ) -> Page:
        """One page of the sandbox's enumeration extension (records changed after ``since``)."""
        params: dict[str, Any] = {"since": since, "limit": limit}
        if customer_id is not None:
            params["customerId"] = customer_id
        response = self.request("GET", f"/x-srm/{entity}", params=params)
        body = getattr(response, "_srm_json", None)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise errors.MalformedResponse(
                f"GET /x-srm/{entity}: expected {{items, nextSince}}", body=response.content[:2000]
            )
        try:
            next_since = int(body.get("nextSince", since))
        except (TypeError, ValueError) as exc:
            raise errors.MalformedResponse(f"GET /x-srm/{entity}: bad nextSince") from exc
        total = response.headers.get("X-Total-Count")
        return Page(
            items=body["items"],
            next_since=next_since,
            has_more=bool(body.get("hasMore")),
            total=int(total) if total and total.isdigit() else None,
            raw_body=response.content,
        )

    # single records (vendor routes) ------------------------------------------------------

    def customer(self, customer_id: int) -> dict[str, Any]:
        body, _ = self.get_json(f"/customers/{customer_id}")
        return unwrap(body)

    def customers_by(
        self, *, email: str | None = None, external_id: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"email": email} if email else {"externalId": external_id}
        return list(self.paginate("/customers", params, limit=10))

    def subscriptions(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.paginate("/subscriptions", filters))

    def passes(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.paginate("/passes", filters))

    def offer(self, offer_id: str) -> tuple[dict[str, Any], str | None]:
        """An offer and its ETag (the version a later update must be based on)."""
        body, response = self.get_json(f"/offers/{offer_id}")
        return unwrap(body), response.headers.get("ETag")

    def update_offer(
        self,
        offer_id: str,
        changes: dict[str, Any],
        etag: str | None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """PATCH an offer based on the version ``etag`` names; a newer version on the
        server raises PreconditionFailed (412) instead of overwriting it."""
        headers = {"If-Match": etag} if etag else {}
        body, response = self.send(
            "PATCH",
            f"/offers/{offer_id}",
            changes,
            headers=headers,
            idempotency_key=idempotency_key,
        )
        return unwrap(body), response.headers.get("ETag")

    def offer_write(
        self,
        method: str,
        path: str,
        body: Any = None,
        etag: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Any, str | None]:
        """Any write of the Offer API (offers, localizations, activation, season groups).

        ``etag`` is sent as ``If-Match``; the answer is the record (None for 204 "nothing
        changed") and the new ETag.
        """
        headers = {"If-Match": etag} if etag else {}
        answer, response = self.send(
            method, path, body, headers=headers, idempotency_key=idempotency_key
        )
        return (None if answer is None else unwrap(answer)), response.headers.get("ETag")

    def offers(self, limit: int = 100) -> list[dict[str, Any]]:
        """The whole offer catalogue (``GET /offers``, paged)."""
        return list(self.paginate("/offers", limit=limit))

    def season_groups(self) -> list[dict[str, Any]]:
        body, _ = self.get_json("/offers/season-groups")
        return unwrap(body)

    def campaigns(self, coupon_code: str) -> list[dict[str, Any]]:
        """The campaigns holding a coupon code (the OpenAPI item shape)."""
        body, _ = self.get_json("/campaigns", {"couponCode": coupon_code})
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return body["data"]
        raise errors.MalformedResponse("GET /campaigns: expected {data: [...]}", body=body)


def _count(value: str | None) -> int | None:
    """``X-Total-Count`` as a number; a value that is not one is treated as absent."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
