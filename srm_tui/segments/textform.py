"""The text form of a condition tree, for typing and reading segments in one line.

    subscription.state = grace and (customer.country in (PL, DE) or not customer.mrr < 20)

``format_tree`` writes it and ``parse_tree`` reads it back to the identical tree (groups and
their nesting included), so the builder can offer both views of one segment. Grammar:

    expr      := and_expr ("or" and_expr)*
    and_expr  := unary ("and" unary)*
    unary     := "not" unary | "(" expr ")" | ("all" | "any") "(" [expr ("," expr)*] ")"
               | condition
    condition := ATTRIBUTE operator
    operator  := "=" v | "!=" v | ">" v | ">=" v | "<" v | "<=" v | "in" list | "not in" list
               | "contains" v | "not contains" v | "starts with" v | "ends with" v
               | "between" v "and" v | "before" v | "after" v | "on" v
               | "within last" n ["days"] | "more than" n ["days"] "ago"
               | "within next" n ["days"] | "is set" | "is not set"
               | OPERATOR_NAME [v | list]       (eq, not_in, within_last, ... as in files)
    list      := "(" [v ("," v)*] ")"
    v         := "quoted JSON string" | number | true | false | null | bare-word

Keywords are case-insensitive. A bare word is text unless it reads as a number, true, false
or null; the formatter quotes any text that would read otherwise. ``all()`` and ``any()`` are
the empty groups (true and false).

Over 400 lines: a tokenizer, a recursive-descent parser and the formatter for the same
grammar, which must round-trip exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from srm_tui.segments.catalog import LIST_VALUE, NO_VALUE, OPERATORS
from srm_tui.segments.model import All, AnyOf, Condition, Node, Not

OPERATOR_NAMES = frozenset(op for ops in OPERATORS.values() for op in ops)
SYMBOLS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
FROM_SYMBOL = {v: k for k, v in SYMBOLS.items()}
PHRASES = {
    "contains": "contains",
    "not_contains": "not contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "in",
    "not_in": "not in",
    "before": "before",
    "after": "after",
    "on": "on",
}
RESERVED = (
    frozenset(
        {
            "and",
            "or",
            "not",
            "all",
            "any",
            "true",
            "false",
            "null",
            "days",
            "ago",
            "in",
            "is",
            "set",
        }
    )
    | OPERATOR_NAMES
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_BARE_CHARS = re.compile(r"[^\s(),\"=!<>]+")
_SYMBOL = re.compile(r"!=|>=|<=|=|<|>")


class TextFormError(ValueError):
    """The text cannot be read; ``position`` is the 0-based offset of the trouble."""

    def __init__(self, message: str, position: int):
        self.message = message
        self.position = position
        super().__init__(f"column {position + 1}: {message}")


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", ",", "sym", "str", "word", "end"
    text: str
    pos: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            out.append(Token(ch, ch, i))
            i += 1
        elif ch == '"':
            value, end = _read_string(text, i)
            out.append(Token("str", text[i:end], i, value))
            i = end
        elif (m := _SYMBOL.match(text, i)) is not None:
            out.append(Token("sym", m.group(), i))
            i = m.end()
        else:
            m = _BARE_CHARS.match(text, i)
            if m is None:
                raise TextFormError(f"unexpected {ch!r}", i)
            out.append(Token("word", m.group(), i))
            i = m.end()
    out.append(Token("end", "", n))
    return out


def _read_string(text: str, start: int) -> tuple[str, int]:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            try:
                return json.loads(text[start : i + 1]), i + 1
            except json.JSONDecodeError as exc:
                raise TextFormError(f"bad quoted text: {exc.msg}", start) from None
        i += 1
    raise TextFormError("quoted text is not closed", start)


def _bare_value(word: str) -> Any:
    low = word.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if _NUMBER.match(word):
        return int(word) if re.fullmatch(r"-?\d+", word) else float(word)
    return word


# parsing --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def is_word(self, *words: str, tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.kind == "word" and tok.text.lower() in words

    def expect_word(self, word: str, what: str) -> None:
        if not self.is_word(word):
            self.fail(f"expected {what}")
        self.next()

    def fail(self, message: str, tok: Token | None = None) -> None:
        tok = tok or self.tok
        found = "the end" if tok.kind == "end" else repr(tok.text)
        raise TextFormError(f"{message}, found {found}", tok.pos)

    # grammar ---------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise TextFormError("empty: write a condition such as customer.country = PL", 0)
        node = self.expr()
        if self.tok.kind != "end":
            self.fail("expected and, or or the end")
        return node

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.next()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while self.is_word("and"):
            self.next()
            items.append(self.unary())
        return items[0] if len(items) == 1 else All(tuple(items))

    def unary(self) -> Node:
        tok = self.tok
        if self.is_word("not"):
            self.next()
            return Not(self.unary())
        if tok.kind == "(":
            self.next()
            node = self.expr()
            if self.tok.kind != ")":
                self.fail("expected ) to close the ( at column " + str(tok.pos + 1))
            self.next()
            return node
        if self.is_word("all", "any") and self.peek().kind == "(":
            kind = self.next().text.lower()
            self.next()
            items: list[Node] = []
            if self.tok.kind != ")":
                items.append(self.expr())
                while self.tok.kind == ",":
                    self.next()
                    items.append(self.expr())
            if self.tok.kind != ")":
                self.fail(f"expected , or ) in {kind}(…)")
            self.next()
            return All(tuple(items)) if kind == "all" else AnyOf(tuple(items))
        return self.condition()

    def condition(self) -> Condition:
        tok = self.tok
        if tok.kind == "word" and tok.text.lower() not in RESERVED:
            attr = tok.text
        elif tok.kind == "str":
            attr = tok.value
        else:
            self.fail("expected a condition (an attribute such as customer.country)")
        self.next()
        op, value = self.operator(attr)
        currency = None
        # Money in a named currency: `customer.mrr > 20 in EUR`.
        if (
            self.is_word("in")
            and self.peek().kind == "word"
            and re.fullmatch(r"[A-Z]{3}", self.peek().text)
        ):
            self.next()
            currency = self.tok.text
            self.next()
        return Condition(attr, op, value, currency)

    def operator(self, attr: str) -> tuple[str, Any]:
        tok = self.tok
        if tok.kind == "sym":
            self.next()
            return FROM_SYMBOL[tok.text], self.scalar()
        if tok.kind != "word":
            self.fail(f"expected an operator after {attr}")
        word = tok.text.lower()
        nxt = self.peek()
        if word == "not" and self.is_word("in", "contains", tok=nxt):
            self.next()
            self.next()
            if nxt.text.lower() == "in":
                return "not_in", self.list_()
            return "not_contains", self.scalar()
        if word in ("starts", "ends") and self.is_word("with", tok=nxt):
            self.next()
            self.next()
            return f"{word}_with", self.scalar()
        if word == "is":
            self.next()
            if self.is_word("set"):
                self.next()
                return "is_set", None
            if self.is_word("not") and self.is_word("set", tok=self.peek()):
                self.next()
                self.next()
                return "is_not_set", None
            self.fail("expected set or not set after is")
        if word == "within" and self.is_word("last", "next", tok=nxt):
            self.next()
            self.next()
            value = self.scalar()
            if self.is_word("days"):
                self.next()
            return f"within_{nxt.text.lower()}", value
        if word == "more" and self.is_word("than", tok=nxt):
            self.next()
            self.next()
            value = self.scalar()
            if self.is_word("days"):
                self.next()
            self.expect_word("ago", "ago (more than N days ago)")
            return "more_than_days_ago", value
        if word in OPERATOR_NAMES:
            self.next()
            if word in NO_VALUE:
                return word, None
            if word in LIST_VALUE:
                return word, self.list_()
            if word == "between":
                return word, self.pair()
            return word, self.scalar()
        self.fail(
            f"expected an operator after {attr} (=, !=, <, in, contains, between, "
            "within last, is set, …)"
        )
        raise AssertionError  # unreachable: fail raises

    def pair(self) -> tuple[Any, Any]:
        """between's bounds: ``A and B`` or ``(A, B)``."""
        if self.tok.kind == "(":
            start = self.tok
            items = self.list_()
            if len(items) != 2:
                self.fail("between needs two bounds: between A and B", start)
            return items
        low = self.scalar()
        self.expect_word("and", "and (between A and B)")
        return low, self.scalar()

    def list_(self) -> tuple[Any, ...]:
        if self.tok.kind != "(":
            self.fail("expected a list such as (PL, DE)")
        self.next()
        items = []
        if self.tok.kind != ")":
            items.append(self.scalar())
            while self.tok.kind == ",":
                self.next()
                items.append(self.scalar())
        if self.tok.kind != ")":
            self.fail("expected , or ) in the list")
        self.next()
        return tuple(items)

    def scalar(self) -> Any:
        tok = self.tok
        if tok.kind == "str":
            self.next()
            return tok.value
        if tok.kind == "word" and tok.text.lower() not in ("and", "or"):
            self.next()
            return _bare_value(tok.text)
        self.fail("expected a value")


def parse_tree(text: str) -> Node:
    """The tree a text form describes; ``TextFormError`` says where it cannot be read."""
    from srm_tui.segments.validate import MAX_BYTES, MAX_DEPTH

    if len(text) > MAX_BYTES:
        raise TextFormError(f"the text is {len(text):,} characters; at most {MAX_BYTES:,}", 0)
    # Each group or `not` costs the parser a few frames; nesting is counted on the tokens
    # first, so a 5,000-deep text is refused before it can overflow the stack.
    depth = nots = 0
    for tok in tokenize(text):
        if tok.kind == "(":
            depth += 1
        elif tok.kind == ")":
            depth -= 1
        nots = nots + 1 if tok.kind == "word" and tok.text.lower() == "not" else 0
        if depth + nots > MAX_DEPTH:
            raise TextFormError(f"groups are nested more than {MAX_DEPTH} deep", tok.pos)
    return _Parser(text).parse()


# formatting -----------------------------------------------------------------------------


def format_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if _NUMBER.match(text) else json.dumps(text)
    if isinstance(value, str):
        return value if _bare_ok(value) else json.dumps(value, ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def _bare_ok(text: str) -> bool:
    return (
        bool(_BARE_CHARS.fullmatch(text))
        and text.lower() not in RESERVED
        and _bare_value(text) == text
        and text.isprintable()
    )


def _attr(name: Any) -> str:
    name = str(name)
    return name if _bare_ok(name) else json.dumps(name, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, tuple | list)


def format_condition(cond: Condition) -> str:
    """One condition; ``ValueError`` when its value has not the shape its operator takes
    (a list for in, two bounds for between, nothing for is_set, else one value). Money in a
    named currency ends ``in EUR``."""
    text = _format_condition(cond)
    if cond.currency is not None:
        if not re.fullmatch(r"[A-Z]{3}", cond.currency):
            raise ValueError(f"currency {cond.currency!r} is not an ISO 4217 code")
        text += f" in {cond.currency}"
    return text


def _format_condition(cond: Condition) -> str:
    attr, op, value = _attr(cond.attr), cond.op, cond.value
    if op in NO_VALUE:
        if value is not None:
            raise ValueError(f"{op} takes no value")
        return f"{attr} {'is set' if op == 'is_set' else 'is not set'}"
    if op in LIST_VALUE:
        if _is_scalar(value) or not all(_is_scalar(v) for v in value):
            raise ValueError(f"{op} takes a list of values")
        return f"{attr} {PHRASES[op]} {format_value(value)}"
    if op == "between":
        if _is_scalar(value) or len(value) != 2 or not all(_is_scalar(v) for v in value):
            raise ValueError("between takes two bounds")
        return f"{attr} between {format_value(value[0])} and {format_value(value[1])}"
    if not _is_scalar(value):
        raise ValueError(f"{op} takes one value")
    if op in SYMBOLS:
        return f"{attr} {SYMBOLS[op]} {format_value(value)}"
    if op in PHRASES:
        return f"{attr} {PHRASES[op]} {format_value(value)}"
    if op == "more_than_days_ago":
        return f"{attr} more than {format_value(value)} days ago"
    if op in ("within_last", "within_next"):
        return f"{attr} within {op.split('_')[1]} {format_value(value)} days"
    raise ValueError(f"operator {op!r} has no text form")


def format_tree(node: Node) -> str:
    """One line that ``parse_tree`` reads back to this very tree."""
    if isinstance(node, Condition):
        return format_condition(node)
    if isinstance(node, Not):
        return "not " + _operand(node.item)
    word = "all" if isinstance(node, All) else "any"
    if len(node.items) < 2:
        return f"{word}(" + "".join(format_tree(n) for n in node.items) + ")"
    joiner = " and " if isinstance(node, All) else " or "
    return joiner.join(_operand(n) for n in node.items)


def _operand(node: Node) -> str:
    if isinstance(node, (All, AnyOf)) and len(node.items) >= 2:
        return f"({format_tree(node)})"
    return format_tree(node)
