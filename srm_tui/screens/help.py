"""`?` help: every binding from the registry, with the keys in force (the user's keymap too)."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from srm_tui.bindings import REGISTRY, display_keys

SCOPES = {"app": "Everywhere", "list": "Lists", "customers": "Customers",
          "customer": "A customer", "offers": "Offers", "offer": "An offer",
          "columns": "Manage columns", "token": "A pasted token",
          "action": "An action dialog"}


def help_table(keymap: dict[str, str]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("Where", no_wrap=True)
    table.add_column("Keys", no_wrap=True)
    table.add_column("Does")
    table.add_column("Binding id", style="dim", no_wrap=True)
    for scope, specs in REGISTRY.items():
        for i, spec in enumerate(specs):
            keys = keymap.get(spec.id, spec.keys)
            table.add_row(SCOPES.get(scope, scope) if i == 0 else "",
                          Text(display_keys(keys)), Text(spec.description), spec.id)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%;
                                  border: round $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Keys — remap any binding by id in config.toml, e.g. "
                         "[keymap] \"customers.search\" = \"f9\"", markup=False)
            yield Static(help_table(dict(self.app._keymap)))
