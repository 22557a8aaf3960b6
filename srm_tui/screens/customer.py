"""Customers › one customer: summary, payments, transactions, emails, notes and history.

The tabs are drawn by srm_tui.screens.customer_tabs; which tab an action works on and the
record it acts on come from its spec (srm_tui.screens.customer_targets).

Over 400 lines: the screen is built once and refilled for each customer opened
(`open_customer`); its state and the reset that refill needs belong with it."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from srm_tui.api.profile import NotOffered
from srm_tui.bindings import bindings
from srm_tui.domain import account as acc
from srm_tui.domain.text import visible
from srm_tui.screens import customer_tabs as tabs
from srm_tui.screens.customer_targets import ACTION_TABS, TAB_NAMES, TABS, target
from srm_tui.screens.stack import kept_screen, push_new_kept
from srm_tui.screens.workers import ApiReached, DataChanged, work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

__all__ = ["TABS", "CustomerScreen", "open_customer"]

KEPT = "customer"  # the name the reused customer screen is installed under


def open_customer(app: Any, customer_id: int) -> None:
    """Push the screen of ``customer_id``: the customer screen kept from the last open,
    refilled, when it is free (building it, its tabs and their styles was about a third of an
    open), else a new one, kept for the next open when none is. A customer not in the cache
    gets a new screen, which says so with nothing else on it."""
    kept, idle = kept_screen(app, KEPT)
    if idle and kept.is_mounted and kept.account is not None:
        view = app.session.customers.account(customer_id, app.settings.now_ts())
        if view is not None:
            kept.refill(customer_id)
            app.push_screen(kept)
            kept.action_reload(view)
            return
    # one that cannot be refilled (never drawn, or it found no customer) gives way
    push_new_kept(app, KEPT, CustomerScreen(customer_id), kept, idle)


class CustomerScreen(Screen):
    """Customers › <email> · <id> — the whole account."""

    BINDINGS = bindings("customer")
    ACTION_TABS = ACTION_TABS
    TAB_NAMES = TAB_NAMES

    class OfferCounted(Message):
        """The offer to open was looked up off the UI thread (None: not cached)."""

        def __init__(self, offer_id: str, holders: int | None, customer_id: int) -> None:
            super().__init__()
            self.offer_id = offer_id
            self.holders = holders
            self.customer_id = customer_id  # asked from this customer's transaction

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.view = None  # the account as read (srm_tui.storage.reads.AccountView)
        self.account: acc.Account | None = None
        self.history_filter: str | None = None
        self.open_items: list[int] = []  # outbox entries of this customer not yet settled
        self.profile = None  # the API's profile as the cache remembers it (what it offers)
        self._fresh_push = False  # refilled and read at its push: its resume reads no more

    def refill(self, customer_id: int) -> None:
        """Ready this screen for another customer, as a new screen would show them: the
        Summary tab at its top, each table's first row, no history filter, the first focus
        (action_reload then fills it, before the screen is drawn)."""
        self.customer_id = customer_id
        self.view = self.account = None
        self.history_filter = None
        self.open_items = []
        self._fresh_push = True
        self.workers.cancel_group(self, "offer")  # an offer asked for the last customer
        self.query_one(TabbedContent).active = "summary"
        self.query_one("#summary", TabPane).query_one(VerticalScroll).scroll_home(animate=False)
        self.set_focus(None)

    # building ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="pending", markup=False)
        yield Static("", id="offered", markup=False)  # what this tab's API cannot do, and why
        with TabbedContent(id="tabs"):
            with TabPane("1 Summary", id="summary"):
                yield VerticalScroll(Static(id="summary-body"))
            with TabPane("2 Payments", id="payments"):
                with Vertical():
                    yield Static(
                        "Payment details on file", id="pd-heading", classes="heading", markup=False
                    )
                    yield Static("", id="pd-missing", markup=False)  # when the API lists none
                    yield DataTable(id="pd-table", cursor_type="row", classes="short")
                    yield Static(id="next-payment")
                    yield Static("Subscriptions and passes", classes="heading", markup=False)
                    yield DataTable(id="access-table", cursor_type="row", zebra_stripes=True)
            with TabPane("3 Transactions", id="transactions"):
                with Vertical():
                    yield DataTable(id="transactions-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="transaction-detail", classes="detail")
            with TabPane("4 Emails", id="emails"):
                with Vertical():
                    yield DataTable(id="emails-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="email-preview", classes="detail")
            with TabPane("5 Notes", id="notes"):
                with Vertical():
                    yield DataTable(id="notes-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="note-detail", classes="detail")
            with TabPane("6 History", id="history"):
                with Vertical():
                    yield Static("", id="history-filter", markup=False)
                    yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        # Back from F5, an outbox entry or a dialog: what was sent meanwhile is shown as sent.
        # (Refilled for another customer just now: read already, at the push.)
        if self.account is not None and not self._fresh_push:
            self.action_reload()
        self._fresh_push = False

    def store_changed(self, message: Any) -> None:
        """Others changed the team store (widgets.workers.StoreChanged): read this customer
        again when the changes name it; the tab, the rows' cursors and the detail stay."""
        if message.names(self.customer_id):
            self.action_reload()

    def action_reload(self, view: Any = None) -> None:
        """Read this customer again and redraw every tab; ``view``: a customer just refilled
        in (open_customer read it), shown from its first rows."""
        if self not in self.app.screen_stack:
            return  # popped already (Enter, Esc faster than frames): its widgets are gone
        session = self.app.session
        new = view is not None  # another customer: no row to stay on
        if view is None:
            view = session.customers.account(self.customer_id, self.app.settings.now_ts())
        crumbs = self.query_one("#crumbs", Static)
        if view is None:
            crumbs.update(
                f"Customers › {self.customer_id} — not in the cache (press esc; "
                "search for it to fetch it from the API)"
            )
            return
        self.view, self.account = view, view.account
        self.profile = session.local_actions.known_profile()
        cursors = {t.id: 0 if new else t.cursor_row for t in self.query(DataTable)}
        c = self.account.customer
        who = visible(c.get("email"), 60) if c.get("email") else "(anonymized)"
        crumbs.update(f"Customers › {who} · {c['id']} · {self.account.status}")
        self._pending()
        for draw in (tabs.summary, tabs.payments, tabs.transactions, tabs.emails, tabs.notes):
            draw(self)
        tabs.history(self)
        self._offered()
        for table in self.query(DataTable):  # the agent stays on the row it was on
            row = cursors.get(table.id, 0)
            if 0 < row < table.row_count or (new and table.cursor_row):
                table.move_cursor(row=row, animate=False)

    def _pending(self) -> None:
        """Actions of this customer still waiting for the API (or for the agent's decision)."""
        items = self.app.session.customers.open_items(self.customer_id)
        self.open_items = [i.id for i in items]
        banner = self.query_one("#pending", Static)
        banner.disabled = not items
        # The state in words (never by colour alone); what needs a decision in capitals.
        lines = [
            f"Outbox #{i.id} {i.status if i.status == 'pending' else i.status.upper()}: "
            f"{i.action} {visible(i.target, 30)}"
            + (f" — {visible(i.last_error, 80)}" if i.last_error else "")
            for i in items
        ]
        if items:
            lines.append(
                "p shows both versions and the choices (retry, edit, discard)"
                if any(i.status != "pending" for i in items)
                else "p shows what waits; it is sent when the API answers"
            )
        banner.update("\n".join(lines))
        self.refresh_bindings()

    def not_offered(self, feature: str) -> NotOffered | None:
        """Why the connected API cannot do ``feature`` (None when it can, or is unknown)."""
        if self.profile is None or self.profile.offers(feature):
            return None
        return NotOffered(self.profile.feature(feature))

    def _active_tab(self, default: str | None = "summary") -> str | None:
        try:
            return self.query_one(TabbedContent).active
        except Exception:  # not mounted yet
            return default

    def _offered(self) -> None:
        """Name the actions of the current tab that the API does not offer, with the vendor's
        own way, where the agent looks for them."""
        line = self.query_one("#offered", Static)
        tab = self._active_tab()
        service = self.app.session.local_actions
        # One line per vendor's way: the actions it covers share it (Refund and Cancel
        # transaction are one dashboard page), and a way the tab's body already shows is not
        # said twice (80x24 has no lines to spare).
        ways: dict[str | None, list[str]] = {}
        if self.app.settings.role != "viewer":
            for action, where in ACTION_TABS.items():
                if tab in where and action in service.REGISTRY_NAMES:
                    missing = service.availability(action)
                    if missing is not None:
                        labels = ways.setdefault(missing.feature.vendor_way, [])
                        if missing.feature.label not in labels:
                            labels.append(missing.feature.label)
        below = self._way_below(tab)  # said by the body: one line at 80 columns here
        texts = [
            f"Unavailable — {', '.join(labels)}: not offered by this API"
            + ("." if way is None else " (see below)." if way == below else f". {way}")
            for way, labels in ways.items()
        ]
        line.disabled = not texts
        line.update("\n".join(texts))

    def _way_below(self, tab: str | None) -> str | None:
        """The vendor's way the tab's body shows, when it shows one: Payments always says why
        the API lists no payment details, Emails while it lists none."""
        feature = {"payments": "payment_details", "emails": "emails"}.get(tab or "")
        missing = self.not_offered(feature) if feature else None
        if missing is None:
            return None
        if tab == "emails" and self.query_one("#emails-table", DataTable).row_count:
            return None
        return missing.feature.vendor_way

    # details -----------------------------------------------------------------------------

    def selected(self, selector: str) -> str | None:
        """The row key of the highlighted row of a table (None when it has no rows)."""
        table = self.query_one(selector, DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def find(self, entity: str, key_field: str, key: str | None) -> dict[str, Any] | None:
        """The account's record of ``entity`` whose ``key_field`` is ``key``."""
        if key is None or self.account is None:
            return None
        return next(
            (r for r in self.account.records.get(entity, []) if str(r[key_field]) == key), None
        )

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        show = tabs.DETAILS.get(event.data_table.id or "")
        if show is not None:
            show(self)

    # keys --------------------------------------------------------------------------------

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        pane = self.query_one(f"#{name}", TabPane)
        focusable = pane.query("DataTable, VerticalScroll")
        if focusable:
            focusable.first().focus()

    def action_next_tab(self, step: int) -> None:
        current = self.query_one(TabbedContent).active
        index = TABS.index(current) if current in TABS else 0
        self.action_tab(TABS[(index + step) % len(TABS)])

    def action_filter_history(self) -> None:
        kinds = (None, *acc.TIMELINE_KINDS)
        self.history_filter = kinds[(kinds.index(self.history_filter) + 1) % len(kinds)]
        self.action_tab("history")
        tabs.history(self)

    def action_copy_offer_url(self) -> None:
        t = self.find("transactions", "transactionId", self.selected("#transactions-table"))
        if t is None:
            return
        offer = self.app.session.customers.offer(t.get("offerId") or "")
        if offer is None or not offer.url:
            self.notify("This offer has no URL.", severity="warning")
            return
        self.app.copy_to_clipboard(offer.url)
        self.notify(f"Copied {visible(offer.url, 80)}")

    def action_cursor(self, step: int) -> None:
        table = self.focused
        if isinstance(table, DataTable):
            table.move_cursor(row=max(0, table.cursor_row + step))

    def action_view_offer(self) -> None:
        t = self.find("transactions", "transactionId", self.selected("#transactions-table"))
        if t is None:
            self.notify("Highlight a transaction first.", severity="warning")
            return
        self._count_offer(t["offerId"].split("_")[0], self.customer_id)

    @work(thread=True, exclusive=True, group="offer")
    def _count_offer(self, offer_id: str, customer_id: int) -> None:
        """Holders are counted over the whole cache: off the UI thread."""
        reads = self.app.session.customers
        holders = None
        if reads.offer(offer_id) is not None:
            holders = reads.offer_holders(offer_id, self.app.settings.now_ts())
        self.post_message(self.OfferCounted(offer_id, holders, customer_id))

    @on(OfferCounted)
    def _open_offer(self, message: OfferCounted) -> None:
        from srm_tui.screens.offers import OfferScreen

        # The kept screen outlives an Esc and is refilled: a count that comes after the agent
        # left this customer opens nothing.
        if message.customer_id != self.customer_id or self not in self.app.screen_stack:
            return
        if message.holders is None:
            self.notify(f"Offer {message.offer_id} is not in the cache.", severity="warning")
            return
        self.app.push_screen(OfferScreen(message.offer_id, message.holders))

    def action_change_history(self) -> None:
        from srm_tui.screens.change_history import ChangeHistoryScreen

        if self.account is not None:
            self.app.push_screen(ChangeHistoryScreen(self.customer_id))

    def action_pending(self) -> None:
        from srm_tui.screens.outbox_item import OutboxItemScreen

        if not self.open_items:
            self.notify("Nothing of this customer waits in the outbox.")
            return
        self.app.push_screen(
            OutboxItemScreen(self.open_items), lambda changed: changed and self.action_reload()
        )

    # actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The viewer role sees no action at all; others see the current tab's actions."""
        if action == "act" and self.app.settings.role == "viewer":
            return False
        if action == "pending":
            return bool(self.open_items)
        name = parameters[0] if action == "act" and parameters else action
        where = ACTION_TABS.get(str(name))
        if where is None:
            return True
        return self._active_tab(None) in where

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()
        if self.account is not None:
            self._offered()

    def on_key(self, event: events.Key) -> None:
        """An action key pressed on a tab where it does not work says where it does (the
        binding is off on this tab, so without this the key would do nothing)."""
        if self.account is None:
            return
        if self.app.settings.role == "viewer":
            # The viewer's action keys are off; say why instead of doing nothing.
            for binding in self._bindings.key_to_bindings.get(event.key, []):
                if parse_action(binding.action)[1] == "act":
                    self.notify(
                        f"{binding.description}: the viewer role is read only (actions need "
                        "the agent role or above).",
                        severity="warning",
                    )
                    event.stop()
                    return
            return
        tab = self._active_tab(None)
        if tab is None:
            return
        elsewhere: list[tuple[str, tuple[str, ...]]] = []
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            _ns, name, params = parse_action(binding.action)
            name = str(params[0]) if name == "act" and params else name
            if name == "pending" and not self.open_items:  # its binding is off: say why
                self.action_pending()
                event.stop()
                return
            where = ACTION_TABS.get(name)
            if where is None or tab in where:
                return  # the key works here (or is not a tab's action): the binding runs
            elsewhere.append((binding.description, where))
        if elsewhere:
            what, where = elsewhere[0]
            self.notify(
                f"{what} works on the {' or '.join(TAB_NAMES[t] for t in where)} tab: go "
                f"there, highlight the row, then press {event.character or event.key}.",
                severity="warning",
            )
            event.stop()

    def action_act(self, action: str) -> None:
        from srm_tui.screens.action import ActionScreen

        missing = self.app.session.local_actions.availability(action)
        if missing is not None:  # never a form for a call the API does not have
            self.notify(
                str(missing), title="Not offered by this API", severity="warning", timeout=15
            )
            return
        found = target(self, action, self._active_tab() or "summary")
        if isinstance(found, str):
            self.notify(found, severity="warning")
            return
        fixed, defaults = found

        def finished(outcome) -> None:
            if outcome is None:
                return
            severity = "information" if outcome.status == "applied" else "warning"
            # Kept in srm's own store (notes in the vendor profile): nothing was sent, so it
            # says nothing about whether the API answers.
            local = bool(
                outcome.preview
                and outcome.preview.request
                and outcome.preview.request.method == "LOCAL"
            )
            if not local:
                self.post_message(ApiReached(outcome.status == "applied"))
            self.notify(outcome.message, severity=severity, timeout=8)
            self.action_reload()
            self.post_message(DataChanged())

        self.app.push_screen(ActionScreen(action, fixed, defaults=defaults), finished)
