"""Tools for the console's browser tests (loaded by ``statemachine serve --handlers``)."""

import statemachine


@statemachine.tool("notify")
def notify(payload: dict, ctx: statemachine.TaskContext) -> dict:
    """Stands for "ask a person": the engine keeps the callback token and the console
    answers it; what this returns is ignored for a ``.waitForTaskToken`` resource."""
    return {"asked": True, "amount": payload.get("amount")}


@statemachine.tool("summarize")
def summarize(payload: dict) -> dict:
    """A result shaped like the ``llm:chat`` handler's, so the console shows LLM usage."""
    labels = [item["label"] for item in payload.get("labels", [])]
    return {
        "content": f"{len(labels)} items: " + ", ".join(labels),
        "model": "console-test-model",
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        "finish_reason": "stop",
    }
