"""The provider's price rules for a service, and the estimated cost of one request.

A service's `cost` (docs/platform.md, "Price") is a list of rules `{conditions, consumption,
unit?, hidden?}` whose `conditions` and `consumption` are JsonLogic expressions over the
request body (the web app Nexior evaluates them with `getConsumption` to show a price before
a request is sent). This module evaluates the part of JsonLogic the rules use. An operator it
does not know makes the estimate unknown (None) rather than wrong: a price shown must be one
the provider's rules give.

Pure functions over parsed JSON: no I/O, no Textual.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "PriceList",
    "PriceRule",
    "UnknownRule",
    "estimate",
    "evaluate",
    "format_amount",
    "parse_price_list",
]


class UnknownRule(ValueError):
    """A rule uses JsonLogic that nbtui does not evaluate (or evaluates to no number)."""


@dataclass(frozen=True, slots=True)
class PriceRule:
    """One rule: when `conditions` holds for a request, it costs `consumption`."""

    conditions: Any
    consumption: Any


@dataclass(frozen=True, slots=True)
class PriceList:
    """A service's rules, in the provider's order, and the unit they count in."""

    rules: tuple[PriceRule, ...]
    unit: str = "credits"

    def estimate(self, body: Mapping[str, Any]) -> float | None:
        return estimate(self.rules, body)


def format_amount(amount: float) -> str:
    """12.3 -> "12.30"; a small price keeps its digits (0.0035 -> "0.0035")."""
    if amount != 0 and abs(amount) < 0.01:
        return f"{amount:.4f}".rstrip("0")
    return f"{amount:,.2f}"


def parse_price_list(service: Any) -> PriceList:
    """The rules of a service object from the catalog (`cost`, `unit`); raises ValueError
    naming what is wrong when the object does not have the documented shape."""
    if not isinstance(service, Mapping):
        raise ValueError("the service is not a JSON object")
    cost = service.get("cost")
    if not isinstance(cost, list):
        raise ValueError("the service has no `cost` list")
    rules: list[PriceRule] = []
    for index, rule in enumerate(cost):
        if not isinstance(rule, Mapping) or "consumption" not in rule:
            raise ValueError(f"cost rule {index} is not an object with `consumption`")
        rules.append(PriceRule(rule.get("conditions", {}), rule["consumption"]))
    unit = service.get("unit")
    return PriceList(tuple(rules), _unit_words(unit))


def _unit_words(unit: Any) -> str:
    """The service's unit as the header says it: Credit (the platform's) -> credits."""
    if not isinstance(unit, str) or not unit.strip() or unit.strip().lower() == "credit":
        return "credits"
    return unit.strip()


def estimate(rules: Sequence[PriceRule], body: Mapping[str, Any]) -> float | None:
    """The cost of a request: the first rule whose conditions hold gives it; None when no
    rule applies or a rule nbtui cannot evaluate comes first."""
    for rule in rules:
        try:
            if not _truthy(evaluate(rule.conditions, body)):
                continue
            value = evaluate(rule.consumption, body)
        except UnknownRule:
            return None
        number = _number(value)
        return number if number is not None and number >= 0 else None
    return None


def evaluate(logic: Any, data: Mapping[str, Any]) -> Any:
    """A JsonLogic expression's value over `data` (the operators in `_OPERATORS`)."""
    if isinstance(logic, list):
        return [evaluate(item, data) for item in logic]
    if not isinstance(logic, Mapping):
        return logic
    if not logic:
        return True  # `{}`: the provider's "always" condition
    if len(logic) != 1:
        raise UnknownRule("an operation object must have exactly one operator")
    ((operator, raw_args),) = logic.items()
    if operator == "var":
        return _var(raw_args, data)
    args = raw_args if isinstance(raw_args, list) else [raw_args]
    if operator == "and":
        result: Any = True
        for arg in args:
            result = evaluate(arg, data)
            if not _truthy(result):
                return result
        return result
    if operator == "or":
        result = False
        for arg in args:
            result = evaluate(arg, data)
            if _truthy(result):
                return result
        return result
    if operator == "if":
        for index in range(0, len(args) - 1, 2):
            if _truthy(evaluate(args[index], data)):
                return evaluate(args[index + 1], data)
        return evaluate(args[-1], data) if len(args) % 2 else None
    function = _OPERATORS.get(operator)
    if function is None:
        raise UnknownRule(f"unknown operator {operator!r}")
    return function([evaluate(arg, data) for arg in args])


def _var(raw_args: Any, data: Mapping[str, Any]) -> Any:
    args = raw_args if isinstance(raw_args, list) else [raw_args]
    path = args[0] if args else ""
    default = args[1] if len(args) > 1 else None
    if path in ("", None):
        return data
    value: Any = data
    for part in str(path).split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return default if value is None else value


def _truthy(value: Any) -> bool:
    """JsonLogic truth: empty lists and strings, 0 and null are false."""
    return bool(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _numbers(args: list[Any]) -> list[float]:
    numbers = [_number(arg) for arg in args]
    if any(number is None for number in numbers):
        raise UnknownRule("arithmetic on a value that is not a number")
    return [number for number in numbers if number is not None]


def _equal(args: list[Any]) -> bool:
    if len(args) != 2:
        raise UnknownRule("== takes two values")
    left, right = args
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    left_number, right_number = _number(left), _number(right)
    if (
        isinstance(left, int | float) or isinstance(right, int | float)
    ) and left_number is not None:
        return left_number == right_number
    return bool(left == right)


def _strict_equal(args: list[Any]) -> bool:
    if len(args) != 2:
        raise UnknownRule("=== takes two values")
    left, right = args
    return type(left) is type(right) and bool(left == right)


def _contains(args: list[Any]) -> bool:
    if len(args) != 2:
        raise UnknownRule("in takes two values")
    needle, haystack = args
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle in haystack
    return False


def _compare(check: Callable[[float, float], bool]) -> Callable[[list[Any]], bool]:
    def compare(args: list[Any]) -> bool:
        numbers = _numbers(args)
        if len(numbers) < 2:
            raise UnknownRule("a comparison takes two or three values")
        return all(check(a, b) for a, b in itertools.pairwise(numbers))

    return compare


def _product(args: list[Any]) -> float:
    result = 1.0
    for number in _numbers(args):
        result *= number
    return result


def _minus(args: list[Any]) -> float:
    numbers = _numbers(args)
    if len(numbers) == 1:
        return -numbers[0]
    if len(numbers) != 2:
        raise UnknownRule("- takes one or two values")
    return numbers[0] - numbers[1]


def _divide(args: list[Any]) -> float:
    numbers = _numbers(args)
    if len(numbers) != 2 or numbers[1] == 0:
        raise UnknownRule("/ takes two values, the second not zero")
    return numbers[0] / numbers[1]


def _pick(function: Callable[[list[float]], float]) -> Callable[[list[Any]], float]:
    def pick(args: list[Any]) -> float:
        numbers = _numbers(args)
        if not numbers:
            raise UnknownRule("min and max take at least one value")
        return function(numbers)

    return pick


_OPERATORS: Final[dict[str, Callable[[list[Any]], Any]]] = {
    "==": _equal,
    "!=": lambda args: not _equal(args),
    "===": _strict_equal,
    "!==": lambda args: not _strict_equal(args),
    "!": lambda args: not _truthy(args[0] if args else None),
    "!!": lambda args: _truthy(args[0] if args else None),
    "in": _contains,
    "<": _compare(lambda a, b: a < b),
    "<=": _compare(lambda a, b: a <= b),
    ">": _compare(lambda a, b: a > b),
    ">=": _compare(lambda a, b: a >= b),
    "+": lambda args: sum(_numbers(args)),
    "*": _product,
    "-": _minus,
    "/": _divide,
    "min": _pick(min),
    "max": _pick(max),
}
