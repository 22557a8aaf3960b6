"""Offers › season groups: list, create, rename, delete; one group's seasons added, edited
and removed. The vendor's rules are checked before the API is asked (offer service)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.domain.time import day, field_seconds, utc
from srm_tui.offers.rules import OfferInvalid, OfferRefused
from srm_tui.screens.offer_dialog import ConfirmDialog, Field, FieldsDialog, offer_service
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import run_reported
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


def _why(exc: Exception) -> str:
    if isinstance(exc, OfferRefused):
        return f"refused by rule {exc.rule}: {exc.message}"
    if isinstance(exc, OfferInvalid):
        return str(exc)
    return str(getattr(exc, "message", None) or exc)


class _GroupsBase(TableKeys, Screen[Any]):
    class Written(Message):
        """A confirmed write ran: ``problem`` None when done (``done`` says so), else why not."""

        def __init__(self, problem: str | None, done: str) -> None:
            super().__init__()
            self.problem = problem
            self.done = done

    def _run(self, work) -> str | None:
        """Run one write (from a dialog's thread): None when done, else why not."""
        try:
            work(offer_service(self.app))
        except Exception as exc:
            return _why(exc)
        return None

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def on__groups_base_written(self, message: Written) -> None:
        verdict = f"✘ {message.problem}" if message.problem else message.done
        self.query_one("#verdict", Static).update(Text(verdict))
        self.action_reload()

    def _confirm_then(self, question: str, work, done: str) -> None:
        def in_thread() -> None:
            self.post_message(self.Written(self._run(work), done))

        def answered(yes: bool | None) -> None:
            if yes:
                self.query_one("#verdict", Static).update(Text("Working…"))
                run_reported(self, in_thread, group="season-write")

        self.app.push_screen(ConfirmDialog(question), answered)


class SeasonGroupsScreen(_GroupsBase):
    """Every season group with its seasons, active ones and the offers using it."""

    BINDINGS = bindings("season_groups") + TABLE_BINDINGS

    def compose(self) -> ComposeResult:
        yield Static("Offers › season groups", id="crumbs", markup=False)
        yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
        yield Static("n new · r rename · d delete · enter: its seasons", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Name", "Seasons", "Active", "Next start", "Used by")
        self.action_reload()
        self.query_one(DataTable).focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        service = self.app.session.local_offers
        now = self.app.settings.now_ts()
        users: dict[str, list[str]] = {}
        for o in service.offers():
            if o.get("seasonGroupId"):
                users.setdefault(o["seasonGroupId"], []).append(o["id"])
        self.groups = sorted(service.groups().values(), key=lambda g: g["name"].casefold())
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for g in self.groups:
            seasons = g.get("seasons") or []
            active = [s for s in seasons if s["endDate"] >= now]
            upcoming = [s["startDate"] for s in seasons if s["startDate"] > now]
            table.add_row(
                Text(visible(g["name"], 40)),
                str(len(seasons)),
                str(len(active)),
                day(min(upcoming)) if upcoming else "—",
                ", ".join(users.get(g["id"], [])) or "—",
                key=g["id"],
            )
        if self.groups:
            table.move_cursor(row=min(cursor, len(self.groups) - 1))
        self.query_one("#crumbs", Static).update(f"Offers › season groups · {len(self.groups)}")

    def action_new(self) -> None:
        self.app.push_screen(
            FieldsDialog(
                "New season group",
                [Field("name", "Name", help="1 to 100 characters, unique")],
                lambda v: self._run(lambda s: s.create_group(v["name"])),
            ),
            lambda done: done and self.action_reload(),
        )

    def action_rename(self) -> None:
        group_id = self._selected()
        if group_id is None:
            return
        group = next(g for g in self.groups if g["id"] == group_id)
        self.app.push_screen(
            FieldsDialog(
                f"Rename {group['name']}",
                [Field("name", "Name", group["name"])],
                lambda v: self._run(lambda s: s.rename_group(group_id, v["name"])),
            ),
            lambda done: done and self.action_reload(),
        )

    def action_delete(self) -> None:
        group_id = self._selected()
        if group_id is None:
            return
        group = next(g for g in self.groups if g["id"] == group_id)
        self._confirm_then(
            f"Delete season group {group['name']!r}?",
            lambda s: s.delete_group(group_id),
            f"Season group {group['name']!r} deleted.",
        )

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        group_id = self._selected()
        if group_id is not None:
            self.app.push_screen(SeasonGroupScreen(group_id))


class SeasonGroupScreen(_GroupsBase):
    """One season group's seasons: add one (31 days ahead), edit future dates, remove the last."""

    BINDINGS = bindings("season_group") + TABLE_BINDINGS

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.group: dict[str, Any] = {"name": "", "seasons": []}

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield DataTable(id="seasons", cursor_type="row", zebra_stripes=True)
        yield Static("a add · e edit · x remove the last", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Season", "Starts (UTC)", "Ends (UTC)", "State")
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        found = self.app.session.local_offers.groups().get(self.group_id)
        if found is None:
            self.query_one("#crumbs", Static).update("Offers › season groups › (deleted)")
            return
        self.group = found
        now = self.app.settings.now_ts()
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for s in found["seasons"]:
            state = (
                "past" if s["endDate"] < now else "running" if s["startDate"] <= now else "upcoming"
            )
            table.add_row(
                str(s["id"]), utc(s["startDate"]), utc(s["endDate"]), state, key=str(s["id"])
            )
        if found["seasons"]:
            table.move_cursor(row=min(cursor, len(found["seasons"]) - 1))
        self.query_one("#crumbs", Static).update(
            Text(
                f"Offers › season groups › {visible(found['name'], 40)} · "
                f"{count(len(found['seasons']), 'season')}"
            )
        )

    def _dates(self, values: dict[str, str]) -> tuple[int, int]:
        return field_seconds(values["start"], "start"), field_seconds(values["end"], "end")

    def action_add(self) -> None:
        group_id = self.group_id

        def submit(values: dict[str, str]) -> str | None:
            try:
                start, end = self._dates(values)
            except ValueError as exc:
                return str(exc)
            return self._run(lambda s: s.add_season(group_id, start, end))

        self.app.push_screen(
            FieldsDialog(
                f"New season of {self.group['name']}",
                [
                    Field("start", "Starts", help="UTC, at least 31 days ahead: 2027-08-01"),
                    Field("end", "Ends", help="UTC, after the start: 2028-05-31"),
                ],
                submit,
            ),
            lambda done: done and self.action_reload(),
        )

    def action_edit(self) -> None:
        key = self._selected()
        if key is None:
            return
        season = next(s for s in self.group["seasons"] if str(s["id"]) == key)
        group_id = self.group_id

        def submit(values: dict[str, str]) -> str | None:
            try:
                start, end = self._dates(values)
            except ValueError as exc:
                return str(exc)
            return self._run(lambda s: s.edit_season(group_id, season["id"], start, end))

        self.app.push_screen(
            FieldsDialog(
                f"Season {season['id']} of {self.group['name']}",
                [
                    Field("start", "Starts", utc(season["startDate"]), "only future dates change"),
                    Field("end", "Ends", utc(season["endDate"])),
                ],
                submit,
            ),
            lambda done: done and self.action_reload(),
        )

    def action_remove(self) -> None:
        key = self._selected()
        if key is None:
            return
        group_id = self.group_id
        self._confirm_then(
            f"Remove season {key} of {self.group['name']}?",
            lambda s: s.remove_season(group_id, int(key)),
            f"Season {key} removed.",
        )
