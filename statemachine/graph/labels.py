"""Choice rules as short, readable edge labels: ``$.x == 1``, ``And($.a > 0, $.b is null)``.

JSONPath-mode rules are rendered from the rule as written in the definition (the
compiled form has turned numbers into floats and patterns into pieces); when the raw
rule is not available the compiled one is rendered instead. JSONata conditions are shown
as their expression, without the ``{% %}`` delimiters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from statemachine.expressions.choice import BooleanRule, ChoiceRule, DataTestRule
from statemachine.model.states import ChoiceBranch, PathTuple

_RELATIONS: Final = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}
_TYPES: Final = ("String", "Numeric", "Boolean", "Timestamp")
_CHECKS: Final = {
    "IsNull": "null",
    "IsPresent": "present",
    "IsNumeric": "numeric",
    "IsString": "string",
    "IsBoolean": "boolean",
    "IsTimestamp": "timestamp",
}
_BOOLEANS: Final = ("And", "Or", "Not")


def branch_label(branch: ChoiceBranch, raw_definition: Any) -> str:
    """The label of one ``Choices`` entry."""
    if branch.condition is not None:
        return str(branch.condition.source)
    raw = lookup(raw_definition, branch.path)
    if isinstance(raw, Mapping):
        try:
            return rule_text(raw)
        except (KeyError, TypeError, ValueError):
            pass
    if isinstance(branch.rule, ChoiceRule):
        return compiled_rule_text(branch.rule)
    return "?"


def lookup(raw: Any, path: PathTuple) -> Any:
    """The value at ``path`` inside a definition dict, or ``None``."""
    for part in path:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def rule_text(rule: Mapping[str, Any]) -> str:
    """A raw Choice rule (a dict from the definition) as text."""
    for name in _BOOLEANS:
        if name in rule:
            operand = rule[name]
            if name == "Not":
                return f"Not({rule_text(operand)})"
            return f"{name}({', '.join(rule_text(r) for r in operand)})"
    variable = str(rule["Variable"])
    for name, operand in rule.items():
        if name in ("Variable", "Next", "Comment", "Assign"):
            continue
        return _data_test(variable, name, operand)
    raise ValueError("no operator")


def _data_test(variable: str, operator: str, operand: Any) -> str:
    if operator in _CHECKS:
        negation = "" if operand is True else "not "
        return f"{variable} is {negation}{_CHECKS[operator]}"
    if operator == "StringMatches":
        return f"{variable} matches {_literal(operand)}"
    is_path = operator.endswith("Path")
    base = operator[:-4] if is_path else operator
    for type_name in _TYPES:
        if base.startswith(type_name) and base[len(type_name) :] in _RELATIONS:
            symbol = _RELATIONS[base[len(type_name) :]]
            if is_path:
                shown = str(operand)
            elif type_name == "Timestamp":
                shown = f"timestamp({_literal(operand)})"
            else:
                shown = _literal(operand)
            return f"{variable} {symbol} {shown}"
    return f"{variable} {operator} {_literal(operand)}"


def compiled_rule_text(rule: ChoiceRule) -> str:
    """Fallback for a compiled rule without its source: operands may be normalised."""
    if isinstance(rule, BooleanRule):
        inner = ", ".join(compiled_rule_text(r) for r in rule.rules)
        return f"{rule.operator}({inner})"
    if isinstance(rule, DataTestRule):
        name = rule.operator.name
        if rule.operand_path is not None:
            return _data_test(rule.variable.text, name, rule.operand_path.text)
        operand = rule.operand
        pieces = getattr(operand, "pieces", None)
        if pieces is not None:
            escaped = (p.replace("\\", "\\\\").replace("*", "\\*") for p in pieces)
            operand = "*".join(escaped)
        elif name.startswith("Timestamp"):
            return f"{rule.variable.text} {name} …"
        return _data_test(rule.variable.text, name, operand)
    return "?"
