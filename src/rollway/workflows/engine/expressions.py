"""The expression forms Rollway's templates use: `{{…}}` substitution, `when` and `depends`.

Deliberately small: a comparison language with ==, !=, !, &&, || and parentheses — what Argo's
govaluate accepts for these templates — and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from ...errors import InvalidInput

REFERENCE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
TOKEN = re.compile(r"\s*(&&|\|\||==|!=|!|\(|\)|'[^']*'|\"[^\"]*\"|[^\s()!=&|]+)")
#: Results a task's `depends` may test, and what a bare task name means.
RESULTS = {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded",
           "AllFailed"}  # fmt: skip
BARE = ("Succeeded", "Skipped", "Daemoned")


class ExpressionError(InvalidInput):
    pass


def references(text: str) -> list[str]:
    return REFERENCE.findall(text)


def substitute(text: str, scope: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in scope:
            raise ExpressionError(f"unknown reference {{{{{key}}}}}")
        return scope[key]

    return REFERENCE.sub(replace, text)


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"cannot parse expression {text!r} at {pos}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class _Parser:
    """expr := and ('||' and)* ; and := unary ('&&' unary)* ; unary := '!' unary | atom."""

    def __init__(self, text: str, atom: Callable[[_Parser], bool]) -> None:
        self.text, self.tokens, self.pos, self.atom = text, _tokens(text), 0, atom

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"unexpected end of expression {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> bool:
        value = self.expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()!r} in {self.text!r}")
        return value

    def expr(self) -> bool:
        value = self.conj()
        while self.peek() == "||":
            self.take()
            value = self.conj() or value
        return value

    def conj(self) -> bool:
        value = self.unary()
        while self.peek() == "&&":
            self.take()
            value = self.unary() and value
        return value

    def unary(self) -> bool:
        if self.peek() == "!":
            self.take()
            return not self.unary()
        if self.peek() == "(":
            self.take()
            value = self.expr()
            if self.peek() != ")":
                raise ExpressionError(f"missing ')' in {self.text!r}")
            self.take()
            return value
        return self.atom(self)


def _literal(token: str) -> str:
    return token[1:-1] if token[:1] in "'\"" and token[-1:] == token[:1] else token


OPERATORS = frozenset({"&&", "||", "==", "!=", "!", "(", ")"})


def _operand(parser: _Parser) -> str:
    token = parser.take()
    if token in OPERATORS:
        raise ExpressionError(f"unexpected {token!r} in {parser.text!r}")
    return _literal(token)


def _compare(parser: _Parser) -> bool:
    left = _operand(parser)
    op = parser.peek()
    if op not in ("==", "!="):
        if left in ("true", "false"):
            return left == "true"
        raise ExpressionError(f"expected == or != after {left!r} in {parser.text!r}")
    parser.take()
    right = _operand(parser)
    try:
        equal = float(left) == float(right)
    except ValueError:
        equal = left == right
    return equal if op == "==" else not equal


def check_depends(text: str, tasks: Collection[str]) -> None:
    """Refuse what Argo's `depends` would not accept: unknown tasks, results or syntax."""
    if text.strip():
        evaluate_depends(text, dict.fromkeys(tasks, "Succeeded"))


def check_when(text: str) -> None:
    """Refuse a `when` the evaluator cannot parse (references stand for one-word values)."""
    try:
        evaluate_when(REFERENCE.sub("x", text))
    except ExpressionError:
        raise ExpressionError(
            f"unsupported condition {text!r}: compare with == or != and combine with !, &&, || "
            "and parentheses"
        ) from None


def evaluate_when(text: str) -> bool:
    """Evaluate an already-substituted `when` condition."""
    return _Parser(text, _compare).parse() if text.strip() else True


def depends_on(text: str) -> list[str]:
    """Task names a `depends` expression mentions."""
    names = []
    for token in _tokens(text) if text.strip() else []:
        if token not in ("&&", "||", "!", "(", ")"):
            names.append(token.split(".")[0])
    return names


def evaluate_depends(text: str, results: Mapping[str, str]) -> bool:
    """`results` maps each finished task to its phase (Succeeded, Failed, Skipped, Omitted…)."""
    if not text.strip():
        return True

    def atom(parser: _Parser) -> bool:
        token = parser.take()
        task, _, result = token.partition(".")
        if task in ("&&", "||", "(", ")") or not task:
            raise ExpressionError(f"unexpected {token!r} in depends {text!r}")
        if task not in results:
            raise ExpressionError(f"unknown task {task!r} in depends {text!r}")
        phase = results[task]
        if not result:
            return phase in BARE
        if result not in RESULTS:
            raise ExpressionError(f"unknown result {result!r} in depends {text!r}")
        if result == "Errored":
            return phase == "Error"
        if result == "AnySucceeded":
            return phase == "Succeeded"
        if result == "AllFailed":
            return phase in ("Failed", "Error")
        return phase == result

    return _Parser(text, atom).parse()
