"""Checking a learner's answer in a workshop exercise: one call per check cell.

``check_answer("name", expected, hint=...)`` looks the answer up by name in the notebook (the namespace
of the cell that calls it) and compares it with ``expected``:

- an answer not yet given (the name is not defined, or is ``...``) is ``not yet: define name (hint)``,
  never a ``NameError``;
- numbers match within a tolerance, :math:`|a - e| \\le \\max(\\text{abs}, \\text{rel} \\cdot |e|)` with
  ``rel = 5e-3`` and ``abs = 5e-4``, so an answer rounded to three or four significant digits (or copied
  from a table shown with four) is correct; booleans, strings and integers must be equal;
- lists, tuples and sets match element by element (``unordered=True``: in any order);
- ``expected`` may be a function of no arguments, called only once an answer exists (so a check that
  needs a second run starts it only then).

A wrong answer raises ``AssertionError("not yet: <hint>")``, which the cell shows in red; a correct one
prints ``correct: <answer>`` and returns it.
"""
from __future__ import annotations

import inspect
import math
from numbers import Number
from typing import Any, Callable

__all__ = ["check_answer", "matches"]

REL = 5e-3
ABS = 5e-4


def matches(answer: Any, expected: Any, *, rel: float = REL, abs_tol: float = ABS, unordered: bool = False) -> bool:
    """Whether ``answer`` equals ``expected`` under the rules of the module docstring."""
    if isinstance(expected, bool) or type(expected).__name__ == "bool_":  # Python's or numpy's truth value
        return type(answer).__name__ in ("bool", "bool_") and bool(answer) == bool(expected)
    if isinstance(expected, Number) and isinstance(answer, Number):
        a, e = float(answer), float(expected)
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        if isinstance(expected, int) and a.is_integer():
            return int(a) == int(e)
        return abs(a - e) <= max(abs_tol, rel * abs(e))
    if isinstance(expected, (list, tuple, set, frozenset)) and isinstance(answer, (list, tuple, set, frozenset)):
        a_items, e_items = list(answer), list(expected)
        if len(a_items) != len(e_items):
            return False
        if unordered or isinstance(expected, (set, frozenset)):
            a_items, e_items = sorted(a_items, key=repr), sorted(e_items, key=repr)
        return all(matches(x, y, rel=rel, abs_tol=abs_tol) for x, y in zip(a_items, e_items))
    return answer == expected


def check_answer(name: str, expected: Any | Callable[[], Any], *, hint: str, rel: float = REL, abs_tol: float = ABS,
                 unordered: bool = False) -> Any:
    """Check the learner's answer ``name`` against ``expected``; print ``correct: ...`` and return the answer.

    Raises ``AssertionError`` starting with ``not yet:`` when the answer is missing or wrong.
    """
    caller = inspect.currentframe().f_back  # the notebook's namespace (the cell that calls this)
    scope = {**caller.f_globals, **caller.f_locals} if caller is not None else {}
    if name not in scope or scope[name] is Ellipsis:
        raise AssertionError(f"not yet: define {name} in the cell above ({hint})")
    answer = scope[name]
    if callable(expected):
        expected = expected()
    if not matches(answer, expected, rel=rel, abs_tol=abs_tol, unordered=unordered):
        raise AssertionError(f"not yet: {hint}")
    print("correct:", answer)
    return answer
