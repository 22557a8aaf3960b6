"""The command palette: every registered command, and jumping straight to a customer."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from srm_tui.bindings import Spec, display_keys, spec
from srm_tui.domain.text import visible
from srm_tui.domain.token import looks_like_jwt
from srm_tui.sync.lookup import classify


class SrmCommands(Provider):
    """Commands from the binding registry plus "open customer" for ids and emails."""

    def _commands(self):
        """(spec, node, keys) for every action available where the palette was opened: the
        screen's own and the app's bindings that are on there now (another screen's "Back"
        is not; a customer action shows on the tab where it works)."""
        seen: dict[str, tuple[Spec, Any, list[str]]] = {}
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or binding.id is None or binding.id == "app.palette":
                continue
            try:
                found = spec(binding.id)
            except KeyError:  # a widget's own binding, not one of srm's commands
                continue
            if not found.palette:
                continue
            entry = seen.setdefault(binding.id, (found, active.node, []))
            entry[2].append(key)
        return list(seen.values())

    async def discover(self) -> Hits:
        for found, node, keys in self._commands():
            yield DiscoveryHit(
                found.description,
                partial(self._run, found.action, node),
                help=f"{display_keys(','.join(keys))} · {found.id}",
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for found, node, keys in self._commands():
            score = max(matcher.match(found.description), matcher.match(found.id) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(found.description),
                    partial(self._run, found.action, node),
                    help=f"{display_keys(','.join(keys))} · {found.id}",
                )
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
        rows = self.app.session.customers.first_matches(text, limit=5)
        for row in rows:
            label = f"Open customer {row['id']} · {visible(row['email'], 50)}"
            yield Hit(1.0, label, partial(self.app.open_customer, row["id"]), text=label)
        if not rows and kind in ("email", "customer_id", "transaction_id"):
            label = f"Fetch {text} from the API and open it"
            yield Hit(0.9, label, partial(self.app.fetch_and_open, kind, value), text=label)

    async def _run(self, action: str, node: Any) -> None:
        await self.app.run_action(action, node)
