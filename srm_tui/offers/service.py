"""The offer service: the catalogue from the cache, edits checked by the vendor's rules, sent
with If-Match or kept as drafts, 412 conflicts kept for a merge, season groups and coupons.

The console and ``srm offers`` both call this. Every write goes through a draft row first (in
the cache's transaction), so an edit survives a crash, a lost connection or a 412: the draft
is removed only when the API accepted it, or when the agent discards it.

Over 400 lines: the catalogue's reads, edits, drafts, merges, season groups and coupons are
one service the console and the CLI share; each part is short.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from srm_tui.actions import audit
from srm_tui.api import errors as api_errors
from srm_tui.api.client import ApiClient
from srm_tui.config import Settings
from srm_tui.offers import drafts, forms
from srm_tui.offers import rules as r
from srm_tui.offers.drafts import CONFLICT, Draft
from srm_tui.offers.rules import OfferInvalid, OfferRefused, Problem
from srm_tui.storage import queries, records
from srm_tui.storage.cache import Cache
from srm_tui.writes import (
    OFFER_FIELDS,
    ClientHolder,
    PendingWrite,
    PushSummary,
    Settled,
    WriteEngine,
    interactive_retry,
)

# An edit is interactive: a few quick retries, then it waits as a draft (the one policy every
# write is sent with).
OFFER_RETRY = interactive_retry()
__all__ = ["OfferService", "PushSummary", "Result", "CouponLookup", "OFFER_RETRY"]
LOC_FIELDS = ("title", "description", "price", "geoRestriction", "freeTrial")


@dataclass
class Result:
    """What became of one write."""

    status: str  # applied | draft | conflict | unchanged | discarded
    message: str
    offer: dict[str, Any] | None = None
    draft_id: int | None = None
    # Whether the API answered this write (True), was out of reach (False), or was not asked
    # (None): the console's status line says online or offline from it.
    reached: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "draft_id": self.draft_id,
            "offer_id": (self.offer or {}).get("id"),
        }


@dataclass
class CouponLookup:
    code: str
    cached: list[dict[str, Any]]
    api: list[dict[str, Any]] | None = None
    api_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "campaigns": self.cached,
            "api": self.api,
            "api_error": self.api_error,
        }


class OfferService:
    """Offers, localizations, season groups and coupons over one cache, for one agent."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        client: ApiClient | None = None,
        client_factory: Callable[..., ApiClient] | None = None,
    ):
        """``client_factory`` (the session's ``client``) makes the API client on first use;
        ``client`` is one given outright (tests), closed by whoever made it."""
        self.cache = cache
        self.settings = settings
        self._clients = ClientHolder(settings, client=client, factory=client_factory)

    @property
    def online(self) -> bool:
        return bool(self.settings.api_url)

    def client(self) -> ApiClient:
        """The API client of this service's writes (made once; Unreachable without an API)."""
        return self._clients.get()

    def close(self) -> None:
        self._clients.close()

    def _viewer(self) -> None:
        if self.settings.role == "viewer":
            raise OfferRefused("role.viewer", "the viewer role is read only")

    def _keeps_vendor_copy(self) -> bool:
        """Whether this store takes the API's answer into its vendor tables: a cache does; on
        the team store only its writer or owner may (an agent's offer reaches the store with
        the team's next sync, as its customer actions do)."""
        standing = getattr(self.cache, "role", None)
        return standing is None or standing in ("owner", "sync")

    # reading the cache ---------------------------------------------------------------------

    def offers(self) -> list[dict[str, Any]]:
        return queries.offers(self.cache.conn())

    def offer(self, offer_id: str) -> dict[str, Any] | None:
        row = (
            self.cache.conn()
            .execute("SELECT raw FROM offers WHERE id = ?", (offer_id.split("_")[0],))
            .fetchone()
        )
        return records.decode_raw(row[0]) if row else None

    def require_offer(self, offer_id: str, field_name: str = "offer_id") -> dict[str, Any]:
        message = r.offer_id(offer_id.split("_")[0]) if offer_id else "required"
        if message:
            raise OfferInvalid([Problem(field_name, message, r.ID_FORMAT.id)])
        found = self.offer(offer_id)
        if found is None:
            raise OfferInvalid(
                [
                    Problem(
                        field_name,
                        f"no offer {offer_id} in the cache (srm sync brings the catalogue)",
                    )
                ]
            )
        return found

    def groups(self) -> dict[str, dict[str, Any]]:
        return {g["id"]: g for g in records.raw_records(self.cache.conn(), "season_groups")}

    def sold(self, offer_id: str) -> bool:
        """Whether any of the offer's country versions has been sold (captured or refunded)."""
        return (
            self.cache.conn()
            .execute(
                "SELECT 1 FROM transactions WHERE substr(offer_id, 1, 10) = ? AND status IN "
                "('captured', 'refunded') LIMIT 1",
                (offer_id,),
            )
            .fetchone()
            is not None
        )

    def catalog(self, offer_id: str | None = None) -> forms.Catalog:
        return forms.Catalog(
            self.settings.now_ts(), self.groups(), self.sold(offer_id) if offer_id else False
        )

    def drafts(self, offer_id: str | None = None) -> list[Draft]:
        return drafts.items(self.cache.conn(), offer_id)

    def current(self, offer_id: str) -> dict[str, Any]:
        """The offer as the agent left it: the cached offer with its waiting drafts applied."""
        offer = self.require_offer(offer_id)
        waiting = [d for d in self.drafts(offer["id"]) if d.status == drafts.DRAFT]
        return drafts.applied(offer, waiting)

    # building ------------------------------------------------------------------------------

    def check_offer(
        self, letter: str, values: dict[str, Any], offer_id: str | None = None
    ) -> forms.Built:
        """Every problem with a form, by field, without sending anything."""
        if offer_id is None:
            return forms.build_offer(letter, values, self.catalog())
        offer = self.current(offer_id)
        return forms.build_offer(offer["id"][0], values, self.catalog(offer["id"]), offer)

    def check_localization(
        self, offer_id: str, values: dict[str, Any], country: str | None = None
    ) -> forms.Built:
        offer = self.current(offer_id)
        loc = _loc(offer, country) if country else None
        if country and loc is None:
            raise OfferInvalid(
                [Problem("country", f"{offer['id']} has no localization for {country}")]
            )
        return forms.build_localization(offer, values, loc)

    # writing -------------------------------------------------------------------------------

    def save_offer(
        self,
        letter: str,
        values: dict[str, Any],
        offer_id: str | None = None,
        *,
        draft: bool = False,
    ) -> Result:
        """Create or update an offer from the editor's values."""
        self._viewer()
        built = self.check_offer(letter, values, offer_id)
        if built.problems:
            raise OfferInvalid(built.problems)
        if offer_id is None:
            return self._write(None, "offer", "create", built.body, None, {}, draft)
        offer = self.current(offer_id)
        if not built.body:
            return Result("unchanged", f"{offer['id']}: nothing changed", offer)
        base = {k: offer.get(k) for k in built.body}
        return self._write(
            offer["id"], "offer", "update", built.body, offer.get("version"), base, draft
        )

    def save_offer_json(
        self, body: dict[str, Any], offer_id: str | None = None, *, draft: bool = False
    ) -> Result:
        """Create or update from an API-shaped JSON body (the CLI's files), checked the same
        way: the body is turned into the editor's values, so every rule applies."""
        self._viewer()
        wrong = forms.shape_problems(body)
        if wrong:
            raise OfferInvalid(wrong)
        if offer_id is None:
            unknown = (
                set(body)
                - set(forms_patch_fields())
                - {"type", "offerType", "countryCode", "billingCycle", "pause"}
            )
            if unknown:
                raise OfferInvalid([Problem(sorted(unknown)[0], "not a field a new offer takes")])
            letter = _letter_of(body)
            values = forms.offer_values({"id": letter, **body}, self.groups())
            values["country"] = body.get("countryCode") or "US"
            return self.save_offer(letter, values, draft=draft)
        offer = self.current(offer_id)
        unknown = set(body) - set(forms_patch_fields())
        if unknown:
            raise OfferInvalid(
                [
                    Problem(
                        sorted(unknown)[0],
                        f"not a field an offer update takes ({', '.join(forms_patch_fields())})",
                    )
                ]
            )
        merged = dict(offer)
        for name, value in body.items():
            merged[name] = dict(offer.get("price") or {}, **value) if name == "price" else value
        return self.save_offer(
            offer["id"][0], forms.offer_values(merged, self.groups()), offer["id"], draft=draft
        )

    def save_localization(
        self,
        offer_id: str,
        values: dict[str, Any],
        country: str | None = None,
        *,
        draft: bool = False,
    ) -> Result:
        """Create (``country`` None) or update one of an offer's country versions."""
        self._viewer()
        built = self.check_localization(offer_id, values, country)
        if built.problems:
            raise OfferInvalid(built.problems)
        offer = self.current(offer_id)
        if country is None:
            cc = built.body["countryCode"]
            return self._write(
                offer["id"],
                f"localization:{cc}",
                "create",
                built.body,
                offer.get("version"),
                {},
                draft,
            )
        if not built.body:
            return Result("unchanged", f"{offer['id']}_{country}: nothing changed", offer)
        loc = _loc(offer, country) or {}
        base = {k: loc.get(k) for k in built.body}
        return self._write(
            offer["id"],
            f"localization:{country}",
            "update",
            built.body,
            offer.get("version"),
            base,
            draft,
        )

    def set_active(
        self, offer_id: str, active: bool, country: str | None = None, *, draft: bool = False
    ) -> Result:
        """Activate or deactivate an offer, or one of its localizations."""
        self._viewer()
        offer = self.current(offer_id)
        target, current = "offer", offer.get("active")
        if country:
            loc = _loc(offer, country)
            if loc is None:
                raise OfferInvalid(
                    [Problem("country", f"{offer['id']} has no localization for {country}")]
                )
            message = r.localization_activation(offer, active)
            if message:
                self._audit(
                    f"localization-{'activate' if active else 'deactivate'}",
                    f"{offer['id']}_{country}",
                    None,
                    None,
                    "refused",
                    f"{r.LOC_INACTIVE_OFFER.id}: {message}",
                )
                raise OfferRefused(r.LOC_INACTIVE_OFFER.id, message)
            target, current = f"localization:{country}", loc.get("active")
        if bool(current) == active:
            return Result("unchanged", f"already {'active' if active else 'inactive'}", offer)
        return self._write(
            offer["id"],
            target,
            "activate" if active else "deactivate",
            {"active": active},
            offer.get("version"),
            {"active": current},
            draft,
        )

    def _write(
        self,
        offer_id: str | None,
        target: str,
        op: str,
        changes: dict[str, Any],
        version: int | None,
        base: dict[str, Any],
        draft: bool,
    ) -> Result:
        now = self.settings.now_ts()
        waiting = offer_id is not None and any(
            d.status == drafts.DRAFT or d.status == CONFLICT for d in self.drafts(offer_id)
        )
        with self.cache.transaction() as tx:
            draft_id = drafts.save(
                tx,
                offer_id=offer_id,
                target=target,
                op=op,
                changes=changes,
                base_version=version,
                base=base,
                agent=self.settings.agent,
                now=now,
            )
        item = drafts.get(self.cache.conn(), draft_id)
        if item is None:  # the edit undid what the waiting draft changed
            return Result("unchanged", "the draft is back to the offer's values: removed")
        if draft or not self.online or waiting:
            why = (
                "kept as a draft"
                if draft
                else "offline: kept as a draft"
                if not self.online
                else "kept as a draft behind this offer's other drafts"
            )
            self._audit_draft(item, "queued", why)
            return Result(
                "draft", f"{item.label}: {why} (#{draft_id}); push sends it", draft_id=draft_id
            )
        return self._send(item, direct=True)

    # pushing -------------------------------------------------------------------------------

    def _request(self, d: Draft) -> tuple[str, str, Any, str | None]:
        etag = f'"{d.base_version}"' if d.base_version is not None else None
        if d.target == "offer":
            if d.op == "create":
                return "POST", "/offers", d.changes, None
            if d.op == "update":
                return "PATCH", f"/offers/{d.offer_id}", d.changes, etag
            return "POST", f"/offers/{d.offer_id}/{d.op}", None, etag
        cc = d.country
        if d.op == "create":
            return "POST", f"/offers/{d.offer_id}/localizations", d.changes, etag
        if d.op == "update":
            return "PATCH", f"/offers/{d.offer_id}/localizations/{cc}", d.changes, etag
        return "POST", f"/offers/{d.offer_id}/localizations/{cc}/{d.op}", None, etag

    def push(self, draft_id: int) -> Result:
        """Send one waiting draft (based on its version: a newer server version is a 412)."""
        self._viewer()
        item = drafts.get(self.cache.conn(), draft_id)
        if item is None:
            raise OfferInvalid([Problem("draft", f"no draft #{draft_id}")])
        if item.status == CONFLICT:
            return Result(
                "conflict",
                f"{item.label}: conflicts with the server's version; merge or discard it first",
                draft_id=draft_id,
            )
        return self._send(item, direct=False)

    def write_kind(self) -> Any:
        """Offer edits as a kind of write, for the write engine."""
        from srm_tui.writes.kinds import OfferWrites

        return OfferWrites(self)

    def push_all(self) -> PushSummary:
        """Send every waiting draft, oldest first; conflicts are reported, not sent; the
        first the API does not answer stops the push (the rest wait too)."""
        return WriteEngine([self.write_kind()]).push(fields=OFFER_FIELDS)

    def push_one(self, write: PendingWrite) -> Settled:
        """Send one draft in a push and say how it settled."""
        item: Draft = write.source
        if item.status == CONFLICT:
            return Settled("conflict")
        try:
            result = self._send(item, direct=False)
        except OfferRefused as exc:
            return Settled(
                "failed", f"#{item.id} {item.label}: refused by rule {exc.rule}: {exc.message}"
            )
        if result.status == "applied":
            return Settled("sent")
        if result.status == "conflict":
            return Settled("conflict", result.message)
        return Settled("waiting", result.message, stop=result.message)

    def _send(self, item: Draft, *, direct: bool) -> Result:
        method, path, body, etag = self._request(item)
        now = self.settings.now_ts()
        try:
            answer, _ = self.client().offer_write(
                method, path, body, etag, idempotency_key=item.key
            )
        except api_errors.PreconditionFailed as exc:
            return self._conflict(item, exc.message, now)
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc) or isinstance(exc, api_errors.AuthError):
                with self.cache.transaction() as tx:
                    drafts.failed(tx, item.id, exc.message, now)
                self._audit_draft(item, "queued", exc.message)
                return Result(
                    "draft",
                    f"{item.label}: {exc.message}; kept as draft #{item.id}",
                    draft_id=item.id,
                    reached=not isinstance(exc, api_errors.Unreachable),
                )
            rule = r.rule_for(exc.message)
            rule_id = rule.id if rule else "api"
            with self.cache.transaction() as tx:
                if direct:  # the editor still holds the values: no draft is left behind
                    drafts.delete(tx, item.id)
                else:
                    drafts.failed(tx, item.id, f"{rule_id}: {exc.message}", now)
            self._audit_draft(item, "refused", f"{rule_id}: {exc.message}")
            raise OfferRefused(rule_id, exc.message) from None
        if answer is None:  # 204: the server already had these values
            answer, _ = self.client().offer(item.offer_id) if item.offer_id else (None, None)
        if item.offer_id is None and answer is not None:
            item.offer_id = answer["id"]
        with self.cache.transaction() as tx:
            if answer is not None and self._keeps_vendor_copy():
                _store(tx, "offers", [answer], now)
            drafts.delete(tx, item.id)
        self._audit_draft(item, "applied" if direct else "sent", None)
        return Result(
            "applied",
            f"{item.label.replace('new offer', item.offer_id or '')}: done",
            answer,
            reached=True,
        )

    def _conflict(self, item: Draft, message: str, now: int) -> Result:
        """412: keep the server's values of the draft's fields beside it."""
        assert item.offer_id is not None
        server, etag = self.client().offer(item.offer_id)
        version = server.get("version")
        if version is None and etag:
            version = int(etag.strip('W/"'))
        if item.target == "offer":
            theirs = {k: server.get(k) for k in item.changes}
        else:
            loc = _loc(server, item.country or "")
            theirs = {k: (loc or {}).get(k) for k in item.changes}
            if loc is None and item.op != "create":
                theirs = {k: None for k in item.changes}
        with self.cache.transaction() as tx:
            if self._keeps_vendor_copy():
                _store(tx, "offers", [server], now)
            drafts.conflict(tx, item.id, theirs, version, message, now)
        self._audit_draft(item, "conflict", message)
        return Result(
            "conflict",
            f"{item.label}: the offer changed on the server (version "
            f"{item.base_version} -> {version}); draft #{item.id} is kept "
            "beside it: merge or discard",
            server,
            item.id,
        )

    # merging -------------------------------------------------------------------------------

    def merge_rows(self, draft_id: int) -> list[tuple[str, Any, Any, Any]]:
        """(field, value when drafted, the server's value, the draft's value) per field."""
        item = self._draft(draft_id)
        server = item.server or {}
        return [
            (name, item.base.get(name), server.get(name), value)
            for name, value in item.changes.items()
        ]

    def resolve(self, draft_id: int, choices: dict[str, str], *, push: bool = True) -> Result:
        """Take mine or theirs per field of a conflicting draft; mine is then pushed again."""
        self._viewer()
        item = self._draft(draft_id)
        if item.status != CONFLICT:
            raise OfferInvalid([Problem("draft", f"draft #{draft_id} is not in conflict")])
        missing = [name for name in item.changes if choices.get(name) not in ("mine", "theirs")]
        if missing:
            raise OfferInvalid([Problem(missing[0], "choose mine or theirs")])
        server = item.server or {}
        kept = {
            k: v for k, v in item.changes.items() if choices[k] == "mine" and v != server.get(k)
        }
        now = self.settings.now_ts()
        if not kept:
            with self.cache.transaction() as tx:
                drafts.delete(tx, item.id)
            self._audit_draft(item, "discarded", "merged: the server's version kept")
            return Result(
                "discarded", f"{item.label}: the server's version is kept; draft #{item.id} removed"
            )
        with self.cache.transaction() as tx:
            drafts.rebase(
                tx, item.id, kept, {k: server.get(k) for k in kept}, item.server_version, now
            )
        if push and self.online:
            return self.push(item.id)
        return Result(
            "draft", f"{item.label}: merged; draft #{item.id} waits for push", draft_id=item.id
        )

    def discard(self, draft_id: int) -> Result:
        item = self._draft(draft_id)
        with self.cache.transaction() as tx:
            drafts.delete(tx, item.id)
        self._audit_draft(item, "discarded", "discarded by the agent")
        return Result("discarded", f"{item.label}: draft #{item.id} discarded")

    def _draft(self, draft_id: int) -> Draft:
        item = drafts.get(self.cache.conn(), draft_id)
        if item is None:
            raise OfferInvalid([Problem("draft", f"no draft #{draft_id}")])
        return item

    # season groups and seasons ---------------------------------------------------------------

    def _group(self, group_id: str) -> dict[str, Any]:
        group = self.groups().get(group_id)
        if group is None:
            raise OfferInvalid([Problem("group", f"no season group {group_id} in the cache")])
        return group

    def _api(self, method: str, path: str, body: Any, action: str, target: str) -> Any:
        """A season-group write: refusals name their rule; the group comes back."""
        self._viewer()
        try:
            answer, _ = self.client().offer_write(method, path, body)
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc) or isinstance(exc, api_errors.AuthError):
                raise
            rule = r.rule_for(exc.message)
            self._audit(
                action,
                target,
                body,
                None,
                "refused",
                f"{rule.id if rule else 'api'}: {exc.message}",
            )
            raise OfferRefused(rule.id if rule else "api", exc.message) from None
        self._audit(action, target, None, body, "applied", None)
        return answer

    def _refuse(self, action: str, target: str, found: tuple[r.Rule, str] | None) -> None:
        if found:
            rule, message = found
            self._audit(action, target, None, None, "refused", f"{rule.id}: {message}")
            raise OfferRefused(rule.id, message)

    def create_group(self, name: str) -> dict[str, Any]:
        name = _name(name)
        message = r.group_name(name, list(self.groups().values()))
        self._refuse("season-group-create", name, (r.GROUP_NAME, message) if message else None)
        group = self._api(
            "POST", "/offers/season-groups", {"name": name}, "season-group-create", name
        )
        self._store_group(group)
        return group

    def rename_group(self, group_id: str, name: str) -> dict[str, Any]:
        self._group(group_id)
        name = _name(name)
        message = r.group_name(name, list(self.groups().values()), group_id)
        self._refuse("season-group-rename", group_id, (r.GROUP_NAME, message) if message else None)
        group = self._api(
            "PATCH",
            f"/offers/season-groups/{group_id}",
            {"name": name},
            "season-group-rename",
            group_id,
        )
        self._store_group(group)
        return group

    def delete_group(self, group_id: str) -> None:
        group = self._group(group_id)
        self._refuse(
            "season-group-delete",
            group_id,
            r.group_delete(group, self.settings.now_ts(), self.offers()),
        )
        self._api(
            "DELETE", f"/offers/season-groups/{group_id}", None, "season-group-delete", group_id
        )
        if self._keeps_vendor_copy():
            with self.cache.transaction() as tx:
                records.delete(tx, "season_groups", [group_id])

    def add_season(self, group_id: str, start: int, end: int) -> dict[str, Any]:
        group = self._group(group_id)
        self._refuse(
            "season-add", group_id, r.season_new(group, start, end, self.settings.now_ts())
        )
        group = self._api(
            "POST",
            f"/offers/season-groups/{group_id}/seasons",
            {"startDate": start, "endDate": end},
            "season-add",
            group_id,
        )
        self._store_group(group)
        return group

    def edit_season(self, group_id: str, season_id: int, start: int, end: int) -> dict[str, Any]:
        group = self._group(group_id)
        if not any(s["id"] == season_id for s in group["seasons"]):
            raise OfferInvalid([Problem("season", f"no season {season_id} in {group['name']}")])
        self._refuse(
            "season-edit",
            f"{group_id}/{season_id}",
            r.season_edit(group, season_id, start, end, self.settings.now_ts()),
        )
        group = self._api(
            "PATCH",
            f"/offers/season-groups/{group_id}/seasons/{season_id}",
            {"startDate": start, "endDate": end},
            "season-edit",
            f"{group_id}/{season_id}",
        )
        self._store_group(group)
        return group

    def remove_season(self, group_id: str, season_id: int) -> dict[str, Any]:
        group = self._group(group_id)
        if not any(s["id"] == season_id for s in group["seasons"]):
            raise OfferInvalid([Problem("season", f"no season {season_id} in {group['name']}")])
        self._refuse("season-remove", f"{group_id}/{season_id}", r.season_remove(group, season_id))
        group = self._api(
            "DELETE",
            f"/offers/season-groups/{group_id}/seasons/{season_id}",
            None,
            "season-remove",
            f"{group_id}/{season_id}",
        )
        self._store_group(group)
        return group

    def _store_group(self, group: dict[str, Any]) -> None:
        if not self._keeps_vendor_copy():
            return
        with self.cache.transaction() as tx:
            _store(tx, "season_groups", [group], self.settings.now_ts())

    # coupons ---------------------------------------------------------------------------------

    def lookup_coupon(self, code: str, *, ask_api: bool = True) -> CouponLookup:
        """The campaigns holding a coupon code: the cache's, and the API's answer when online."""
        code = code.strip()
        if not r_coupon(code):
            raise OfferInvalid(
                [Problem("code", "a coupon code is 2 to 40 letters, digits, _ or -")]
            )
        rows = (
            self.cache.conn()
            .execute(
                "SELECT c.raw FROM campaign_codes k JOIN campaigns c ON c.id = k.campaign_id "
                "WHERE k.code = ? ORDER BY c.id",
                (code,),
            )
            .fetchall()
        )
        found = CouponLookup(code, [records.decode_raw(row[0]) for row in rows])
        if ask_api and self.online:
            try:
                found.api = self.client().campaigns(code)
            except api_errors.ApiError as exc:
                found.api_error = exc.message
        return found

    # audit -------------------------------------------------------------------------------------

    def _audit(
        self,
        action: str,
        target: str | None,
        before: Any,
        after: Any,
        outcome: str,
        detail: str | None,
    ) -> None:
        with self.cache.transaction() as tx:
            audit.record(
                tx,
                at=self.settings.now_ts(),
                agent=self.settings.agent,
                role=self.settings.role,
                action=action,
                target=target,
                customer_id=None,
                before=before,
                after=after,
                outcome=outcome,
                detail=detail,
            )

    def _audit_draft(self, item: Draft, outcome: str, detail: str | None) -> None:
        what = "localization" if item.country else "offer"
        target = item.offer_id or "new offer"
        if item.country:
            target += f"_{item.country}"
        self._audit(f"{what}-{item.op}", target, item.base or None, item.changes, outcome, detail)


def _loc(offer: dict[str, Any], country: str) -> dict[str, Any] | None:
    return next(
        (loc for loc in offer.get("localizations") or [] if loc.get("countryCode") == country), None
    )


def _store(tx: Any, entity: str, items: list[dict[str, Any]], now: int) -> None:
    from srm_tui.sync.parse import validate

    good, bad = validate(entity, items)
    if bad:
        raise api_errors.MalformedResponse(
            f"the API answered a {entity} record srm cannot read: {bad[0][1]}"
        )
    records.upsert(tx, entity, good, now)


def _name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise OfferInvalid([Problem("name", "1 to 100 characters")])
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise OfferInvalid([Problem("name", "must not contain control characters")])
    return name


def r_coupon(code: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9_-]{2,40}", code) is not None


def forms_patch_fields() -> tuple[str, ...]:
    return (
        "title",
        "description",
        "tags",
        "url",
        "imageUrl",
        "price",
        "geoRestriction",
        "entitlement",
        "event",
        "freeTrial",
        "externalProperties",
        "appStoreProductIds",
        "seasonGroupId",
        "giftable",
    )


def _letter_of(body: dict[str, Any]) -> str:
    kind = body.get("type")
    letter = body.get("offerType") or {"subscription": "S", "pass": "P", "live": "E"}.get(kind)
    if letter is None and kind == "vod":
        hours = ((body.get("entitlement") or {}).get("duration") or {}).get("periodUnit")
        letter = "R" if hours == "hour" else "A"
    if letter not in ("S", "P", "E", "A", "R"):
        raise OfferInvalid(
            [Problem("type", "subscription, pass, live or vod (offerType A or R for vod)")]
        )
    return letter
