"""The parsed, frozen form of a definition (see :mod:`statemachine.model.states`)."""

from statemachine.model.states import (
    ABSENT,
    Catcher,
    ChoiceBranch,
    ChoiceState,
    Dyn,
    FailState,
    MapState,
    ParallelState,
    PassState,
    Retrier,
    Scope,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)

__all__ = [
    "ABSENT",
    "Catcher",
    "ChoiceBranch",
    "ChoiceState",
    "Dyn",
    "FailState",
    "MapState",
    "ParallelState",
    "PassState",
    "Retrier",
    "Scope",
    "State",
    "StateMachine",
    "SucceedState",
    "TaskState",
    "WaitState",
]
