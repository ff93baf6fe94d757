"""The comparison vocabulary shared by scoring rules and routing rules.

`gte`, `gt`, `lte`, `lt`, `between`, `eq`, `in` and `known` mean the same thing wherever a flow
compares a value, and read the same way in the reasons an agent sees ("budget_monthly ≥ 5000",
"score ≥ 80"): one definition keeps a lead's score and its route from disagreeing.
"""

from __future__ import annotations

from typing import Any, Literal

Op = Literal["gte", "gt", "lte", "lt", "between", "eq", "in", "known"]
OPS: tuple[Op, ...] = ("gte", "gt", "lte", "lt", "between", "eq", "in", "known")
NUMERIC_OPS: tuple[Op, ...] = ("gte", "gt", "lte", "lt", "between")

_SYMBOLS = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "=", "in": "in"}


def is_number(value: Any) -> bool:
    # bool is an int subclass, but "yes" is not a quantity
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_operand(op: Op, expected: Any) -> None:
    """Raise ValueError (worded for a flow author) when `expected` cannot be compared with `op`."""
    if op == "between":
        ok = (
            isinstance(expected, list | tuple)
            and len(expected) == 2
            and all(is_number(v) for v in expected)
            and expected[0] <= expected[1]
        )
        if not ok:
            raise ValueError("'between' takes a list [low, high] of two numbers with low <= high")
    elif op in ("gte", "gt", "lte", "lt"):
        if not is_number(expected):
            raise ValueError(f"'{op}' takes a number")
    elif op == "in":
        if not isinstance(expected, list | tuple) or not expected:
            raise ValueError("'in' takes a non-empty list")
    elif op == "eq" and expected is None:
        raise ValueError("'eq' needs a value")


def satisfies(actual: Any, op: Op, expected: Any) -> bool:
    """Whether a known value `actual` compares as `op expected`; an unknown value (None) never does."""
    if actual is None:
        return False
    if op == "known":
        return True
    if op == "eq":
        return bool(actual == expected)
    if op == "in":
        return bool(actual in expected)
    if not is_number(actual):
        return False
    if op == "between":
        low, high = expected
        return bool(low <= actual <= high)
    comparisons = {
        "gte": actual >= expected,
        "gt": actual > expected,
        "lte": actual <= expected,
        "lt": actual < expected,
    }
    return bool(comparisons[op])


def describe(subject: str, op: Op, expected: Any) -> str:
    """Human wording of a comparison, e.g. 'budget_monthly ≥ 5000', 'team_size 10–49', 'email given'."""
    if op == "between":
        return f"{subject} {show(expected[0])}–{show(expected[1])}"
    if op == "known":
        return f"{subject} given"
    return f"{subject} {_SYMBOLS[op]} {show(expected)}"


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value)
    return str(value)
