"""Semantic rules of Amazon States Language definitions: the second validation pass.

The JSON Schema pass (:mod:`statemachine.validation.schema`) checks shapes and types; the
rules here check what a schema cannot: the state graph, field combinations, the query
language of each state, variables, and every expression, compiled now.

:data:`RULES` maps a stable rule id to a small generator function; the table is the
documentation (each function's docstring says what it enforces). A rule never raises and
skips what it cannot understand, since a definition with schema problems still reaches it.
:func:`iter_rule_problems` runs them all and yields :class:`Problem` objects whose ``path``
points into the definition; the caller maps it to ``file:line:column``.

Where the ASL specification and AWS Step Functions differ, the rules follow AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from statemachine.validation import rules_expressions as ex
from statemachine.validation import rules_fields as fi
from statemachine.validation import rules_structure as st
from statemachine.validation.problem import Problem
from statemachine.validation.rules_context import JSON, RuleContext, ScopeInfo, StateInfo

__all__ = ["RULES", "Rule", "RuleContext", "ScopeInfo", "StateInfo", "iter_rule_problems"]

Rule = Callable[[RuleContext], Iterator[Problem]]

RULES: dict[str, Rule] = {
    # the state graph (rules_structure)
    "start-at-exists": st.start_at_exists,
    "transition-target": st.transition_target,
    "unreachable-state": st.unreachable_state,
    "terminal-reachable": st.terminal_reachable,
    "state-name-unique": st.state_name_unique,
    "state-name-chars": st.state_name_chars,
    "next-or-end": st.next_or_end,
    "no-next-end": st.no_next_end,
    "choice-nested-next": st.choice_nested_next,
    "retry-catch-placement": st.retry_catch_placement,
    "states-all-last": st.states_all_last,
    "error-name-reserved": st.error_name_reserved,
    # fields and their combinations (rules_fields)
    "exclusive-fields": fi.exclusive_fields,
    "wait-duration": fi.wait_duration,
    "map-processor": fi.map_processor,
    "map-items": fi.map_items,
    "heartbeat-timeout": fi.heartbeat_timeout,
    "machine-version": fi.machine_version,
    "query-language-field": fi.query_language_field,
    "query-language-value": fi.query_language_value,
    "variable-name": fi.variable_name,
    "variable-scope": fi.variable_scope,
    "payload-key-collision": fi.payload_key_collision,
    # expressions, compiled now (rules_expressions)
    "path-syntax": ex.path_syntax,
    "result-path": ex.result_path,
    "payload-template": ex.payload_template,
    "choice-rule": ex.choice_rule,
    "wait-timestamp": ex.wait_timestamp,
    "jsonata-wrapping": ex.jsonata_wrapping,
    "jsonata-syntax": ex.jsonata_syntax,
    "jsonata-states-access": ex.jsonata_states_access,
    "resource-uri": ex.resource_uri,
}


def iter_rule_problems(definition: JSON) -> Iterator[Problem]:
    """Every problem every rule finds, rule by rule in table order. Never raises."""
    ctx = RuleContext.build(definition)
    for rule_id, rule in RULES.items():
        try:
            for problem in rule(ctx):
                yield replace(problem, rule=rule_id)
        except Exception as exc:  # a rule bug must not hide the other rules' findings
            yield Problem(
                rule=rule_id,
                message=f"internal error while checking this rule ({type(exc).__name__}: {exc})",
                path=(),
                severity="warning",
            )
