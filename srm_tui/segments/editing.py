"""Editing a condition tree by position: what the builder's keys do, with no UI in it.

A position is a path of child indexes from the root (``()`` is the root; a ``not`` has one
child, index 0). Every function returns a new tree (trees are immutable) and, where the
cursor should move, the path of the node it acted on. The builder shows the tree as rows
(``rows``): one per group, one per condition, and one for a ``not`` around a condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from srm_tui.segments.model import All, AnyOf, Condition, Node, Not

Path = tuple[int, ...]


class EditError(ValueError):
    """The edit does not apply here (said to the agent as is)."""


def is_group(node: Node) -> bool:
    return isinstance(node, (All, AnyOf))


def children(node: Node) -> tuple[Node, ...]:
    if is_group(node):
        return node.items  # type: ignore[union-attr]
    if isinstance(node, Not):
        return (node.item,)
    return ()


def with_children(node: Node, items: tuple[Node, ...]) -> Node:
    if isinstance(node, All):
        return All(items)
    if isinstance(node, AnyOf):
        return AnyOf(items)
    if isinstance(node, Not):
        if len(items) != 1:
            raise EditError("a not holds exactly one condition or group")
        return Not(items[0])
    raise EditError("a condition has no children")


def get(tree: Node, path: Path) -> Node:
    node = tree
    for i in path:
        kids = children(node)
        if not 0 <= i < len(kids):
            raise EditError(f"no node at {path}")
        node = kids[i]
    return node


def replace(tree: Node, path: Path, new: Node | None) -> Node:
    """The tree with the node at ``path`` replaced (``None``: removed from its group)."""
    if not path:
        if new is None:
            return All()
        return new
    parent_path, index = path[:-1], path[-1]
    parent = get(tree, parent_path)
    items = list(children(parent))
    if new is None:
        if isinstance(parent, Not):
            # Removing what a not holds removes the not as well.
            return replace(tree, parent_path, None)
        del items[index]
    else:
        items[index] = new
    return replace(tree, parent_path, with_children(parent, tuple(items)))


def root_group(tree: Node) -> Node:
    """The builder edits a group at the root: a lone condition or not goes inside an all."""
    return tree if is_group(tree) else All((tree,))


# rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    path: Path
    depth: int
    node: Node  # the node at path (a Not for a negated condition or group)
    kind: str  # "all", "any", "condition", or "not" (a not around another not)
    negated: bool

    @property
    def condition(self) -> Condition | None:
        inner = self.node.item if isinstance(self.node, Not) else self.node
        return inner if isinstance(inner, Condition) else None


def rows(tree: Node) -> list[Row]:
    """The tree as the builder lists it, in document order."""
    out: list[Row] = []

    def walk(node: Node, path: Path, depth: int) -> None:
        negated = False
        inner, inner_path = node, path
        if isinstance(node, Not):
            negated, inner, inner_path = True, node.item, path + (0,)
        if isinstance(inner, Condition):
            out.append(Row(path, depth, node, "condition", negated))
            return
        if isinstance(inner, Not):  # not(not ...), possible in a file: a row of its own
            out.append(Row(path, depth, node, "not", negated))
            walk(inner, inner_path, depth + 1)
            return
        out.append(Row(path, depth, node, "all" if isinstance(inner, All) else "any", negated))
        for i, child in enumerate(inner.items):  # type: ignore[union-attr]
            walk(child, inner_path + (i,), depth + 1)

    walk(tree, (), 0)
    return out


def group_path(tree: Node, path: Path) -> Path:
    """The group a row edits: itself when it is a group (or a negated one), else its parent
    group (skipping the not around it)."""
    node = get(tree, path)
    if is_group(node):
        return path
    if isinstance(node, Not) and is_group(node.item):
        return path + (0,)
    parent = path[:-1]
    while parent and not is_group(get(tree, parent)):
        parent = parent[:-1]
    return parent


def _owner(tree: Node, path: Path) -> tuple[Path, int]:
    """(the group holding the row at path, the row's index in it)."""
    if not path:
        raise EditError("the root group has no place in another group")
    parent = path[:-1]
    index = path[-1]
    while parent and not is_group(get(tree, parent)):
        index = parent[-1]
        parent = parent[:-1]
    if not is_group(get(tree, parent)):
        raise EditError("this node is not inside a group")
    return parent, index


# edits -------------------------------------------------------------------------------------


def insert(tree: Node, at: Path, node: Node) -> tuple[Node, Path]:
    """Add ``node`` after the row at ``at`` (at the end of it when ``at`` is a group)."""
    target = get(tree, at)
    if is_group(target) or (isinstance(target, Not) and is_group(target.item)):
        gpath = group_path(tree, at)
        group = get(tree, gpath)
        items = children(group) + (node,)
        return replace(tree, gpath, with_children(group, items)), gpath + (len(items) - 1,)
    gpath, index = _owner(tree, at)
    group = get(tree, gpath)
    items = list(children(group))
    items.insert(index + 1, node)
    return replace(tree, gpath, with_children(group, tuple(items))), gpath + (index + 1,)


def delete(tree: Node, path: Path) -> tuple[Node, Path]:
    """Remove the row at ``path`` (the root empties instead); the cursor goes to the row
    before it, or to its group."""
    if not path:
        return All(), ()
    gpath, index = _owner(tree, path)
    group = get(tree, gpath)
    items = list(children(group))
    del items[index]
    new = replace(tree, gpath, with_children(group, tuple(items)))
    return new, (gpath + (index - 1,) if index > 0 else gpath)


def toggle_kind(tree: Node, path: Path) -> Node:
    """all of <-> any of, for the group on this row (or the row's group)."""
    gpath = group_path(tree, path)
    group = get(tree, gpath)
    flipped = AnyOf(group.items) if isinstance(group, All) else All(group.items)  # type: ignore
    return replace(tree, gpath, flipped)


def negate(tree: Node, path: Path) -> Node:
    """Put a not around the row's node, or take it away."""
    node = get(tree, path)
    if isinstance(node, Not):
        return replace(tree, path, node.item)
    if not path:
        return Not(node) if is_group(node) else node
    return replace(tree, path, Not(node))


def wrap(tree: Node, path: Path, kind: str = "any") -> tuple[Node, Path]:
    """Put the row's node into a new group of its own (to add alternatives beside it)."""
    node = get(tree, path)
    group = AnyOf((node,)) if kind == "any" else All((node,))
    if not path:
        return group, ()
    return replace(tree, path, group), path


def add_group(tree: Node, at: Path, kind: str = "any") -> tuple[Node, Path]:
    """A new empty group after the row (inside it when the row is a group)."""
    return insert(tree, at, AnyOf() if kind == "any" else All())


def move(tree: Node, path: Path, delta: int) -> tuple[Node, Path]:
    """Swap the row's node with its neighbour in its group (-1 up, +1 down)."""
    gpath, index = _owner(tree, path)
    group = get(tree, gpath)
    items = list(children(group))
    target = index + delta
    if not 0 <= target < len(items):
        raise EditError("already at the " + ("top" if delta < 0 else "bottom") + " of its group")
    items[index], items[target] = items[target], items[index]
    return replace(tree, gpath, with_children(group, tuple(items))), gpath + (target,)


def indent(tree: Node, path: Path) -> tuple[Node, Path]:
    """Move the row's node to the end of the group just above it in its group."""
    gpath, index = _owner(tree, path)
    group = get(tree, gpath)
    items = list(children(group))
    if index == 0:
        raise EditError("nothing above it to move into: add a group first (o)")
    above = items[index - 1]
    inner_path = gpath + (index - 1,)
    if isinstance(above, Not) and is_group(above.item):
        inner_path += (0,)
        above = above.item
    if not is_group(above):
        raise EditError("the row above is a condition: wrap it in a group first (w)")
    node = items.pop(index)
    tree = replace(tree, gpath, with_children(group, tuple(items)))
    inner = get(tree, inner_path)
    moved = children(inner) + (node,)
    tree = replace(tree, inner_path, with_children(inner, moved))
    return tree, inner_path + (len(moved) - 1,)


def outdent(tree: Node, path: Path) -> tuple[Node, Path]:
    """Move the row's node out of its group, to just after that group."""
    gpath, index = _owner(tree, path)
    if not gpath:
        raise EditError("already in the outermost group")
    holder_path = gpath
    if isinstance(get(tree, gpath[:-1]), Not):
        holder_path = gpath[:-1]  # the group sits inside a not: step out of both
    outer_path, outer_index = _owner(tree, holder_path)
    group = get(tree, gpath)
    items = list(children(group))
    node = items.pop(index)
    tree = replace(tree, gpath, with_children(group, tuple(items)))
    outer = get(tree, outer_path)
    outer_items = list(children(outer))
    outer_items.insert(outer_index + 1, node)
    tree = replace(tree, outer_path, with_children(outer, tuple(outer_items)))
    return tree, outer_path + (outer_index + 1,)


def add_slice(tree: Node, node: Node) -> tuple[Node, Path]:
    """The tree narrowed by one more node (a chart's slice): appended to a root all."""
    base = tree if isinstance(tree, All) else All((tree,))
    items = base.items + (node,)
    return All(items), (len(items) - 1,)


def path_text(tree: Node, path: Path) -> str:
    """The file path of a node (``where.all[1].any[0]``), for messages."""
    out, node = "where", tree
    for i in path:
        if isinstance(node, Not):
            out += ".not"
        else:
            out += f".{'all' if isinstance(node, All) else 'any'}[{i}]"
        node = children(node)[i]
    return out
