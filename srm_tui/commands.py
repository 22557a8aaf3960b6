"""The command palette: every registered command, and jumping straight to a customer."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from srm_tui.bindings import REGISTRY, display_keys
from srm_tui.domain.text import visible
from srm_tui.domain.token import looks_like_jwt
from srm_tui.storage.search import SearchError, search
from srm_tui.sync.lookup import classify


class SrmCommands(Provider):
    """Commands from the binding registry plus "open customer" for ids and emails."""

    def _commands(self):
        for specs in REGISTRY.values():
            for spec in specs:
                if spec.palette and spec.action.startswith("app.") and spec.id != "app.palette":
                    yield spec

    async def discover(self) -> Hits:
        for spec in self._commands():
            yield DiscoveryHit(spec.description, partial(self._run, spec.action),
                               help=f"{display_keys(spec.keys)} · {spec.id}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in self._commands():
            score = matcher.match(spec.description)
            if score > 0:
                yield Hit(score, matcher.highlight(spec.description),
                          partial(self._run, spec.action), help=spec.id)
        text = query.strip()
        if not text:
            return
        if looks_like_jwt(text):
            label = "Look up this customer token (decode, verify, open the customer)"
            yield Hit(1.0, label, partial(self.app.open_token, text), text=label)
            return
        kind, value = classify(text)
        if kind == "external_id" and " " in text:
            return
        try:
            rows = search(self.app.cache.conn(), text, limit=5).rows
        except SearchError:
            rows = []
        for row in rows:
            label = f"Open customer {row['id']} · {visible(row['email'], 50)}"
            yield Hit(1.0, label, partial(self.app.open_customer, row["id"]), text=label)
        if not rows and kind in ("email", "customer_id", "transaction_id"):
            label = f"Fetch {text} from the API and open it"
            yield Hit(0.9, label, partial(self.app.fetch_and_open, kind, value), text=label)

    async def _run(self, action: str) -> None:
        await self.app.run_action(action.removeprefix("app."))
