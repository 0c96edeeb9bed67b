// What happened to every state of an execution, derived from its history events.
//
// Events come from /v1/console/executions/{id}/trace: the public history plus the frame
// (root, Map iteration, Parallel branch) that wrote each one. A frame's scope is the id of
// the graph cluster it runs in, so (scope, state name) names a graph node.
//
// One *occurrence* is one visit of a state in one frame, from its `*StateEntered` to its
// `*StateExited`. Its status, in the console's words:
//   running    entered, doing its work (a Task scheduled, a Map's iterations going)
//   waiting    a Wait state sleeping, or a Task waiting for a callback or an activity
//   retrying   a Task (or Map/Parallel) failed and a retrier will run it again
//   caught     it failed and a Catch sent the execution on (it exited after a failure)
//   succeeded  it exited normally
//   failed     it failed and nothing caught it, or the execution failed while it ran
//   cancelled  it was still running when the execution was stopped or its Map failed
// The engine emits no event for "a retrier matched": a failure followed by nothing is
// "retrying" while the execution runs, and becomes "failed" if the execution then fails.

const RANK = ["running", "retrying", "waiting", "failed", "caught", "cancelled", "succeeded"];
const CALLBACK = /\.waitForTaskToken$/;
const ACTIVITY = /^activity:|:activity:/;
const FAILURES = new Set(["TaskFailed", "TaskTimedOut", "MapStateFailed", "ParallelStateFailed"]);

export class ExecutionTrace {
  constructor(graph) {
    this.nodeIds = new Map(); // scope + "\n" + name -> node id
    this.nodeByName = new Map();
    this.nodeTypes = new Map();
    for (const node of graph.nodes) {
      this.nodeIds.set(`${node.cluster ?? ""}\n${node.name}`, node.id);
      if (!this.nodeByName.has(node.name)) this.nodeByName.set(node.name, node.id);
      this.nodeTypes.set(node.id, node.type);
    }
    this.frames = new Map();
    this.children = new Map(); // parent frame id -> Map(group index -> newest child frame)
    this.occurrences = [];
    this.lastEventId = 0;
    this.execution = { status: "RUNNING", start: null, end: null, input: undefined, output: undefined, error: null, cause: null };
    this.usage = [];
    this.redrives = 0;
  }

  addFrames(frames) {
    for (const f of frames) {
      if (this.frames.has(f.id)) continue;
      const frame = { ...f, open: null, firstEventId: null, owner: undefined, occurrences: [], failed: false };
      this.frames.set(f.id, frame);
      if (f.parentId === null || f.parentId === undefined) continue;
      if (!this.children.has(f.parentId)) this.children.set(f.parentId, new Map());
      const siblings = this.children.get(f.parentId);
      const known = siblings.get(f.groupIndex);
      if (!known || known.generation <= f.generation) siblings.set(f.groupIndex, frame);
    }
  }

  frame(id) {
    if (id === null || id === undefined) id = 0;
    let frame = this.frames.get(id);
    if (!frame) {
      frame = { id, parentId: null, groupIndex: 0, generation: 0, scope: "", open: null, firstEventId: null, owner: null, occurrences: [], failed: false };
      this.frames.set(id, frame);
    }
    return frame;
  }

  /** Apply events in id order; events already seen are skipped. */
  addEvents(events) {
    for (const event of events) {
      if (event.id <= this.lastEventId) continue;
      this.lastEventId = event.id;
      this.apply(event);
    }
  }

  apply(event) {
    const frame = this.frame(event.frameId);
    frame.firstEventId ??= event.id;
    const details = event.details || {};
    const ts = Date.parse(event.timestamp);
    const type = event.type;
    const occ = frame.open;

    if (type.endsWith("StateEntered")) {
      if (occ) this.close(occ, ts, "cancelled");
      const stateType = type.slice(0, -"StateEntered".length);
      const next = {
        key: `${frame.id}:${event.id}`,
        nodeId: this.nodeId(frame.scope, details.name),
        name: details.name,
        type: stateType,
        frameId: frame.id,
        enteredId: event.id,
        exitedId: null,
        start: ts,
        end: null,
        input: details.input,
        output: undefined,
        status: stateType === "Wait" ? "waiting" : "running",
        attempts: 0,
        retries: 0,
        errorPending: false,
        failures: [],
        error: null,
        cause: null,
        resource: null,
        parameters: undefined,
        callback: false,
        result: undefined,
        length: null,
      };
      frame.open = next;
      frame.occurrences.push(next);
      this.occurrences.push(next);
      this.owner(frame);
      return;
    }
    if (type.endsWith("StateExited")) {
      if (!occ) return;
      occ.exitedId = event.id;
      occ.output = details.output;
      this.close(occ, ts, occ.errorPending ? "caught" : "succeeded");
      frame.open = null;
      if (occ.type === "Map" || occ.type === "Parallel") this.closeChildren(occ, ts, "cancelled");
      return;
    }
    switch (type) {
      case "ExecutionStarted":
        this.execution.start ??= ts;
        this.execution.input = details.input;
        return;
      case "ExecutionSucceeded":
      case "ExecutionFailed":
      case "ExecutionTimedOut":
      case "ExecutionAborted": {
        const status = { ExecutionSucceeded: "SUCCEEDED", ExecutionFailed: "FAILED", ExecutionTimedOut: "TIMED_OUT", ExecutionAborted: "ABORTED" }[type];
        Object.assign(this.execution, { status, end: ts, output: details.output, error: details.error ?? null, cause: details.cause ?? null });
        for (const o of this.occurrences) {
          if (o.end !== null) continue;
          const s = o.errorPending || (status !== "ABORTED" && status !== "SUCCEEDED") ? "failed" : "cancelled";
          this.close(o, ts, s);
        }
        for (const f of this.frames.values()) f.open = null;
        return;
      }
      case "ExecutionRedriven":
        this.redrives += 1;
        Object.assign(this.execution, { status: "RUNNING", end: null, error: null, cause: null });
        return;
      case "MapIterationFailed":
      case "MapIterationSucceeded":
      case "ParallelBranchFailed":
      case "ParallelBranchSucceeded":
        this.iterationDone(frame, details, type.endsWith("Failed"), ts);
        return;
      case "MapStateStarted":
        if (occ) occ.length = details.length ?? null;
        return;
      default:
        break;
    }
    if (!occ) return;
    if (type === "TaskScheduled") {
      occ.attempts += 1;
      occ.retries = Math.max(0, occ.attempts - 1);
      occ.errorPending = false;
      occ.resource = details.resource ?? null;
      occ.parameters = details.parameters;
      occ.callback = CALLBACK.test(occ.resource || "");
      occ.status = occ.callback || ACTIVITY.test(occ.resource || "") ? "waiting" : "running";
      occ.waitingSince = ts;
    } else if (type === "TaskSucceeded") {
      occ.errorPending = false;
      occ.result = details.output;
      occ.status = "running";
      this.recordUsage(occ, details);
    } else if (FAILURES.has(type)) {
      occ.errorPending = true;
      occ.error = details.error ?? null;
      occ.cause = details.cause ?? null;
      occ.failures.push({ error: occ.error, cause: occ.cause, at: ts, event: type });
      occ.status = "retrying";
    }
  }

  nodeId(scope, name) {
    return this.nodeIds.get(`${scope ?? ""}\n${name}`) ?? this.nodeByName.get(name) ?? null;
  }

  /** The Map or Parallel occurrence a child frame belongs to. */
  owner(frame) {
    if (frame.owner !== undefined) return frame.owner;
    frame.owner = null;
    if (frame.parentId === null || frame.parentId === undefined) return null;
    const parent = this.frames.get(frame.parentId);
    if (!parent) return null;
    const first = frame.firstEventId ?? Infinity;
    for (let i = parent.occurrences.length - 1; i >= 0; i--) {
      const o = parent.occurrences[i];
      if ((o.type === "Map" || o.type === "Parallel") && o.enteredId < first && (o.exitedId === null || o.exitedId > first)) {
        frame.owner = o;
        break;
      }
    }
    return frame.owner;
  }

  iterationDone(parentFrame, details, failed, ts) {
    const child = this.children.get(parentFrame.id)?.get(details.index);
    if (!child) return;
    child.failed = failed;
    if (child.open) {
      this.close(child.open, ts, failed ? "failed" : "succeeded");
      child.open = null;
    }
  }

  close(occ, ts, status) {
    occ.end = ts;
    occ.status = status;
    occ.errorPending = occ.errorPending && status === "caught";
  }

  closeChildren(occ, ts, status) {
    for (const f of this.frames.values()) {
      if (this.owner(f) !== occ) continue;
      for (const o of f.occurrences) {
        if (o.end === null) this.close(o, ts, o.errorPending ? "failed" : status);
        if (o.type === "Map" || o.type === "Parallel") this.closeChildren(o, ts, status);
      }
      f.open = null;
    }
  }

  recordUsage(occ, details) {
    const out = details.output;
    const usage = out && typeof out === "object" ? out.usage : null;
    if (!usage || typeof usage !== "object") return;
    const llm = /^llm:/.test(details.resource || "") || "total_tokens" in usage || "prompt_tokens" in usage;
    if (!llm) return;
    this.usage.push({
      nodeId: occ.nodeId,
      name: occ.name,
      model: out.model ?? null,
      prompt: Number(usage.prompt_tokens ?? usage.input_tokens ?? 0),
      completion: Number(usage.completion_tokens ?? usage.output_tokens ?? 0),
      total: Number(usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0)),
    });
  }

  // -- views of the trace ----------------------------------------------------------------

  /** node id -> { status, count, retries, title } for the graph. */
  nodeStatuses() {
    const latest = new Map(); // node id -> Map(frame id -> latest occurrence)
    const counts = new Map();
    for (const o of this.occurrences) {
      if (!o.nodeId) continue;
      if (!latest.has(o.nodeId)) latest.set(o.nodeId, new Map());
      latest.get(o.nodeId).set(o.frameId, o);
      counts.set(o.nodeId, (counts.get(o.nodeId) || 0) + 1);
    }
    const result = new Map();
    for (const [nodeId, byFrame] of latest) {
      const tally = {};
      let best = null;
      let retries = 0;
      for (const o of byFrame.values()) {
        tally[o.status] = (tally[o.status] || 0) + 1;
        retries = Math.max(retries, o.retries);
        if (!best || RANK.indexOf(o.status) < RANK.indexOf(best)) best = o.status;
      }
      const parts = Object.entries(tally).map(([k, v]) => `${v} ${k}`);
      result.set(nodeId, { status: best, count: counts.get(nodeId), retries, title: parts.join(", ") });
    }
    return result;
  }

  occurrencesOf(nodeId) {
    return this.occurrences.filter((o) => o.nodeId === nodeId);
  }

  /** Where an occurrence sits: "Items › iteration 3 › Branch 2", or "" at the top. */
  placeOf(occ) {
    const parts = [];
    let frame = this.frames.get(occ.frameId);
    let guard = 0;
    while (frame && frame.parentId !== null && frame.parentId !== undefined && guard++ < 50) {
      const owner = this.owner(frame);
      parts.unshift(groupLabel(owner, frame));
      frame = this.frames.get(frame.parentId);
    }
    return parts.join(" › ");
  }

  /** Rows for the timeline: a tree of states, with Map iterations and Parallel branches
   * as groups under the state that ran them. */
  timeline() {
    const byOwner = new Map(); // occurrence key -> [frames]
    const roots = [];
    for (const f of this.frames.values()) {
      const owner = this.owner(f);
      if (owner) {
        if (!byOwner.has(owner.key)) byOwner.set(owner.key, []);
        byOwner.get(owner.key).push(f);
      } else if (f.occurrences.length) {
        roots.push(f);
      }
    }
    const rowsOf = (frames) =>
      frames
        .flatMap((f) => f.occurrences)
        .sort((a, b) => a.enteredId - b.enteredId)
        .map((o) => {
          const groups = (byOwner.get(o.key) || [])
            .sort((a, b) => a.groupIndex - b.groupIndex || a.generation - b.generation)
            .map((f) => {
              const rows = rowsOf([f]);
              const starts = f.occurrences.map((x) => x.start);
              const ends = f.occurrences.map((x) => x.end);
              const open = ends.some((e) => e === null);
              let status = "succeeded";
              if (f.failed || f.occurrences.some((x) => x.status === "failed")) status = "failed";
              else if (open) status = f.occurrences.find((x) => x.end === null)?.status || "running";
              else if (f.occurrences.some((x) => x.status === "cancelled")) status = "cancelled";
              return {
                kind: "group",
                key: `frame-${f.id}`,
                label: groupLabel(o, f),
                start: Math.min(...starts),
                end: open ? null : Math.max(...ends),
                status,
                rows,
              };
            });
          return { kind: "state", key: o.key, occurrence: o, label: o.name, start: o.start, end: o.end, status: o.status, groups };
        });
    return rowsOf(roots.sort((a, b) => (a.firstEventId ?? 0) - (b.firstEventId ?? 0)));
  }

  usageTotals() {
    return this.usage.reduce(
      (t, u) => ({ calls: t.calls + 1, prompt: t.prompt + u.prompt, completion: t.completion + u.completion, total: t.total + u.total }),
      { calls: 0, prompt: 0, completion: 0, total: 0 },
    );
  }
}

export function groupLabel(owner, frame) {
  if (owner?.type === "Parallel") return `Branch ${frame.groupIndex + 1}`;
  return `Iteration ${frame.groupIndex}`;
}
