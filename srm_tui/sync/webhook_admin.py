"""`srm webhooks subscribe` and `srm webhooks status`.

Subscribing goes through the vendor's published calls only: GET /webhook_subscriptions to
read what is registered, PUT /webhook_subscriptions/{topic} per topic. A PUT replaces the
topic's whole list, so every entry already there is sent back as it was; srm's own entry is
added, or brought up to date, never duplicated.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from srm_tui.api import errors
from srm_tui.api.client import ApiClient, unwrap

URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
TOPIC = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


def verification(secret: str) -> dict[str, Any]:
    """The vendor's endpoint verification object for an HMAC-SHA256 shared secret."""
    return {"name": "HMAC", "options": {"hashAlg": "SHA256", "sharedSecret": secret}}


def registered(body: Any) -> dict[str, list[dict[str, Any]]]:
    """The endpoints per topic in a GET /webhook_subscriptions answer.

    The vendor's exact shape was not captured, so the forms seen are read: ``{topic:
    [endpoint, ...]}``, a list of ``{topic, endpoints|urls: [...]}``, or a list of endpoints
    each with its ``topic``; any of them inside ``{data}``/``{items}``/``{responseData}``.
    An answer in none of these is an error: without it srm could drop others' entries.
    """
    body = unwrap(body)
    if isinstance(body, dict):
        for key in ("items", "data", "webhookSubscriptions", "subscriptions"):
            if isinstance(body.get(key), (list, dict)) and len(body) <= 3:
                return registered(body[key])
        if all(isinstance(v, list) for v in body.values()):
            return {t: [_endpoint(e) for e in v] for t, v in body.items()}
    if isinstance(body, list):
        out: dict[str, list[dict[str, Any]]] = {}
        for item in body:
            if not isinstance(item, dict) or not isinstance(item.get("topic"), str):
                break
            group = item.get("endpoints", item.get("urls"))
            entries = out.setdefault(item["topic"], [])
            if isinstance(group, list):
                entries.extend(_endpoint(e) for e in group)
            elif isinstance(item.get("url"), str):
                entries.append({k: v for k, v in item.items() if k != "topic"})
            else:
                break
        else:
            return out
    raise errors.MalformedResponse(
        "GET /webhook_subscriptions: an answer srm cannot read; nothing was changed", body=body
    )


def _endpoint(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"url": entry}
    if isinstance(entry, dict) and isinstance(entry.get("url"), str):
        return dict(entry)
    raise errors.MalformedResponse(
        "GET /webhook_subscriptions: an endpoint without a url; nothing was changed", body=entry
    )


def subscribe(client: ApiClient, url: str, topics: list[str], secret: str | None) -> dict[str, str]:
    """Register ``url`` for ``topics``; per topic: added, updated, unchanged or the error.

    Idempotent: a second run finds srm's entry and sends nothing.
    """
    body, _ = client.get_json("/webhook_subscriptions")
    current = registered(body)
    outcome: dict[str, str] = {}
    for topic in topics:
        entries = current.get(topic, [])
        mine = [e for e in entries if e.get("url") == url]
        wanted = {"url": url}
        if secret:
            wanted["verification"] = verification(secret)
        if mine and all(
            e.get("verification") == wanted.get("verification", e.get("verification")) for e in mine
        ):
            outcome[topic] = "unchanged"
            continue
        # Others' entries go back as they were; srm's keeps its other settings (filters,
        # retry policy) and gets the wanted verification.
        kept = [e for e in entries if e.get("url") != url]
        merged = {**(mine[0] if mine else {}), **wanted}
        try:
            client.send("PUT", f"/webhook_subscriptions/{topic}", kept + [merged])
        except errors.NotFound:
            outcome[topic] = "not offered by this API (unknown topic)"
            continue
        except errors.ApiError as exc:
            if isinstance(exc, errors.Unreachable):
                raise
            outcome[topic] = f"refused: {exc}"
            continue
        outcome[topic] = "updated" if mine else "added"
    return outcome


def status(conn: Any) -> dict[str, Any]:
    """What the receiver has seen, from the cache's counters (every refusal by reason)."""
    counts = {
        r["name"]: (r["count"], r["last_at"])
        for r in conn.execute("SELECT name, count, last_at FROM webhook_counters")
    }
    refused = {
        name.split(":", 1)[1]: n
        for name, (n, _) in sorted(counts.items())
        if name.startswith("refused:")
    }

    def n(name: str) -> int:
        return counts.get(name, (0, None))[0]

    last = conn.execute("SELECT max(received_at) FROM webhook_events").fetchone()[0]
    pending = conn.execute(
        "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL AND error IS NULL"
    ).fetchone()[0]
    recent = [
        dict(r)
        for r in conn.execute(
            "SELECT at, reason, size, source, body_sha256, detail FROM webhook_refusals "
            "ORDER BY id DESC LIMIT 5"
        )
    ]
    for row in recent:
        row["at"] = _iso(row["at"])
    return {
        "received": n("accepted") + n("replayed") + sum(refused.values()),
        "accepted": n("accepted"),
        "processed": n("processed"),
        "failed": n("failed"),
        "pending": pending,
        "replayed": n("replayed"),
        "refused": refused,
        "refused_total": sum(refused.values()),
        "last_delivery_at": _iso(last),
        "recent_refusals": recent,
    }


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
