"""Note actions: add, edit (the old text is kept as a revision), delete (soft)."""

from __future__ import annotations

from typing import Any

from srm_tui.actions.customer import CUSTOMER_ID
from srm_tui.actions.rules import (
    ANY_VALUE,
    ActionInvalid,
    ActionSpec,
    Change,
    Checks,
    Context,
    FieldSpec,
    Preview,
    Request,
    Rule,
    Watch,
    parse_id,
    parse_text,
)

NOTE_MAX = 2500
TEXT = FieldSpec(
    "text",
    "Note",
    "longtext",
    required=True,
    max_length=NOTE_MAX,
    help=f"1 to {NOTE_MAX:,} characters",
)
NOTE_ID = FieldSpec("note_id", "Note", "id", required=True, target=True)

NOTE_DELETED = Rule("note.deleted", "the note has been deleted", api=("has been deleted",))
NOTE_AUTHOR = Rule(
    "note.author-or-owner", "only the note's author or the account owner can change it"
)


def _text(args: dict[str, Any]) -> str:
    return parse_text(args.get("text"), "text", NOTE_MAX, multiline=True)


def plan_add(ctx: Context, args: dict[str, Any]) -> Preview:
    customer_id = parse_id(args.get("customer_id"), "customer_id", "customer id")
    text = _text(args)
    ctx.customer(customer_id)
    return Preview(
        action="note-add",
        title="Add note",
        target=f"customer {customer_id}",
        customer_id=customer_id,
        changes=[Change(f"note by {ctx.agent}", None, text)],
        request=Request(
            "POST", "/x-srm/notes", {"customerId": customer_id, "author": ctx.agent, "text": text}
        ),
    )


def _note(ctx: Context, args: dict[str, Any]) -> tuple[dict[str, Any], Checks]:
    note_id = parse_id(args.get("note_id"), "note_id", "note id")
    note = ctx.record("notes", note_id)
    if note is None:
        raise ActionInvalid("note_id", f"no note {note_id} in the cache")
    checks = Checks()
    checks.require(note.get("deletedAt") is None, NOTE_DELETED)
    checks.require(
        note["author"] == ctx.agent or ctx.role == "owner",
        NOTE_AUTHOR,
        f"the note is by {note['author']}; only its author or an owner "
        f"can change it (you are {ctx.agent}, {ctx.role})",
    )
    return note, checks


def plan_edit(ctx: Context, args: dict[str, Any]) -> Preview:
    text = _text(args)
    note, checks = _note(ctx, args)
    # A rule that blocks the edit is worth more than "nothing would change": the dialog
    # opens on the current text, and the agent learns at once whether it may edit at all.
    if text == note["text"] and checks.blocked is None:
        raise ActionInvalid("text", "is the note's current text: nothing would change")
    return Preview(
        action="note-edit",
        title="Edit note",
        target=f"note {note['id']}",
        customer_id=note["customerId"],
        changes=[Change("note text", note["text"], text)],
        warnings=["the old text stays in the note's history"],
        blocked=checks.blocked,
        request=Request("PATCH", f"/x-srm/notes/{note['id']}", {"text": text, "editor": ctx.agent}),
        watches=[Watch("notes", note["id"], {"text": note["text"]}, {"text": text})],
    )


def plan_delete(ctx: Context, args: dict[str, Any]) -> Preview:
    note, checks = _note(ctx, args)
    return Preview(
        action="note-delete",
        title="Delete note",
        target=f"note {note['id']}",
        customer_id=note["customerId"],
        changes=[Change("note", note["text"], "deleted (kept in the history)")],
        blocked=checks.blocked,
        destructive=True,
        request=Request("DELETE", f"/x-srm/notes/{note['id']}", params={"editor": ctx.agent}),
        watches=[Watch("notes", note["id"], {"deletedAt": None}, {"deletedAt": ANY_VALUE})],
    )


NOTE_ADD = ActionSpec(
    name="note-add", title="Add note", fields=(CUSTOMER_ID, TEXT), rules=(), plan=plan_add
)
NOTE_EDIT = ActionSpec(
    name="note-edit",
    title="Edit note",
    fields=(NOTE_ID, TEXT),
    rules=(NOTE_DELETED, NOTE_AUTHOR),
    plan=plan_edit,
)
NOTE_DELETE = ActionSpec(
    name="note-delete",
    title="Delete note",
    fields=(NOTE_ID,),
    rules=(NOTE_DELETED, NOTE_AUTHOR),
    plan=plan_delete,
    destructive=True,
)
