// Executions, newest first, filtered by state machine, status and start time.

import { api, enc } from "../api.js";
import { STATUS_LABELS, fmtDate, fmtDuration, h, statusBadge } from "../dom.js";
import { card, emptyState, pageHeader } from "./common.js";

const PAGE = 50;

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function executionListView({ root, params, navigate, isCurrent }) {
  const filters = {
    stateMachine: params.get("stateMachine") || "",
    status: params.get("status") || "",
    startedAfter: params.get("startedAfter") || "",
    startedBefore: params.get("startedBefore") || "",
  };
  const machines = (await api("v1/state-machines", { query: { limit: 1000 } })).stateMachines;

  const page = h("div", { class: "page" });
  root.append(page);
  const refresh = h("button", { type: "button", class: "btn", id: "refresh-executions" }, "Refresh");
  page.append(pageHeader({ title: "Executions", actions: [refresh, h("a", { class: "btn btn-primary", href: `#/start${filters.stateMachine ? `?stateMachine=${enc(filters.stateMachine)}` : ""}` }, "Start execution")] }));

  const machineSelect = h("select", { id: "filter-machine", name: "stateMachine" },
    h("option", { value: "" }, "All state machines"),
    machines.map((m) => h("option", { value: m.name, selected: m.name === filters.stateMachine }, m.name)));
  const statusSelect = h("select", { id: "filter-status", name: "status" },
    h("option", { value: "" }, "Any status"),
    Object.entries(STATUS_LABELS).map(([value, label]) => h("option", { value, selected: value === filters.status }, label)));
  const after = h("input", { type: "datetime-local", id: "filter-after", value: toLocalInput(filters.startedAfter) });
  const before = h("input", { type: "datetime-local", id: "filter-before", value: toLocalInput(filters.startedBefore) });
  const apply = () => {
    const iso = (input) => (input.value ? new Date(input.value).toISOString() : "");
    navigate("/executions", { stateMachine: machineSelect.value, status: statusSelect.value, startedAfter: iso(after), startedBefore: iso(before) });
  };
  for (const el of [machineSelect, statusSelect, after, before]) el.addEventListener("change", apply);
  const reset = h("button", { type: "button", class: "btn btn-link", onclick: () => navigate("/executions") }, "Clear filters");
  page.append(
    h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
      h("label", {}, h("span", {}, "State machine"), machineSelect),
      h("label", {}, h("span", {}, "Status"), statusSelect),
      h("label", {}, h("span", {}, "Started after"), after),
      h("label", {}, h("span", {}, "Started before"), before),
      Object.values(filters).some(Boolean) ? reset : null),
  );

  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const table = h("table", { class: "table", id: "executions-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "State machine"), h("th", {}, "Status"), h("th", {}, "Started"), h("th", { class: "num" }, "Duration"))),
    tbody);
  const holder = h("div");
  page.append(card(null, [holder, h("div", { class: "table-foot" }, more)], { className: "card-flush" }));

  let cursor = null;
  let count = 0;
  async function load(reset) {
    const body = await api("v1/executions", {
      query: {
        stateMachine: filters.stateMachine,
        status: filters.status,
        startedAfter: filters.startedAfter,
        startedBefore: filters.startedBefore,
        cursor: reset ? null : cursor,
        limit: reset ? Math.min(1000, Math.max(PAGE, count)) : PAGE,
      },
    });
    if (!isCurrent()) return;
    // Rows are swapped in one go, so the table is never seen half rebuilt.
    const rows = body.executions.map(row);
    if (reset) {
      tbody.replaceChildren(...rows);
      count = rows.length;
    } else {
      tbody.append(...rows);
      count += rows.length;
    }
    cursor = body.nextCursor;
    more.hidden = !cursor;
    holder.replaceChildren(count ? table : emptyState(Object.values(filters).some(Boolean) ? "No execution matches these filters." : "No execution yet."));
  }
  more.addEventListener("click", () => load(false));
  refresh.addEventListener("click", () => load(true));
  await load(true);

  // Keep running executions' status fresh without a reload.
  const timer = setInterval(() => {
    if (document.hidden || !tbody.querySelector('[data-status="RUNNING"]')) return;
    load(true).catch(() => {});
  }, 5000);
  return { destroy: () => clearInterval(timer) };
}

function row(e) {
  const end = e.stopDate ? Date.parse(e.stopDate) : Date.now();
  return h("tr", { "data-status": e.status, "data-execution": e.executionId },
    h("td", {}, h("a", { class: "strong", href: `#/executions/${enc(e.executionId)}` }, e.name)),
    h("td", {}, h("a", { href: `#/state-machines/${enc(e.stateMachine)}` }, e.stateMachine)),
    h("td", {}, statusBadge(e.status)),
    h("td", {}, fmtDate(e.startDate)),
    h("td", { class: "num" }, e.stopDate ? fmtDuration(end - Date.parse(e.startDate)) : h("span", { class: "muted" }, "running")));
}
