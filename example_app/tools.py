"""The tools this example server offers: small, but real, with their edge cases handled.

Each tool receives input already validated against its schema, so it only checks what a schema
cannot say (a zero divisor, a result too large for JSON, an expression that is no arithmetic)
and reports that as a :class:`ToolError`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final

from .registry import JSONValue, Tool, ToolError, ToolRegistry

Clock = Callable[[], datetime]

# Integers beyond 2**53 lose precision in JavaScript clients, and past about 4300 digits
# ``json.dumps`` refuses them outright; so exact integers stay exact only within that range.
_SAFE_INTEGER: Final = 2**53


def _number(compute: Callable[[], int | float]) -> int | float:
    """Run arithmetic and return a result JSON can carry, or fail the call as a tool error.

    ``json.dumps`` would emit ``Infinity`` for an overflowed float, which is not JSON, and huge
    integers raise ``OverflowError`` when mixed with floats; both become ``success: false``.
    """
    try:
        result = compute()
        if isinstance(result, int) and abs(result) > _SAFE_INTEGER:
            result = float(result)
    except OverflowError:
        result = math.inf
    if isinstance(result, float) and not math.isfinite(result):
        raise ToolError("The result is too large to represent.")
    return result


def _add(arguments: Mapping[str, Any]) -> JSONValue:
    a, b = arguments["a"], arguments["b"]
    return _number(lambda: a + b)


def _divide(arguments: Mapping[str, Any]) -> JSONValue:
    dividend, divisor = arguments["dividend"], arguments["divisor"]
    if divisor == 0:
        raise ToolError(
            "Cannot divide by zero.",
            developer_message="Math.Divide was called with divisor 0.",
            can_retry=True,
        )
    return _number(lambda: dividend / divisor)


EXPRESSION_MAX_LENGTH: Final = 200
"""Characters of a Math.Evaluate expression (its schema's ``maxLength``): bounds the parse."""
EXPONENT_LIMIT: Final = 64
"""The largest ``|exponent|`` of ``**``: with every operand within 2**53 (larger ones become
floats), no power costs more than a few thousand bits."""
_OPERATORS: Final[Mapping[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}


def _not_arithmetic(detail: str) -> ToolError:
    return ToolError("The expression is not arithmetic this tool evaluates.",
                     developer_message=f"Math.Evaluate: {detail}. Numbers, + - * / **, unary "
                     "minus and parentheses only.", can_retry=True)


def _evaluate_node(node: ast.AST) -> int | float:
    """The value of one node of the parsed expression, or a :class:`ToolError`: a whitelist,
    never ``eval``, so no name, call, attribute or comparison can run."""
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # not True, not 1j
        return _number(lambda: value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _evaluate_node(node.operand)
        return _number(lambda: -operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate_node(node.left), _evaluate_node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > EXPONENT_LIMIT:
            raise ToolError(f"Exponents are limited to {EXPONENT_LIMIT} in absolute value.",
                            can_retry=True)
        try:
            result = _number(lambda: _OPERATORS[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ToolError("Cannot divide by zero.", can_retry=True) from None
        if isinstance(result, complex):  # (-8) ** 0.5
            raise ToolError("The result is not a real number.", can_retry=True)
        return result
    raise _not_arithmetic(f"{type(node).__name__} is not allowed")


def _evaluate(arguments: Mapping[str, Any]) -> JSONValue:
    expression: str = arguments["expression"]
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _not_arithmetic("the expression does not parse") from None
    return _evaluate_node(tree.body)


def _text_stats(arguments: Mapping[str, Any]) -> JSONValue:
    text: str = arguments["text"]
    return {
        "characters": len(text),
        "words": len(text.split()),
        "lines": len(text.splitlines()),
    }


def _utc_now(clock: Clock) -> Callable[[Mapping[str, Any]], JSONValue]:
    def run(arguments: Mapping[str, Any]) -> JSONValue:
        now = clock().astimezone(timezone.utc)
        if arguments["format"] == "unix":
            return now.timestamp()
        return now.isoformat(timespec="seconds").replace("+00:00", "Z")

    return run


def _system_clock() -> datetime:
    return datetime.now(timezone.utc)


def _object(properties: Mapping[str, Mapping[str, Any]], *required: str) -> dict[str, Any]:
    """An input schema that refuses unknown parameters, so a misspelt name is a 422, not ignored."""
    return {
        "type": "object",
        "properties": {name: dict(spec) for name, spec in properties.items()},
        "required": list(required),
        "additionalProperties": False,
    }


_NUMBER: Final = {"type": "number"}
_TEXT_STATS_OUTPUT: Final = {
    "type": "object",
    "properties": {key: {"type": "integer"} for key in ("characters", "words", "lines")},
    "required": ["characters", "words", "lines"],
}


def default_registry(clock: Clock = _system_clock) -> ToolRegistry:
    """The example server's tools; ``clock`` is injectable so Time.UtcNow can be tested exactly."""
    return ToolRegistry(
        [
            Tool(
                toolkit="Math",
                name="Add",
                version="1.0.0",
                description="Add two numbers and return the sum.",
                parameters=_object(
                    {
                        "a": {**_NUMBER, "description": "First addend."},
                        "b": {**_NUMBER, "description": "Second addend."},
                    },
                    "a",
                    "b",
                ),
                output_schema=_NUMBER,
                run=_add,
            ),
            Tool(
                toolkit="Math",
                name="Divide",
                version="1.0.0",
                description="Divide dividend by divisor; fails (success false) on a zero divisor.",
                parameters=_object(
                    {
                        "dividend": {**_NUMBER, "description": "The number to divide."},
                        "divisor": {**_NUMBER, "description": "The number to divide by."},
                    },
                    "dividend",
                    "divisor",
                ),
                output_schema=_NUMBER,
                run=_divide,
            ),
            Tool(
                toolkit="Math",
                name="Evaluate",
                version="1.0.0",
                description="Evaluate an arithmetic expression of numbers, + - * / **, unary "
                "minus and parentheses; needs a recent strong sign-in (step-up).",
                parameters=_object(
                    {
                        "expression": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": EXPRESSION_MAX_LENGTH,
                            "description": 'The expression, such as "(2 + 3) * -4 ** 2".',
                        }
                    },
                    "expression",
                ),
                output_schema=_NUMBER,
                run=_evaluate,
            ),
            Tool(
                toolkit="Text",
                name="Stats",
                version="1.0.0",
                description="Count the characters, whitespace-separated words and lines of a text.",
                parameters=_object(
                    {
                        "text": {
                            "type": "string",
                            "maxLength": 100_000,
                            "description": "The text to measure.",
                        }
                    },
                    "text",
                ),
                output_schema=_TEXT_STATS_OUTPUT,
                run=_text_stats,
            ),
            Tool(
                toolkit="Time",
                name="UtcNow",
                version="1.0.0",
                description='The current UTC time, as ISO 8601 ("2025-03-14T15:09:26Z") or '
                "Unix seconds.",
                parameters=_object(
                    {
                        "format": {
                            "type": "string",
                            "enum": ["iso8601", "unix"],
                            "default": "iso8601",
                            "description": "iso8601 or unix.",
                        }
                    }
                ),
                output_schema={"type": ["string", "number"]},
                run=_utc_now(clock),
            ),
        ]
    )
