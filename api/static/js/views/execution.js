// One execution, live: the graph coloured by state status, a timeline, the selected
// state's input and output, errors, LLM usage, Stop / Redrive, and Approve / Reject for
// callbacks.
//
// Updates: the SSE stream (/v1/executions/{id}/events) says *that* history was written;
// the console then reads the new events with their frames from the console trace
// endpoint, which is what lets it place events inside Map iterations and Parallel
// branches. A slow poll backs the stream up, so a dropped connection only delays.

import { api, enc, eventStream } from "../api.js";
import { clear, fmtDate, fmtDuration, h, jsonBlock, shortHash, showMessage, statusBadge } from "../dom.js";
import { GraphView, STATUSES } from "../graph.js";
import { Timeline } from "../timeline.js";
import { ExecutionTrace } from "../trace.js";
import { callbackControls } from "./callbacks.js";
import { card, pageHeader } from "./common.js";
import { errorBox, renderStatePanel, statusPill } from "./state-panel.js";

const POLL_MS = 4000;
const TICK_MS = 1000;

export async function executionView({ root, executionId, isCurrent }) {
  const path = `v1/executions/${enc(executionId)}`;
  let execution = await api(path);
  const machineQuery = { version: execution.version };
  const machineUrl = `v1/state-machines/${enc(execution.stateMachine)}`;
  let graph = { nodes: [], edges: [], markers: [], clusters: [] };
  let definition = null;
  let graphError = null;
  try {
    [graph, { definition }] = await Promise.all([
      api(`${machineUrl}/graph`, { query: machineQuery }),
      api(machineUrl, { query: machineQuery }),
    ]);
  } catch (error) {
    graphError = error;
  }
  const trace = new ExecutionTrace(graph);
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  let openTasks = [];
  let selected = { nodeId: null, occKey: null };
  const live = new Map(); // state name -> { text, done }
  let stream = null;
  let streamState = "idle";
  let destroyed = false;
  let lastRefresh = 0;

  // -- layout --------------------------------------------------------------------------------
  const page = h("div", { class: "page page-wide execution-page", "data-execution": executionId });
  const header = h("div");
  const callouts = h("div", { class: "callouts", id: "callbacks" });
  const errorHolder = h("div", { id: "execution-error" });
  const canvas = h("div", { class: "graph-canvas", id: "execution-graph" });
  const legend = h("div", { class: "legend", "aria-label": "Status colours" },
    STATUSES.map((s) => h("span", { class: "legend-item" }, h("span", { class: `swatch status-${s}` }), s.replace("-", " "))));
  const panel = h("aside", { class: "side-panel", id: "state-panel", "aria-live": "polite" });
  const timelineBox = h("div", { class: "timeline", id: "timeline" });
  const ioBox = h("div", { class: "grid-2" });
  const usageBox = h("div", { id: "llm-usage" });
  page.append(
    header,
    callouts,
    errorHolder,
    h("div", { class: "split" },
      h("div", { class: "card graph-card" }, canvas, legend),
      panel),
    card("Timeline", timelineBox, { id: "timeline-card", className: "card-flush" }),
    ioBox,
    usageBox,
  );
  root.append(page);

  let userPicked = false;
  const view = new GraphView(canvas, {
    onSelect: (id) => {
      userPicked = true;
      select(id, null);
    },
  });
  if (graphError) {
    canvas.append(h("div", { class: "empty" }, h("p", {}, `The graph is not available: ${graphError.detail || graphError.message}`)));
  } else {
    view.render(graph);
  }
  const timeline = new Timeline(timelineBox, {
    onSelect: (occ) => {
      userPicked = true;
      select(occ.nodeId, occ.key);
      view.select(occ.nodeId);
    },
  });

  // -- data ----------------------------------------------------------------------------------
  async function loadTrace() {
    for (;;) {
      const page = await api(`v1/console/executions/${enc(executionId)}/trace`, { query: { after: trace.lastEventId } });
      trace.addFrames(page.frames);
      trace.addEvents(page.events);
      if (!page.more) return page.status;
    }
  }

  async function loadTasks() {
    const body = await api(`v1/console/executions/${enc(executionId)}/tasks`);
    return body.tasks;
  }

  let refreshing = null;
  let again = false;
  function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        do {
          again = false;
          const status = await loadTrace();
          lastRefresh = Date.now();
          if (status !== execution.status || trace.execution.status !== execution.status) {
            execution = await api(path);
          }
          const waiting = trace.occurrences.some((o) => o.callback && o.status === "waiting");
          openTasks = waiting || openTasks.length ? await loadTasks() : [];
          if (destroyed) return;
          renderAll();
          if (execution.status === "RUNNING") connect();
        } while (again && !destroyed);
      } catch (error) {
        if (!destroyed) showMessage(error, { timeout: 8000 });
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  function connect() {
    if (stream || destroyed || execution.status !== "RUNNING") return;
    setStream("connecting");
    stream = eventStream(`v1/executions/${enc(executionId)}/events`, {
      after: trace.lastEventId,
      onOpen: () => setStream("live"),
      onEvent: (type, data) => {
        if (type === "history") {
          refresh();
        } else if (type === "live") {
          onLive(data);
        } else if (type === "end") {
          stream = null;
          setStream("ended");
          execution = data;
          refresh();
        }
      },
      onError: (error) => {
        setStream("reconnecting");
        if (error?.status === 401 || error?.status === 404) {
          stream?.close();
          stream = null;
          showMessage(error);
        }
      },
    });
  }

  function onLive(event) {
    if (!event || typeof event !== "object" || !event.state) return;
    const entry = live.get(event.state) || { text: "", done: false };
    if (event.type === "llm.delta" && typeof event.content === "string") entry.text += event.content;
    else if (event.type === "llm.done") entry.done = true;
    else if (event.message) entry.text += `${event.message}\n`;
    live.set(event.state, entry);
    const node = selected.nodeId ? nodes.get(selected.nodeId) : null;
    if (node?.name === event.state) renderPanel();
  }

  function setStream(state) {
    streamState = state;
    const el = page.querySelector(".live-indicator");
    if (el) {
      el.dataset.state = state;
      el.textContent = liveText();
    }
  }

  function liveText() {
    if (execution.status !== "RUNNING") return "Finished";
    return { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", ended: "Finished", idle: "…" }[streamState] || streamState;
  }

  // -- actions -------------------------------------------------------------------------------
  async function stop() {
    try {
      execution = await api(`${path}/stop`, { method: "POST", body: { error: "Stopped", cause: "Stopped from the web console" } });
      showMessage({ title: "Execution stopped" }, { kind: "info", timeout: 4000 });
    } catch (error) {
      showMessage(error);
    }
    await refresh();
  }

  async function redrive() {
    try {
      execution = await api(`${path}/redrive`, { method: "POST" });
      showMessage({ title: "Execution redriven", detail: "It continues from the state that failed." }, { kind: "info", timeout: 4000 });
    } catch (error) {
      showMessage(error);
    }
    await refresh();
  }

  // -- rendering -----------------------------------------------------------------------------
  function renderAll() {
    renderHeader();
    renderCallbacks();
    renderError();
    view.setStatuses?.(trace.nodeStatuses());
    renderPanel();
    renderTimeline();
    renderIO();
    renderUsage();
    follow();
    page.dataset.status = execution.status;
  }

  /** Until someone picks a state, the panel follows the state that is running (or the
   * one that failed), so watching a live execution needs no clicks. */
  function follow() {
    if (userPicked) return;
    const recent = [...trace.occurrences].reverse().filter((o) => o.nodeId);
    const pick = recent.find((o) => o.end === null) || recent.find((o) => o.status === "failed");
    if (!pick || pick.nodeId === selected.nodeId) return;
    select(pick.nodeId, null);
    view.select(pick.nodeId);
  }

  function renderHeader() {
    const running = execution.status === "RUNNING";
    const stopButton = h("button", { type: "button", class: "btn btn-danger-outline", id: "stop-button" }, "Stop");
    stopButton.addEventListener("click", () => {
      const confirmBar = h("div", { class: "confirm", role: "alertdialog", "aria-label": "Confirm stop" },
        h("span", {}, "Stop this execution? Running tasks are abandoned and it ends ABORTED."),
        h("button", { type: "button", class: "btn btn-danger", id: "stop-confirm", onclick: stop }, "Stop execution"),
        h("button", { type: "button", class: "btn", onclick: () => confirmBar.remove() }, "Cancel"));
      header.querySelector(".confirm")?.remove();
      header.append(confirmBar);
    });
    const redriveButton = h("button", { type: "button", class: "btn", id: "redrive-button", onclick: redrive, title: "Run again from the state that failed" }, "Redrive");
    const start = Date.parse(execution.startDate);
    const end = execution.stopDate ? Date.parse(execution.stopDate) : Date.now();
    clear(header);
    header.append(
      pageHeader({
        crumbs: [["Executions", `#/executions?stateMachine=${enc(execution.stateMachine)}`], [execution.name]],
        title: execution.name,
        badges: [statusBadge(execution.status), h("span", { class: "live-indicator", "data-state": streamState }, liveText())],
        actions: [
          running ? stopButton : null,
          ["FAILED", "TIMED_OUT", "ABORTED"].includes(execution.status) ? redriveButton : null,
          h("a", { class: "btn", href: `#/start?stateMachine=${enc(execution.stateMachine)}&input=${enc(JSON.stringify(execution.input ?? {}))}` }, "Start again"),
        ],
        meta: [
          ["State machine", h("a", { href: `#/state-machines/${enc(execution.stateMachine)}?version=${enc(execution.version)}` }, execution.stateMachine)],
          ["Version", h("code", { title: execution.version }, shortHash(execution.version))],
          ["Started", fmtDate(execution.startDate)],
          ["Stopped", execution.stopDate ? fmtDate(execution.stopDate) : "—"],
          ["Duration", h("span", { class: "duration" }, fmtDuration(end - start))],
          execution.redriveCount ? ["Redrives", String(execution.redriveCount)] : null,
        ],
      }),
    );
  }

  let renderedTokens = "";
  function renderCallbacks() {
    const key = openTasks.map((t) => t.taskToken).join(",");
    if (key === renderedTokens) return;
    renderedTokens = key;
    clear(callouts);
    if (!openTasks.length) return;
    const frames = trace.frames;
    callouts.append(
      h("section", { class: "card callout-waiting" },
        h("header", { class: "card-header" }, h("h2", {}, openTasks.length === 1 ? "Waiting for a callback" : `${openTasks.length} tasks wait for a callback`)),
        h("div", { class: "card-body" },
          openTasks.map((task) => {
            const frame = frames.get(task.frameId);
            const occ = frame?.open;
            const place = occ ? trace.placeOf(occ) : "";
            return callbackControls(task, { place, onDone: () => setTimeout(refresh, 50) });
          }))));
  }

  function renderError() {
    clear(errorHolder);
    if (!execution.error && !execution.cause) return;
    errorHolder.append(
      h("section", { class: "card card-error" },
        h("header", { class: "card-header" }, h("h2", {}, execution.status === "ABORTED" ? "Stopped" : "Execution failed")),
        h("div", { class: "card-body" }, errorBox(execution.error, execution.cause, "Error"))));
  }

  function renderPanel() {
    const node = selected.nodeId ? nodes.get(selected.nodeId) : null;
    renderStatePanel(panel, {
      node,
      occurrences: node ? trace.occurrencesOf(node.id) : [],
      selectedKey: selected.occKey,
      trace,
      definition,
      live,
      onPick: (key) => select(selected.nodeId, key),
    });
  }

  function renderTimeline() {
    const start = execution.startDate ? Date.parse(execution.startDate) : trace.execution.start;
    const end = execution.stopDate ? Date.parse(execution.stopDate) : null;
    timeline.render(trace.timeline(), { start, end, now: Date.now() });
    timeline.select(selected.occKey);
  }

  function renderIO() {
    clear(ioBox);
    ioBox.append(
      card("Input", jsonBlock(execution.input), { id: "execution-input" }),
      card("Output", execution.status === "SUCCEEDED" ? jsonBlock(execution.output) : h("p", { class: "muted" }, execution.status === "RUNNING" ? "Not finished yet." : "No output: the execution did not succeed."), { id: "execution-output" }),
    );
  }

  function renderUsage() {
    clear(usageBox);
    if (!trace.usage.length) return;
    const totals = trace.usageTotals();
    usageBox.append(card("LLM usage", h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Model"), h("th", { class: "num" }, "Prompt tokens"), h("th", { class: "num" }, "Completion tokens"), h("th", { class: "num" }, "Total"))),
      h("tbody", {}, trace.usage.map((u) => h("tr", {}, h("td", {}, u.name), h("td", {}, u.model ?? "—"), h("td", { class: "num" }, u.prompt.toLocaleString()), h("td", { class: "num" }, u.completion.toLocaleString()), h("td", { class: "num" }, u.total.toLocaleString())))),
      h("tfoot", {}, h("tr", {}, h("th", {}, `${totals.calls} call${totals.calls === 1 ? "" : "s"}`), h("th", {}), h("th", { class: "num" }, totals.prompt.toLocaleString()), h("th", { class: "num" }, totals.completion.toLocaleString()), h("th", { class: "num" }, totals.total.toLocaleString())))),
    { className: "card-flush" }));
  }

  function select(nodeId, occKey) {
    selected = { nodeId, occKey };
    renderPanel();
    timeline.select(occKey);
  }

  // -- go ------------------------------------------------------------------------------------
  await loadTrace();
  lastRefresh = Date.now();
  if (trace.execution.status !== execution.status) execution = await api(path);
  openTasks = execution.status === "RUNNING" ? await loadTasks() : [];
  if (!isCurrent()) return {};
  renderAll();
  connect();

  const ticker = setInterval(() => {
    if (execution.status !== "RUNNING" || document.hidden) return;
    renderTimeline();
    const duration = page.querySelector(".meta .duration");
    if (duration) duration.textContent = fmtDuration(Date.now() - Date.parse(execution.startDate));
    if (Date.now() - lastRefresh > POLL_MS) refresh();
  }, TICK_MS);

  return {
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      stream?.close();
      view.resizeObserver?.disconnect();
    },
  };
}
