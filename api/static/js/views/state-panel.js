// The side panel of the execution view: one state's visits, their input and output,
// errors, retries, LLM usage and live output, and the state's definition.

import { append, clear, fmtDate, fmtDuration, h, jsonBlock } from "../dom.js";
import { ownDefinition, typeChip } from "./common.js";

const STATUS_TEXT = {
  "not-started": "Not started",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  caught: "Caught",
  retrying: "Retrying",
  waiting: "Waiting",
  cancelled: "Cancelled",
};

export function statusPill(status) {
  return h("span", { class: `pill status-${status}`, "data-status": status }, STATUS_TEXT[status] || status);
}

/**
 * renderStatePanel(panel, { node, occurrences, selectedKey, trace, definition, live, onPick })
 */
export function renderStatePanel(panel, ctx) {
  const { node, occurrences, trace, definition } = ctx;
  clear(panel);
  if (!node) {
    append(panel, 
      h("div", { class: "panel-head" }, h("h2", {}, "States"),
        h("p", { class: "hint" }, "Click a state in the graph or a row of the timeline to see its input, output and errors.")),
    );
    return;
  }
  const occ = occurrences.find((o) => o.key === ctx.selectedKey) || occurrences[occurrences.length - 1];
  append(panel, 
    h("div", { class: "panel-head" },
      h("h2", { class: "state-title" }, node.name),
      typeChip(node.type),
      statusPill(occ ? occ.status : "not-started")),
  );
  if (occurrences.length > 1) {
    const select = h("select", { class: "occurrence-select", "aria-label": "Which visit of this state" },
      occurrences.map((o, i) => {
        const place = trace.placeOf(o);
        return h("option", { value: o.key, selected: o === occ }, `#${i + 1}${place ? ` · ${place}` : ""} · ${STATUS_TEXT[o.status] || o.status}`);
      }));
    select.addEventListener("change", () => ctx.onPick(select.value));
    append(panel, h("div", { class: "panel-section" }, h("label", { class: "small-label" }, `${occurrences.length} visits`), select));
  }
  if (!occ) {
    append(panel, h("p", { class: "hint panel-section" }, "This state has not run in this execution."));
  } else {
    const end = occ.end ?? Date.now();
    const place = trace.placeOf(occ);
    append(panel, 
      h("dl", { class: "facts panel-section" },
        place ? fact("Where", place) : null,
        fact("Entered", fmtDate(occ.start)),
        fact(occ.end ? "Exited" : occ.status === "waiting" ? "Waiting for" : "Running for", occ.end ? fmtDate(occ.end) : fmtDuration(end - occ.start)),
        occ.end ? fact("Duration", fmtDuration(occ.end - occ.start)) : null,
        occ.resource ? fact("Resource", h("code", {}, occ.resource)) : null,
        occ.attempts > 1 ? fact("Attempts", `${occ.attempts} (${occ.retries} ${occ.retries === 1 ? "retry" : "retries"})`) : null,
        occ.length !== null && occ.length !== undefined ? fact("Items", String(occ.length)) : null),
    );
    if (occ.callback && occ.status === "waiting") {
      append(panel, h("p", { class: "note note-waiting panel-section" }, "Waiting for a callback: approve or reject it above."));
    }
    occ.failures.forEach((failure, i) => {
      const last = i === occ.failures.length - 1;
      let label = "Retried after";
      if (last && occ.status === "caught") label = "Caught";
      else if (last && occ.status === "retrying") label = "Retrying after";
      else if (last && occ.status === "failed") label = "Failed with";
      append(panel, errorBox(failure.error, failure.cause, label));
    });
    if (!occ.failures.length && occ.status === "failed" && trace.execution.error) {
      append(panel, errorBox(trace.execution.error, trace.execution.cause, "The execution failed here"));
    }
    append(panel, section("Input", jsonBlock(occ.input)));
    if (occ.result !== undefined && JSON.stringify(occ.result) !== JSON.stringify(occ.output)) {
      append(panel, section("Task result", jsonBlock(occ.result)));
    }
    append(panel, section("Output", occ.end && occ.output !== undefined ? jsonBlock(occ.output) : h("p", { class: "muted" }, occ.end ? "—" : "Not yet")));
    const usage = trace.usage.filter((u) => u.nodeId === node.id);
    if (usage.length) {
      append(panel, section("LLM usage", h("table", { class: "table table-compact" },
        h("thead", {}, h("tr", {}, h("th", {}, "Model"), h("th", { class: "num" }, "Prompt"), h("th", { class: "num" }, "Completion"), h("th", { class: "num" }, "Total"))),
        h("tbody", {}, usage.map((u) => h("tr", {}, h("td", {}, u.model ?? "—"), h("td", { class: "num" }, u.prompt), h("td", { class: "num" }, u.completion), h("td", { class: "num" }, u.total)))))));
    }
  }
  const live = ctx.live?.get(node.name);
  if (live) append(panel, section(live.done ? "Streamed output" : "Live output", h("pre", { class: "live-output" }, live.text)));
  append(panel, 
    h("details", { class: "panel-section definition-details" },
      h("summary", {}, "Definition"),
      jsonBlock(ownDefinition(definition, node))),
  );
}

function fact(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

function section(title, body) {
  return h("div", { class: "panel-section" }, h("h3", {}, title), body);
}

export function errorBox(error, cause, label = "Error") {
  const kind = label === "Caught" ? "is-caught" : /^Retr/.test(label) ? "is-retried" : "";
  return h("div", { class: ["error-box", "panel-section", kind] },
    h("div", { class: "error-label" }, label),
    h("div", { class: "error-name" }, error || "(no error name)"),
    cause ? h("pre", { class: "error-cause" }, cause) : null);
}
