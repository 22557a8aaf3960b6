"""Every key binding of the console, each with an id.

One registry feeds the screens' BINDINGS, the footer, the `?` help, the command palette and
the user's keymap (``keymap`` in config.toml maps a binding id to keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Spec:
    id: str
    keys: str
    action: str
    description: str
    show: bool = True
    priority: bool = False
    palette: bool = True  # offered in the command palette


def _action_specs() -> list[Spec]:
    """The customer screen's support action keys, from the action registry."""
    from srm_tui.faces import FACES

    return [Spec(f.binding_id, f.key, f"act('{f.action}')", f.label) for f in FACES]


REGISTRY: dict[str, list[Spec]] = {
    "app": [
        Spec("app.help", "question_mark,f1", "app.help", "Help"),
        Spec("app.palette", "ctrl+p,colon", "app.command_palette", "Commands", show=False),
        Spec("app.customers", "f2", "app.switch_mode('customers')", "Customers", show=False),
        Spec("app.segments", "f3", "app.switch_mode('segments')", "Segments", show=False),
        Spec("app.offers", "f4", "app.switch_mode('offers')", "Offers", show=False),
        Spec("app.sync", "f5", "app.switch_mode('sync')", "Sync & outbox", show=False),
        Spec("app.sync_now", "ctrl+r", "app.sync_now", "Sync now", show=False),
        Spec("app.playbook", "f6", "app.playbook", "Retention playbook", show=False),
        Spec("app.quit", "ctrl+q", "app.quit", "Quit", priority=True),
    ],
    "list": [
        Spec("list.down", "j,down", "cursor(1)", "Down", show=False, palette=False),
        Spec("list.up", "k,up", "cursor(-1)", "Up", show=False, palette=False),
        Spec("list.first", "g,home", "first", "First row", show=False, palette=False),
        Spec("list.last", "G,end", "last", "Last row", show=False, palette=False),
        Spec(
            "list.page_down", "pagedown,ctrl+f", "page(1)", "Page down", show=False, palette=False
        ),
        Spec("list.page_up", "pageup,ctrl+b", "page(-1)", "Page up", show=False, palette=False),
        Spec("list.open", "enter", "open", "Open", palette=False),
        Spec("list.copy_id", "y", "copy('id')", "Copy id", show=False, palette=False),
        Spec("list.copy_email", "Y", "copy('email')", "Copy email", show=False, palette=False),
    ],
    # j k g G on a screen whose rows are a plain DataTable (screens.table_keys.TableKeys)
    "table": [
        Spec("table.down", "j", "table_cursor(1)", "Down", show=False, palette=False),
        Spec("table.up", "k", "table_cursor(-1)", "Up", show=False, palette=False),
        Spec("table.first", "g", "table_end(0)", "First row", show=False, palette=False),
        Spec("table.last", "G", "table_end(1)", "Last row", show=False, palette=False),
    ],
    "customers": [
        # priority: handled as it arrives, so the letters typed right after it (or pasted
        # with it) reach the search box rather than the list (see CustomersScreen.check_action)
        Spec("customers.search", "slash", "focus_search", "Search", priority=True),
        Spec("customers.sort", "s", "cycle_sort", "Sort"),
        Spec("customers.reverse", "S", "reverse_sort", "Reverse", show=False),
        Spec("customers.columns", "c", "manage_columns", "Columns"),
        Spec("customers.fetch", "f", "fetch_missing", "Fetch from API", show=False),
        Spec("customers.clear", "escape", "clear_search", "Clear search", show=False),
    ],
    "customer": [
        Spec("customer.back", "escape,q", "app.pop_screen", "Back"),
        Spec("customer.tab_summary", "1", "tab('summary')", "Summary", show=False),
        Spec("customer.tab_payments", "2", "tab('payments')", "Payments", show=False),
        Spec("customer.tab_transactions", "3", "tab('transactions')", "Transactions", show=False),
        Spec("customer.tab_emails", "4", "tab('emails')", "Emails", show=False),
        Spec("customer.tab_notes", "5", "tab('notes')", "Notes", show=False),
        Spec("customer.tab_history", "6", "tab('history')", "History", show=False),
        Spec("customer.next_tab", "right_square_bracket", "next_tab(1)", "Next tab", show=False),
        Spec(
            "customer.prev_tab", "left_square_bracket", "next_tab(-1)", "Previous tab", show=False
        ),
        Spec("customer.filter_history", "f", "filter_history", "Filter history"),
        Spec("customer.copy_url", "u", "copy_offer_url", "Copy offer URL"),
        Spec("customer.segments", "m", "app.segment_membership", "Static segments"),
        # Actions (hidden from the viewer role): each acts on the highlighted row; their keys
        # and labels are declared with the actions (srm_tui.faces.FACES).
        *_action_specs(),
        Spec("customer.view_offer", "o", "view_offer", "View offer"),
        Spec("customer.change_history", "h", "change_history", "Change history"),
        Spec("customer.pending", "p", "pending", "Pending actions"),
        Spec("customer.down", "j", "cursor(1)", "Down", show=False, palette=False),
        Spec("customer.up", "k", "cursor(-1)", "Up", show=False, palette=False),
    ],
    "action": [
        Spec("action.submit", "ctrl+s", "submit", "Run", priority=True),
        Spec("action.confirm", "y", "confirm", "Confirm", show=False),
        Spec("action.cancel", "escape", "cancel", "Cancel"),
        Spec("action.editor", "ctrl+e", "editor", "$EDITOR", priority=True),
    ],
    # The cancel dialog's retention step (srm_tui/screens/retention.py): the playbook's offers.
    "retention": [
        *(
            Spec(f"retention.take_{n}", str(n), f"take({n})", f"Take offer {n}", show=False)
            for n in range(1, 10)
        ),
        Spec("retention.take", "enter", "take_highlighted", "Take offer"),
        Spec("retention.anyway", "c", "anyway", "Cancel anyway"),
        Spec("retention.submit", "ctrl+s", "submit", "Check reason", priority=True),
        Spec("retention.confirm", "y", "confirm", "Confirm", show=False),
        Spec("retention.back", "escape", "back", "Back"),
    ],
    "token": [
        Spec("token.open", "enter,o", "open_customer", "Open customer"),
        Spec("token.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "segments": [
        Spec("segments.new", "n", "new", "New segment"),
        Spec("segments.new_static", "N", "new_static", "New static segment", show=False),
        Spec("segments.open", "enter,e", "open", "Open", show=False),
        Spec("segments.overview", "o", "overview", "Overview"),
        Spec("segments.cache_overview", "O", "cache_overview", "Overview of the cache"),
        Spec("segments.history", "h", "history", "Versions"),
        Spec("segments.export", "t", "export", "Export / schedule"),
        Spec("segments.recount", "r", "recount", "Count all now", show=False),
        Spec("segments.delete", "d", "delete", "Delete"),
        Spec("segments.schedules", "s", "schedules", "Schedules"),
        Spec("segments.bulk", "B", "bulk", "Bulk action"),
        Spec("segments.bulk_runs", "L", "bulk_runs", "Bulk runs", show=False),
        Spec("segments.playbook", "P", "app.playbook", "Playbook", palette=False),
        Spec("segments.filter", "slash", "focus_filter", "Filter", priority=True),
        Spec("segments.clear", "escape", "clear_filter", "Clear filter", show=False),
        Spec("segments.down", "j", "cursor(1)", "Down", show=False, palette=False),
        Spec("segments.up", "k", "cursor(-1)", "Up", show=False, palette=False),
    ],
    "playbook": [
        Spec("playbook.save", "ctrl+s", "save", "Save", priority=True),
        Spec("playbook.add", "a", "add", "Add rule"),
        Spec("playbook.edit", "e,enter", "edit", "Edit"),
        Spec("playbook.delete", "d,delete", "delete", "Delete"),
        Spec("playbook.up", "K,shift+up", "move(-1)", "Move up"),
        Spec("playbook.down", "J,shift+down", "move(1)", "Move down"),
        Spec("playbook.back", "escape,q", "back", "Back"),
    ],
    "playbook_rule": [
        Spec("playbook_rule.keep", "ctrl+s", "keep", "Keep rule", priority=True),
        Spec("playbook_rule.pick", "ctrl+o", "pick_offer", "Pick offer", priority=True),
        Spec("playbook_rule.add_offer", "a", "add_offer", "Add offer"),
        Spec("playbook_rule.remove_offer", "x,delete", "remove_offer", "Remove offer"),
        Spec("playbook_rule.back", "escape", "leave", "Cancel"),
        Spec("playbook_rule.offer_up", "K,shift+up", "move_offer(-1)", "Offer up"),
        Spec("playbook_rule.offer_down", "J,shift+down", "move_offer(1)", "Offer down"),
    ],
    "playbook_pick": [
        Spec("playbook_pick.down", "down", "down(1)", "Down", show=False, palette=False),
        Spec("playbook_pick.up", "up", "down(-1)", "Up", show=False, palette=False),
        Spec("playbook_pick.cancel", "escape", "dismiss(None)", "Cancel"),
    ],
    "bulk": [
        Spec("bulk.dry_run", "ctrl+d", "dry_run", "Dry run", priority=True),
        Spec("bulk.go", "ctrl+g", "go", "Run it", priority=True),
        Spec("bulk.pause", "p", "pause", "Pause"),
        Spec("bulk.cancel_run", "x", "cancel_run", "Cancel run"),
        Spec("bulk.resume", "r", "resume", "Resume"),
        Spec("bulk.runs", "ctrl+l", "runs", "Runs", priority=True),
        Spec("bulk.back", "escape", "back", "Back"),
    ],
    "bulk_runs": [
        Spec("bulk_runs.open", "enter", "open", "Open"),
        Spec("bulk_runs.resume", "r", "resume", "Resume"),
        Spec("bulk_runs.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "schedules": [
        Spec("schedules.remove", "x,delete", "remove", "Remove schedule"),
        Spec("schedules.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "segment_builder": [
        Spec("segment_builder.save", "ctrl+s", "save", "Save", priority=True),
        Spec("segment_builder.overview", "ctrl+o", "overview", "Overview"),
        Spec("segment_builder.export", "ctrl+t", "export", "Export / schedule"),
        Spec("segment_builder.history", "ctrl+g", "history", "Versions"),
        Spec("segment_builder.text", "ctrl+l", "focus_text", "Text form"),
        Spec("segment_builder.why", "ctrl+n", "why", "Why in or out?", show=False, priority=True),
        Spec("segment_builder.back", "escape", "back", "Back"),
    ],
    "condition_tree": [
        Spec("condition_tree.down", "j", "cursor_down", "Down", show=False, palette=False),
        Spec("condition_tree.up", "k", "cursor_up", "Up", show=False, palette=False),
        Spec("condition_tree.first", "g", "first", "First row", show=False, palette=False),
        Spec("condition_tree.last", "G", "last", "Last row", show=False, palette=False),
        Spec("condition_tree.add", "a", "edit('add')", "Add condition"),
        Spec("condition_tree.edit", "e", "edit('edit')", "Edit", show=False),
        Spec("condition_tree.group", "o", "edit('group')", "Add group"),
        Spec("condition_tree.wrap", "w", "edit('wrap')", "Wrap in group", show=False),
        Spec("condition_tree.toggle", "t", "edit('toggle')", "All/any"),
        Spec("condition_tree.negate", "n,exclamation_mark", "edit('negate')", "Not"),
        Spec("condition_tree.delete", "x,delete", "edit('delete')", "Delete"),
        Spec("condition_tree.move_up", "K,shift+up", "edit('up')", "Move up", show=False),
        Spec("condition_tree.move_down", "J,shift+down", "edit('down')", "Move down", show=False),
        Spec(
            "condition_tree.indent",
            "greater_than_sign,ctrl+right",
            "edit('indent')",
            "Into group above",
            show=False,
        ),
        Spec(
            "condition_tree.outdent",
            "less_than_sign,ctrl+left",
            "edit('outdent')",
            "Out of group",
            show=False,
        ),
        Spec("condition_tree.undo", "u", "edit('undo')", "Undo"),
        Spec("condition_tree.redo", "U", "edit('redo')", "Redo", show=False),
    ],
    "segment_selector": [
        Spec("segment_selector.next", "right,space,l", "cycle(1)", "Next selector", palette=False),
        Spec(
            "segment_selector.previous",
            "left,h",
            "cycle(-1)",
            "Previous selector",
            show=False,
            palette=False,
        ),
    ],
    "condition": [
        Spec("condition.keep", "ctrl+s", "keep", "Keep", priority=True),
        Spec("condition.cancel", "escape", "leave", "Cancel"),
    ],
    "static_segment": [
        Spec("static_segment.add", "a", "add_member", "Add customer"),
        Spec("static_segment.remove", "x,delete", "remove_member", "Remove customer"),
    ],
    "bars": [
        Spec("bars.down", "j,down", "cursor(1)", "Down", show=False, palette=False),
        Spec("bars.up", "k,up", "cursor(-1)", "Up", show=False, palette=False),
        Spec("bars.choose", "enter", "choose", "Narrow to this"),
    ],
    "segment_overview": [
        Spec("segment_overview.recount", "r", "recount", "Recount"),
        Spec("segment_overview.back", "escape,q", "dismiss(None)", "Back"),
    ],
    "segment_history": [
        Spec("segment_history.restore", "r", "restore", "Open this version"),
        Spec("segment_history.back", "escape,q", "dismiss(None)", "Back"),
    ],
    "segment_dialog": [
        Spec("segment_dialog.submit", "ctrl+s", "submit", "Go", priority=True),
        Spec("segment_dialog.cancel", "escape", "leave", "Cancel"),
    ],
    "segment_confirm": [
        Spec("segment_confirm.yes", "y", "dismiss(True)", "Yes"),
        Spec("segment_confirm.no", "n,escape", "dismiss(False)", "No"),
    ],
    "offers": [
        Spec("offers.filter", "slash", "focus_filter", "Filter", priority=True),
        Spec("offers.clear", "escape", "clear_filter", "Clear filter", show=False),
        Spec("offers.new", "n", "new_offer", "New offer"),
        Spec("offers.season_groups", "S", "season_groups", "Season groups"),
        Spec("offers.coupons", "C", "coupons", "Coupons"),
        Spec("offers.drafts", "D", "drafts", "Drafts"),
    ],
    "offer": [
        Spec("offer.back", "escape,q", "app.pop_screen", "Back"),
        Spec("offer.edit", "e", "edit", "Edit offer"),
        Spec("offer.toggle", "a", "toggle_offer", "Offer on/off"),
        Spec("offer.new_localization", "l", "new_localization", "New localization"),
        Spec("offer.toggle_localization", "t", "toggle_localization", "Country on/off"),
        Spec("offer.holders", "h", "holders", "Holders"),
        Spec("offer.drafts", "D", "drafts", "Drafts / merge"),
    ],
    "offer_editor": [
        Spec("offer_editor.save", "ctrl+s", "save", "Save", priority=True),
        Spec("offer_editor.draft", "ctrl+o", "save(True)", "Keep as draft", priority=True),
        Spec("offer_editor.cancel", "escape", "cancel", "Cancel"),
    ],
    "offer_merge": [
        Spec("offer_merge.mine", "m", "take('mine')", "Take mine"),
        Spec("offer_merge.theirs", "t", "take('theirs')", "Take theirs"),
        Spec("offer_merge.all_mine", "M", "take_all('mine')", "All mine", show=False),
        Spec("offer_merge.all_theirs", "T", "take_all('theirs')", "All theirs", show=False),
        Spec("offer_merge.apply", "ctrl+s", "apply", "Apply", priority=True),
        Spec("offer_merge.discard", "x", "discard", "Discard draft"),
        Spec("offer_merge.confirm", "y", "confirm", "Confirm", show=False),
        Spec("offer_merge.back", "escape,q", "back", "Back (keep both)"),
    ],
    "offer_drafts": [
        Spec("offer_drafts.push", "p", "push", "Push drafts"),
        Spec("offer_drafts.discard", "x", "discard", "Discard draft"),
        Spec("offer_drafts.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "season_groups": [
        Spec("season_groups.new", "n", "new", "New group"),
        Spec("season_groups.rename", "r", "rename", "Rename"),
        Spec("season_groups.delete", "d", "delete", "Delete"),
        Spec("season_groups.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "season_group": [
        Spec("season_group.add", "a", "add", "Add season"),
        Spec("season_group.edit", "e", "edit", "Edit season"),
        Spec("season_group.remove", "x", "remove", "Remove season"),
        Spec("season_group.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "coupon": [
        Spec("coupon.back", "escape", "back", "Back"),
    ],
    "offer_holders": [
        Spec("offer_holders.segment", "w", "write_segment", "Write segment file"),
        Spec("offer_holders.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "offer_dialog": [
        Spec("offer_dialog.submit", "ctrl+s", "submit", "Go", priority=True),
        Spec("offer_dialog.cancel", "escape", "leave", "Cancel"),
    ],
    "offer_confirm": [
        Spec("offer_confirm.yes", "y", "dismiss(True)", "Yes"),
        Spec("offer_confirm.no", "n,escape", "dismiss(False)", "No"),
    ],
    "offer_type": [
        Spec("offer_type.subscription", "1", "choose(1)", "Subscription", palette=False),
        Spec("offer_type.pass", "2", "choose(2)", "Pass", palette=False),
        Spec("offer_type.live", "3", "choose(3)", "Live event", palette=False),
        Spec("offer_type.one_time", "4", "choose(4)", "One-time purchase", palette=False),
        Spec("offer_type.rental", "5", "choose(5)", "Rental", palette=False),
        Spec("offer_type.cancel", "escape", "dismiss(None)", "Cancel"),
    ],
    "columns": [
        Spec("columns.keep", "enter", "keep", "Keep", priority=True),
        Spec("columns.cancel", "escape", "dismiss(None)", "Cancel"),
        Spec("columns.up", "shift+up,K", "move(-1)", "Move up"),
        Spec("columns.down", "shift+down,J", "move(1)", "Move down"),
    ],
    "change_history": [
        Spec("change_history.back", "escape,q", "app.pop_screen", "Back"),
    ],
    "sync": [
        Spec("sync.outbox", "o", "focus_outbox", "Outbox"),
        Spec("sync.open", "enter", "open_entry", "Open entry"),
    ],
    "outbox_item": [
        Spec("outbox_item.back", "escape,q", "back", "Back"),
        Spec("outbox_item.retry", "r", "retry", "Retry as queued"),
        Spec("outbox_item.edit", "e", "edit", "Edit and re-queue"),
        Spec("outbox_item.discard", "d", "discard", "Discard"),
        Spec("outbox_item.confirm", "y", "confirm", "Confirm", show=False),
        Spec("outbox_item.next", "right_square_bracket,j", "step(1)", "Next entry"),
        Spec("outbox_item.prev", "left_square_bracket,k", "step(-1)", "Previous entry", show=False),
    ],
}


def bindings(scope: str) -> list[Binding]:
    """Textual bindings for a scope, ids kept so the user's keymap can move them."""
    return [
        Binding(s.keys, s.action, s.description, show=s.show, priority=s.priority, id=s.id)
        for s in REGISTRY[scope]
    ]


def spec(binding_id: str) -> Spec:
    for specs in REGISTRY.values():
        for s in specs:
            if s.id == binding_id:
                return s
    raise KeyError(binding_id)


def display_keys(keys: str) -> str:
    """Keys as an agent types them: "]" not "right_square_bracket", "esc" not "escape"."""
    from textual.keys import key_to_character

    names = {
        "escape": "esc",
        "space": "space",
        "tab": "tab",
        "enter": "enter",
        "slash": "/",
        "question_mark": "?",
        "colon": ":",
    }

    def one(key: str) -> str:
        key = key.strip()
        if key in names:
            return names[key]
        char = key_to_character(key)
        return char if char and char.isprintable() else key

    return ", ".join(one(k) for k in keys.split(","))
