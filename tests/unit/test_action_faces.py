"""The action catalogue is written once: each ActionSpec's Face (srm_tui.actions.registry)
gives the `srm customer` command its arguments and flags, the customer screen its key and
the tabs it works on; the CLI commands and the bindings are generated from them."""

from __future__ import annotations

import click
import pytest

from srm_tui.actions import registry
from srm_tui.actions.registry import FACES, REGISTRY


def _command(face: registry.Face) -> click.Command:
    from srm_tui.cli.root import load, main

    command: click.Command = main.commands.get("customer") or load("customer")
    for word in face.command:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    return command


def test_every_action_has_one_face_and_every_input_a_place_on_the_command_line():
    assert sorted(f.action for f in FACES) == sorted(REGISTRY)
    for face in FACES:
        spec = face.spec
        given = {spec.target_field.name, *(f.field for f in face.flags)}
        if face.text:
            given.add(face.text)
        assert given == {f.name for f in spec.fields}, face.action


@pytest.mark.parametrize("face", FACES, ids=lambda f: f.action)
def test_the_command_is_drawn_from_the_spec(face):
    command = _command(face)
    params = {p.name: p for p in command.params}
    target = params[face.spec.target_field.name]
    assert isinstance(target, click.Argument) and target.required
    for flag in face.flags:
        option = params[flag.field]
        assert isinstance(option, click.Option)
        assert flag.decl.split("/")[0] in option.opts
        required = face.spec.field(flag.field).required
        if (face.action, flag.field) == ("cancel", "reason"):
            # With a retention playbook rule matching, --take N stands in for the reason
            # (srm_tui/cli/retention.py checks it; tests/integration/test_playbook.py).
            required = False
        assert option.required == required
    for name in ("dry_run", "yes", "as_json"):
        assert params[name].is_flag, name
    assert command.help == face.help
    names = face.names()
    assert names[face.spec.target_field.name] == face.target
    assert all(names[f.field] == f.decl.split("/")[0] for f in face.flags)


def test_the_customer_screen_keys_are_drawn_from_the_faces():
    from srm_tui.bindings import REGISTRY as BINDINGS

    acts = [s for s in BINDINGS["customer"] if s.action.startswith("act(")]
    assert [(s.id, s.keys, s.action, s.description) for s in acts] == [
        (f.binding_id, f.key, f"act('{f.action}')", f.label) for f in FACES
    ]
    keys = [k for s in BINDINGS["customer"] for k in s.keys.split(",")]
    assert len(keys) == len(set(keys)), "two customer screen bindings share a key"


def test_tabs_name_where_each_action_works():
    tabs = registry.action_tabs()
    assert set(tabs) == set(REGISTRY)
    assert registry.names_for_tab("transactions") == ["extend", "refund", "cancel-transaction"]
    assert registry.names_for_tab("notes") == ["note-add", "note-edit", "note-delete"]
    assert [s.name for s in registry.specs_for_tab("emails")] == ["resend"]
    assert registry.tabs("note-add") == ("summary", "notes")
    assert registry.tabs("view_offer") is None  # a screen key, not an action
