"""Segments › builder › one condition: attribute, operator, value, checked as typed.

The attribute comes from a searchable catalog grouped Customer / Subscription / Pass /
Custom (type to narrow it, up/down to move, enter to pick); the operators offered are those
of the attribute's type; the value is read as it is typed (``segments.values``) and any
fault is said under it, naming the part at fault. Dismisses with the Condition (None when
cancelled).
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.screens.leave import AsksBeforeLeaving
from srm_tui.screens.workers import work
from srm_tui.segments.catalog import ATTRIBUTES, GROUPS, NO_VALUE, Attribute, lookup
from srm_tui.segments.model import Condition
from srm_tui.segments.textform import format_condition
from srm_tui.segments.values import ValueProblem, parse_value, suggestions, value_text
from srm_tui.widgets.footer import Footer

OP_LABELS = {
    "eq": "=  equals",
    "ne": "!=  is not",
    "gt": ">  more than",
    "gte": ">=  at least",
    "lt": "<  less than",
    "lte": "<=  at most",
    "between": "between a and b",
    "in": "in  one of a list",
    "not_in": "not in  none of a list",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "is_set": "is set",
    "is_not_set": "is not set",
    "before": "before a date",
    "after": "after a date",
    "on": "on a day",
    "within_last": "within the last N days",
    "more_than_days_ago": "more than N days ago",
    "within_next": "within the next N days",
}
VALUE_HELP = {
    "in": "values separated by commas, e.g. PL, DE",
    "not_in": "values separated by commas",
    "between": "two values: 10 and 20",
    "within_last": "a number of days: 30, 30d or 4w",
    "more_than_days_ago": "a number of days: 30, 30d or 4w",
    "within_next": "a number of days: 7, 7d or 1w",
}
DATE_HELP = "a date: 2026-01-31, today, yesterday, -30d, 2 weeks ago, in 7 days"


def score(attribute: Attribute, needle: str) -> int:
    """How well an attribute matches the search: 0 not at all; a match in its name beats
    one in its label, which beats one in its description."""
    words = needle.strip().casefold().replace("_", " ").split()
    if not words:
        return 1
    name = attribute.name.casefold().replace("_", " ")
    label = attribute.label.casefold()
    hay = f"{name} {label} {attribute.description.casefold()} {attribute.group.casefold()}"
    if not all(w in hay for w in words):
        return 0
    if all(w in name for w in words):
        return 3
    return 2 if all(w in f"{name} {label}" for w in words) else 1


class ConditionScreen(AsksBeforeLeaving, ModalScreen[Condition | None]):
    """Choose an attribute, an operator and a value."""

    BINDINGS = bindings("condition")

    def __init__(
        self,
        condition: Condition | None = None,
        *,
        now: int,
        custom: list[str] | None = None,
        currency: str = "EUR",
    ) -> None:
        super().__init__()
        self._hint_shown: str | None = None
        self.now = now
        # Money conditions always name a currency: the one typed, else the reporting one.
        self.currency = currency
        self.original = condition
        self.custom = list(custom or [])
        self.attribute: Attribute | None = lookup(condition.attr) if condition else None
        self.op: str | None = condition.op if condition else None
        self.result: Condition | None = None
        self.problem: str | None = None
        self.cached: list[tuple[str, int | None]] = []
        self._names: list[str] = []  # option index -> attribute name ("" for headings)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Condition — type to find an attribute, enter to pick; ctrl+s keeps",
                id="title",
                markup=False,
            )
            yield Static("Attribute", classes="label", markup=False)
            yield Input(placeholder="search: country, mrr, grace, custom…", id="attr")
            yield OptionList(id="attrs")
            yield Static("Operator", classes="label", markup=False)
            yield OptionList(id="ops")
            yield Static("Value", classes="label", markup=False)
            yield Input(id="value")
            yield Static("", id="verdict", markup=False)
            yield Static("", id="hint", markup=False)
            yield Footer()

    def on_mount(self) -> None:
        self._fill_attributes("")
        if self.original is not None and self.attribute is not None:
            self.query_one("#attr", Input).value = ""
            self._choose_attribute(self.attribute, focus=False)
            self.query_one("#value", Input).value = value_text(self.original)
            self.query_one("#value", Input).focus()
            self._check()
        else:
            self.query_one("#attr", Input).focus()
            self._check()

    # attributes ------------------------------------------------------------------------------

    def _catalog(self) -> list[Attribute]:
        out = list(ATTRIBUTES)
        for name in self.custom:
            a = lookup(name)
            if a is not None:
                out.append(a)
        return out

    def _fill_attributes(self, needle: str) -> None:
        box = self.query_one("#attrs", OptionList)
        box.clear_options()
        self._names = []
        options: list[Option] = []
        scores = {a.name: score(a, needle) for a in self._catalog()}
        found = [a for a in self._catalog() if scores[a.name]]
        typed = needle.strip()
        if (
            typed.startswith(("customer.custom.", "subscription.custom."))
            and lookup(typed)
            and typed not in {a.name for a in found}
        ):
            found.append(lookup(typed))  # type: ignore[arg-type]
            scores[typed] = 3
        for group in GROUPS:
            members = [a for a in found if a.group == group]
            if group == "Custom" and not typed:
                options.append(
                    Option(
                        Text(
                            "Custom — type customer.custom.KEY or subscription.custom.KEY",
                            style="bold",
                        ),
                        disabled=True,
                    )
                )
                self._names.append("")
            elif members:
                options.append(Option(Text(group, style="bold"), disabled=True))
                self._names.append("")
            for a in members:
                line = Text(f"  {a.name}", no_wrap=True, overflow="ellipsis")
                line.append(f"  {a.label} · {a.type}", style="dim")
                options.append(Option(line))
                self._names.append(a.name)
        if not any(self._names):
            options.append(
                Option(
                    Text(
                        "no attribute matches; custom fields are customer.custom.KEY",
                        style="italic",
                    ),
                    disabled=True,
                )
            )
            self._names.append("")
        box.add_options(options)
        best = max((scores.get(n, 0) for n in self._names if n), default=0)
        first = next((i for i, n in enumerate(self._names) if n and scores.get(n) == best), None)
        if self.attribute is not None and self.attribute.name in self._names:
            first = self._names.index(self.attribute.name)
        box.highlighted = first

    @on(Input.Changed, "#attr")
    def _attr_typed(self, event: Input.Changed) -> None:
        self._fill_attributes(event.value)

    def on_key(self, event: events.Key) -> None:
        # Up and down move through the attributes while the search box has the keys.
        if self.focused is self.query_one("#attr", Input) and event.key in ("up", "down"):
            box = self.query_one("#attrs", OptionList)
            box.action_cursor_down() if event.key == "down" else box.action_cursor_up()
            event.stop()
            event.prevent_default()

    @on(Input.Submitted, "#attr")
    def _attr_entered(self) -> None:
        box = self.query_one("#attrs", OptionList)
        if box.highlighted is None or not self._names[box.highlighted]:
            self._say("attr: pick an attribute from the list (type part of its name)")
            return
        self._choose_attribute(lookup(self._names[box.highlighted]))  # type: ignore[arg-type]

    @on(OptionList.OptionSelected, "#attrs")
    def _attr_selected(self, event: OptionList.OptionSelected) -> None:
        name = self._names[event.option_index]
        if name:
            self._choose_attribute(lookup(name))  # type: ignore[arg-type]

    def _choose_attribute(self, attribute: Attribute, focus: bool = True) -> None:
        changed = self.attribute is None or self.attribute.name != attribute.name
        self.attribute = attribute
        self.query_one("#attr", Input).placeholder = f"{attribute.name} ({attribute.type})"
        ops = self.query_one("#ops", OptionList)
        ops.clear_options()
        ops.add_options([Option(f"{op:<19} {OP_LABELS.get(op, op)}") for op in attribute.operators])
        if changed and self.op not in attribute.operators:
            self.op = attribute.operators[0]
        ops.highlighted = (
            attribute.operators.index(self.op) if self.op in attribute.operators else 0
        )
        self.op = attribute.operators[ops.highlighted or 0]
        self.cached = []
        self._load_suggestions(attribute)
        self._check()
        if focus:
            ops.focus()

    class Suggested(Message):
        """Values the cache holds for one attribute, with how many customers have each."""

        def __init__(self, name: str, found: list[tuple[str, int | None]]) -> None:
            super().__init__()
            self.name = name
            self.found = found

    @work(thread=True, exclusive=True, group="suggest")
    def _load_suggestions(self, attribute: Attribute) -> None:
        runner = self.app.session.segments
        try:
            found = runner.call(lambda conn: suggestions(conn, attribute))
        except Exception:  # no suggestions: the value is typed in full
            found = []
        self.post_message(self.Suggested(attribute.name, found))

    def on_condition_screen_suggested(self, message: Suggested) -> None:
        name, found = message.name, message.found
        if self.attribute is not None and self.attribute.name == name:
            self.cached = found
            self._check()

    # operator and value ----------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#ops")
    def _op_moved(self, event: OptionList.OptionHighlighted) -> None:
        if self.attribute is not None:
            self.op = self.attribute.operators[event.option_index]
            self._check()

    @on(OptionList.OptionSelected, "#ops")
    def _op_chosen(self, event: OptionList.OptionSelected) -> None:
        if self.attribute is None:
            return
        self.op = self.attribute.operators[event.option_index]
        self._check()
        if self.op in NO_VALUE:
            self.action_keep()
        else:
            self.query_one("#value", Input).focus()

    @on(Input.Changed, "#value")
    def _value_typed(self) -> None:
        self._check()

    @on(Input.Submitted, "#value")
    def _value_entered(self) -> None:
        self.action_keep()

    def _say(self, message: str, bad: bool = True) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.update(Text(("⚠ " if bad else "✓ ") + message))
        verdict.set_class(bad, "-bad")

    def _check(self) -> None:
        """Read the value as typed; say what it means, or what is wrong with it."""
        self.result = None
        hint = self.query_one("#hint", Static)
        if self.attribute is None or self.op is None:
            self.problem = "attr: pick an attribute"
            self._say("pick an attribute first", bad=True)
            return
        value_box = self.query_one("#value", Input)
        value_box.disabled = self.op in NO_VALUE
        value_box.placeholder = (
            "(no value)"
            if self.op in NO_VALUE
            else VALUE_HELP.get(self.op, DATE_HELP if self.attribute.type == "date" else "a value")
        )
        try:
            parsed = parse_value(self.attribute, self.op, value_box.value, self.now)
        except ValueProblem as exc:
            first = exc.faults[0]
            self.problem = str(first)
            self._say(f"{first.path}: {first.message}")
        else:
            money = self.attribute.money and self.op not in NO_VALUE
            self.result = Condition(
                self.attribute.name,
                self.op,
                parsed.value,
                (parsed.currency or self.currency) if money else None,
            )
            self.problem = None
            text = visible(format_condition(self.result), 200)
            self._say(text + (f"   ({parsed.hint})" if parsed.hint else ""), bad=False)
        shown = self._hint_text()
        if shown != self._hint_shown:  # no relayout on every keystroke
            self._hint_shown = shown
            hint.update(Text(shown))

    def _hint_text(self) -> str:
        a = self.attribute
        if a is None:
            return ""
        out = a.description
        if self.cached:
            shown = ", ".join(
                f"{visible(v, 30)}" + (f" ({n:,})" if n is not None else "")
                for v, n in self.cached[:8]
            )
            out += f"\nin the cache: {shown}"
            typed = self.result.value if self.result is not None else None
            if a.type == "enum" and typed is not None and self.cached[0][1] is not None:
                known = {v for v, _ in self.cached}
                values = typed if isinstance(typed, tuple) else (typed,)
                missing = [v for v in values if isinstance(v, str) and v not in known]
                if missing and len(self.cached) < 12:
                    out += f"\nnote: no cached record has {', '.join(missing)}"
        return out

    def action_keep(self) -> None:
        self._check()
        if self.result is None:
            self.query_one("#value", Input).focus() if self.attribute else self.query_one(
                "#attr", Input
            ).focus()
            return
        self.dismiss(self.result)
