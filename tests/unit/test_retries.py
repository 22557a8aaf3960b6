"""The API client's retries (srm_tui.api.retry on tenacity), answered by a scripted HTTP
transport: which failures are tried again, how long it waits, what each try carries."""

from __future__ import annotations

import httpx
import pytest

from srm_tui.api import errors
from srm_tui.api.client import ApiClient, RetryPolicy


class Script:
    """Answers requests in order from a list; remembers every request it saw."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, slept: list[float], **policy) -> ApiClient:
    return ApiClient(
        "http://api.test/3.1",
        "k-1",
        transport=httpx.MockTransport(script),
        sleep=slept.append,
        retry=RetryPolicy(**policy) if policy else None,
    )


def ok(body=b'{"data": 1}'):
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


def test_retry_after_is_waited_and_the_write_keeps_its_idempotency_key():
    script = Script(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"}),
        httpx.Response(503, json={"message": "busy"}),
        ok(),
    )
    slept: list[float] = []
    with client(script, slept) as api:
        response = api.request("POST", "/customers/1/notes", json_body={"a": 1})
        assert response._srm_json == {"data": 1}
        assert (api.retries, api.limited) == (2, 1)
    assert slept[0] == 3.0  # Retry-After, as the API asked
    assert 0.2 <= slept[1] <= 0.4  # then backoff: base_delay * 2 ** 1, with jitter
    keys = {r.headers["Idempotency-Key"] for r in script.seen}
    assert len(script.seen) == 3 and len(keys) == 1 and "" not in keys


def test_a_given_idempotency_key_is_sent_and_reads_carry_none():
    script = Script(ok(), ok())
    with client(script, []) as api:
        api.request("PATCH", "/x", json_body={}, idempotency_key="outbox-7")
        api.request("GET", "/x")
    assert script.seen[0].headers["Idempotency-Key"] == "outbox-7"
    assert "Idempotency-Key" not in script.seen[1].headers


def test_a_long_retry_after_is_cut_to_the_policy_and_an_http_date_is_read():
    script = Script(
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(503, headers={"Retry-After": "not a time"}),
        ok(),
    )
    slept: list[float] = []
    with client(script, slept, attempts=4, max_retry_after=7.0, base_delay=1.0) as api:
        api.request("GET", "/x")
    assert slept[0] == 7.0
    assert slept[1] == 0.0  # a date in the past: no wait
    assert 2.0 <= slept[2] <= 4.0  # unreadable: backoff (1.0 * 2 ** 2, jittered)


def test_out_of_attempts_raises_the_last_typed_error():
    script = Script(*[httpx.Response(502, json={"message": f"gateway {i}"}) for i in range(3)])
    slept: list[float] = []
    with client(script, slept, attempts=3, base_delay=0.1, max_delay=0.15) as api:
        with pytest.raises(errors.ApiError, match="gateway 2") as caught:
            api.request("GET", "/x")
        assert caught.value.status == 502 and api.retries == 2
    assert len(slept) == 2 and all(s <= 0.15 for s in slept)  # max_delay caps the backoff


def test_what_a_retry_would_not_change_is_raised_at_once():
    for status, kind in ((404, errors.NotFound), (401, errors.AuthError), (400, errors.BadRequest)):
        script = Script(httpx.Response(status, json={"message": "no"}), ok())
        slept: list[float] = []
        with client(script, slept) as api:
            with pytest.raises(kind):
                api.request("GET", "/x")
            assert api.retries == 0
        assert len(script.seen) == 1 and slept == []


def test_broken_connections_and_garbled_bodies_are_tried_again():
    script = Script(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("cut"),
        ok(b"{not json"),
        ok(),
    )
    slept: list[float] = []
    with client(script, slept) as api:
        assert api.request("GET", "/x")._srm_json == {"data": 1}
        assert api.retries == 4
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    with client(script, [], attempts=2) as api:
        with pytest.raises(errors.Unreachable, match="cannot reach the API"):
            api.request("GET", "/x")


def test_one_attempt_means_no_retry():
    script = Script(httpx.Response(503))
    slept: list[float] = []
    with client(script, slept, attempts=1) as api:
        with pytest.raises(errors.ApiError):
            api.request("GET", "/x")
    assert slept == [] and len(script.seen) == 1


def test_a_refused_connection_is_tried_twice_while_timeouts_and_5xx_keep_their_backoff():
    refused = Script(*[httpx.ConnectError("[Errno 111] Connection refused")] * 6)
    slept: list[float] = []
    with client(refused, slept) as api:  # the default policy: six attempts for the rest
        with pytest.raises(errors.Unreachable, match="Connection refused") as caught:
            api.request("POST", "/x", json_body={})
        assert api.retries == 1
    assert len(refused.seen) == 2 and len(slept) == 1
    assert caught.value.refused
    for failure in (httpx.ConnectTimeout("slow"), httpx.Response(503)):
        script = Script(*[failure] * 6)
        slept = []
        with client(script, slept) as api:
            with pytest.raises(errors.ApiError) as caught:
                api.request("GET", "/x")
            assert api.retries == 5
        assert len(script.seen) == 6 and len(slept) == 5
        assert not getattr(caught.value, "refused", False)
