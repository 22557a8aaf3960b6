"""`?` help: every binding from the registry, with the keys in force (the user's keymap too).

One table (keys, what they do, the binding id to remap them), a heading row per place, and a
filter: `/` then type "refund" or "ctrl" to find a key without scrolling.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from srm_tui.bindings import REGISTRY, display_keys

SCOPES = {
    "app": "Everywhere",
    "list": "Lists",
    "customers": "Customers",
    "customer": "A customer",
    "offers": "Offers",
    "offer": "An offer",
    "columns": "Manage columns",
    "token": "A pasted token",
    "action": "An action dialog",
    "segments": "Segments",
    "segment_builder": "Segment builder",
    "condition_tree": "Segment conditions",
    "segment_selector": "Segment selector",
    "condition": "A condition",
    "static_segment": "A static segment",
    "bars": "Overview bars",
    "segment_overview": "Segment overview",
    "segment_history": "Segment versions",
    "segment_dialog": "Segment dialogs",
    "segment_confirm": "Segment confirmations",
    "offer_editor": "Offer editor",
    "offer_merge": "Offer merge (412)",
    "offer_drafts": "Offer drafts",
    "season_groups": "Season groups",
    "season_group": "A season group",
    "coupon": "Coupon lookup",
    "offer_holders": "Offer holders",
    "offer_dialog": "Offer dialogs",
    "offer_confirm": "Offer confirmations",
    "offer_type": "New offer type",
    "change_history": "Change history",
    "sync": "Sync & outbox",
    "outbox_item": "An outbox entry",
    "table": "Offer and season tables",
    "schedules": "Scheduled exports",
    "playbook": "Retention playbook",
    "playbook_rule": "A playbook rule",
    "playbook_pick": "Pick an offer",
    "retention": "Retention offers",
    "bulk": "A bulk action",
    "bulk_runs": "Bulk runs",
}


def scope_title(scope: str) -> str:
    """The heading for a registry scope; a scope added later still reads as words."""
    return SCOPES.get(scope) or scope.replace("_", " ").capitalize()


def help_rows(keymap: dict[str, str], needle: str = "") -> list[tuple[Text, Text, Text]]:
    """(keys, does, binding id) rows with a heading row per scope, filtered by ``needle``."""
    needle = needle.strip().casefold()
    rows: list[tuple[Text, Text, Text]] = []
    for scope, specs in REGISTRY.items():
        where = scope_title(scope)
        matching = []
        for spec in specs:
            keys = display_keys(keymap.get(spec.id, spec.keys))
            if needle and not any(
                needle in s.casefold() for s in (keys, spec.description, spec.id, where)
            ):
                continue
            matching.append((Text(keys), Text(spec.description), Text(spec.id, style="dim")))
        if matching:
            rows.append((Text(f"── {where} ──", style="bold"), Text(""), Text("")))
            rows.extend(matching)
    return rows


def not_offered_summary(profile) -> str:
    """One short paragraph naming what the connected API does not offer (the vendor's ways are
    one key away: the help table keeps its rows at 80x24)."""
    if profile is None or not profile.unavailable():
        return ""
    labels = ", ".join(f.label for f in profile.unavailable())
    return f"Not offered by this API ({profile.title}): {labels}. o: the vendor's own way for each"


def not_offered_text(profile) -> str:
    """What the connected API does not offer, one line per vendor way (features sharing a way
    share a line); empty when everything is offered."""
    if profile is None or not profile.unavailable():
        return ""
    ways: dict[str, list[str]] = {}
    for feature in profile.unavailable():
        ways.setdefault(feature.vendor_way or feature.reason, []).append(feature.label)
    lines = [f"Not offered by this API ({profile.title}):"]
    lines += [f"  {', '.join(labels)}: {way}" for way, labels in ways.items()]
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("slash", "filter", "Filter", id="help.filter"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("o", "not_offered", "Not offered", id="help.not_offered"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Keys — / filters · remap any binding by id in config.toml: "
                '[keymap] "customers.search" = "f9"',
                id="help-intro",
                markup=False,
            )
            yield Input(placeholder="filter: a key, a word, a binding id", id="help-filter")
            yield DataTable(cursor_type="row", zebra_stripes=False, id="help-table")
            self._profile = self.app.session.profile()
            text = not_offered_summary(self._profile)
            if text:
                yield Static(text, id="help-not-offered", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Keys", "Does", "Binding id")
        self._fill("")
        table.focus()

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        rows = help_rows(dict(self.app._keymap), needle)
        for row in rows:
            table.add_row(*row)
        if not rows:
            table.add_row(Text(f"no key matches {needle!r}"), Text(""), Text(""))

    def action_filter(self) -> None:
        box = self.query_one("#help-filter", Input)
        box.add_class("-shown")
        box.focus()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def action_not_offered(self) -> None:
        text = not_offered_text(getattr(self, "_profile", None))
        if text:
            self.app.push_screen(NotOfferedScreen(text))

    @on(Input.Changed, "#help-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#help-filter")
    def _to_table(self) -> None:
        self.query_one(DataTable).focus()


class NotOfferedScreen(ModalScreen[None]):
    """What the connected API does not offer, with the vendor's own way to do each."""

    BINDINGS = [Binding("escape,q,o", "dismiss", "Close", id="not_offered.close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text, markup=False)
            yield Static("esc: back", classes="hint")
