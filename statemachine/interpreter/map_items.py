"""How a Map state turns its input into iteration inputs.

Order (AWS "Map state input and output"): InputPath, then ItemReader (the driver reads
files before the state runs and hands the items in ``pending['items']``), then ItemsPath
(default ``$``) or JSONata ``Items``; the selection must be an array. ``ItemSelector``
(deprecated synonym ``Parameters``) is evaluated once per item with
``$$.Map.Item.Index``/``Value``. ``ItemBatcher`` groups the selected items into
``{"Items": [...], "BatchInput": ...}`` inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from statemachine.errors import StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.jsonpath import PathNotFound
from statemachine.interpreter.dataflow import payload_size, runtime_error
from statemachine.interpreter.frame import ChildSpec, ReadItems, SpawnChildren, WriteResults
from statemachine.model.states import ABSENT, Dyn, MapState

if TYPE_CHECKING:
    from statemachine.interpreter.core import _Transition

JSON = Any


def map_children(
    t: _Transition, state: MapState, ctx: EvalContext, *, items: list[JSON] | None = None
) -> SpawnChildren:
    raw = t.frame.input
    event_id = t.frame.entered_event_id
    if items is not None:
        # The dataset came from the ItemReader: ItemsPath/Items do not apply.
        effective = raw if state.is_jsonata else t.effective_input(ctx)
    elif state.is_jsonata:
        effective = raw
        items = raw
        if state.items is not None:
            items = state.items.evaluate(t.states_binding(ctx), ctx, field="Items")
        if not isinstance(items, list):
            raise StatesError(
                "States.QueryEvaluationError",
                f"The Items field of Map state '{state.name}' must evaluate to a JSON array, "
                f"got: {_type_name(items)}",
            )
    else:
        effective = t.effective_input(ctx)
        if state.items_path is ABSENT:
            items = effective
            where = "$"
        else:
            try:
                items = state.items_path.find(effective, ctx)
            except PathNotFound:
                raise runtime_error(
                    state.name,
                    event_id,
                    f"Invalid path '{state.items_path.text}' : No results for path: "
                    f"{state.items_path.normalized}",
                ) from None
            where = state.items_path.text
        if not isinstance(items, list):
            raise runtime_error(
                state.name,
                event_id,
                f"Invalid path '{where}': The value at the path is not a JSON array "
                f"(got {_type_name(items)})",
            )

    inputs: list[JSON] = []
    selector = state.item_selector
    for index, item in enumerate(items):
        if selector is None:
            inputs.append(item)
            continue
        item_ctx = EvalContext(
            context=t.context(item=(index, item)), variables=ctx.variables, rng=ctx.rng
        )
        if state.is_jsonata:
            inputs.append(
                selector.evaluate(t.states_binding(item_ctx), item_ctx, field="ItemSelector")
            )
        else:
            inputs.append(selector.evaluate(effective, item_ctx))

    if state.item_batcher is not None:
        inputs = _batch(t, state, inputs, effective, ctx)

    max_concurrency = _int_field(t, state.max_concurrency, effective, ctx, minimum=0) or 0
    tolerated_count = _int_field(t, state.tolerated_failure_count, effective, ctx, minimum=0)
    tolerated_pct = _number_field(t, state.tolerated_failure_percentage, effective, ctx)
    if state.distributed and tolerated_count is None and tolerated_pct is None:
        # A Distributed Map tolerates no failures by default: the first failed item
        # exceeds the threshold (States.ExceedToleratedFailureThreshold).
        tolerated_count = 0
    assert state.processor is not None
    children = tuple(
        ChildSpec(scope=state.processor.key, input=value, index=i) for i, value in enumerate(inputs)
    )
    return SpawnChildren(
        "map",
        children,
        variables=dict(t.frame.variables),
        max_concurrency=max_concurrency,
        tolerated_count=tolerated_count,
        tolerated_percentage=tolerated_pct,
    )


def _batch(
    t: _Transition, state: MapState, items: list[JSON], effective: JSON, ctx: EvalContext
) -> list[JSON]:
    cfg = state.item_batcher or {}
    max_items = cfg.get("MaxItemsPerBatch")
    if "MaxItemsPerBatchPath" in cfg:
        max_items = _path_value(t, cfg["MaxItemsPerBatchPath"], effective, ctx)
    max_bytes = cfg.get("MaxInputBytesPerBatch")
    if "MaxInputBytesPerBatchPath" in cfg:
        max_bytes = _path_value(t, cfg["MaxInputBytesPerBatchPath"], effective, ctx)
    batch_input = cfg.get("BatchInput")
    if batch_input is not None and not state.is_jsonata:
        from statemachine.expressions.templates import compile_template

        batch_input = compile_template(batch_input, field="BatchInput").evaluate(effective, ctx)
    max_bytes = min(int(max_bytes), 262_144) if max_bytes else 262_144
    batches: list[JSON] = []
    current: list[JSON] = []
    size = 0
    for item in items:
        item_size = payload_size(item) + 1
        full = max_items is not None and len(current) >= int(max_items)
        if current and (full or size + item_size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    out = []
    for batch in batches:
        value: dict[str, JSON] = {"Items": batch}
        if batch_input is not None:
            value["BatchInput"] = batch_input
        out.append(value)
    return out


def _path_value(t: _Transition, text: str, data: JSON, ctx: EvalContext) -> JSON:
    from statemachine.expressions.jsonpath import compile_path

    path = compile_path(text)
    try:
        return path.find(data, ctx)
    except PathNotFound:
        raise runtime_error(
            t.state.name,
            t.frame.entered_event_id,
            f"Invalid path '{text}' : No results for path: {path.normalized}",
        ) from None


def _int_field(
    t: _Transition, dyn: Dyn | None, data: JSON, ctx: EvalContext, *, minimum: int
) -> int | None:
    if dyn is None:
        return None
    value = t.dyn(dyn, data, ctx)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise runtime_error(
            t.state.name,
            t.frame.entered_event_id,
            f"The value of {dyn.source} must be an integer >= {minimum}, got {value!r}",
        )
    return value


def _number_field(t: _Transition, dyn: Dyn | None, data: JSON, ctx: EvalContext) -> float | None:
    if dyn is None:
        return None
    value = t.dyn(dyn, data, ctx)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise runtime_error(
            t.state.name,
            t.frame.entered_event_id,
            f"The value of {dyn.source} must be a number between 0 and 100, got {value!r}",
        )
    return float(value)


def _type_name(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


def tolerance_exceeded(
    failed: int, total: int, count: int | None, percentage: float | None
) -> bool:
    """Map tolerance: with neither threshold set, any failure fails the Map; otherwise the
    Map fails once failures exceed the count or the percentage of all items."""
    if failed == 0:
        return False
    if count is None and percentage is None:
        return True
    if count is not None and failed > count:
        return True
    return percentage is not None and total > 0 and failed * 100.0 / total > percentage


def _evaluated_config(
    t: _Transition, state: MapState, config: dict[str, JSON], ctx: EvalContext, field: str
) -> dict[str, JSON]:
    """ItemReader/ResultWriter with their Parameters (JSONPath) or Arguments (JSONata)
    evaluated against the state's effective input."""
    out = dict(config)
    if state.is_jsonata and "Arguments" in config:
        from statemachine.expressions.jsonata_expr import compile_jsonata_template

        template = compile_jsonata_template(config["Arguments"])
        out["Arguments"] = template.evaluate(t.states_binding(ctx), ctx, field=f"{field}/Arguments")
    elif "Parameters" in config:
        from statemachine.expressions.templates import compile_template

        template = compile_template(config["Parameters"], field=f"{field}.Parameters")
        out["Parameters"] = template.evaluate(t.effective_input(ctx), ctx)
    return out


def reader_request(t: _Transition, state: MapState, ctx: EvalContext) -> ReadItems:
    reader = _evaluated_config(t, state, state.item_reader or {}, ctx, "ItemReader")
    cfg = reader.get("ReaderConfig") or {}
    max_items = cfg.get("MaxItems")
    if "MaxItemsPath" in cfg:
        max_items = _path_value(t, cfg["MaxItemsPath"], t.effective_input(ctx), ctx)
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int)):
        raise runtime_error(
            state.name,
            t.frame.entered_event_id,
            f"The value of MaxItems must be a positive integer, got {max_items!r}",
        )
    return ReadItems(reader=reader, max_items=max_items or None)


def writer_request(
    t: _Transition, state: MapState, ctx: EvalContext, results: list[JSON]
) -> WriteResults:
    writer = _evaluated_config(t, state, state.result_writer or {}, ctx, "ResultWriter")
    ex = t.env.execution
    run_id = f"{t.rng.getrandbits(128):032x}"
    label = state.label or state.name
    arn = (
        ex.state_machine_id.replace(":stateMachine:", ":mapRun:")
        + f"/{label}:{run_id[:8]}-{run_id[8:12]}-{run_id[12:16]}-{run_id[16:20]}-{run_id[20:]}"
    )
    return WriteResults(writer=writer, results=results, map_run_arn=arn)
