// Small DOM helpers and formatters. Text always goes in through textContent (never
// innerHTML), so names, inputs and outputs from workflows cannot inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h("div", {class: "x", onclick: f}, "text", child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  return append(el, children);
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// -- formatting ----------------------------------------------------------------------------

export function fmtDate(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

export function fmtTime(value) {
  const d = new Date(value);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function shortHash(hash) {
  return hash ? hash.slice(0, 12) : "";
}

export function executionName(executionId) {
  const parts = String(executionId).split(":");
  return parts[parts.length - 1];
}

export const STATUS_LABELS = {
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  TIMED_OUT: "Timed out",
  ABORTED: "Aborted",
};

export function statusBadge(status) {
  return h("span", { class: `badge badge-${String(status).toLowerCase()}` }, STATUS_LABELS[status] || status);
}

// -- JSON ----------------------------------------------------------------------------------

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** Pretty JSON with coloured tokens, as a <pre>. */
export function jsonBlock(value, { empty = "—", className = "" } = {}) {
  const pre = h("pre", { class: ["json", className] });
  if (value === undefined) {
    pre.append(h("span", { class: "muted" }, empty));
    return pre;
  }
  const text = JSON.stringify(value, null, 2) ?? String(value);
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    if (match.index > last) pre.append(text.slice(last, match.index));
    let cls = "j-num";
    if (match[1]) cls = match[2] ? "j-key" : "j-str";
    else if (match[3]) cls = match[3] === "null" ? "j-null" : "j-bool";
    pre.append(h("span", { class: cls }, match[1] ?? match[0]));
    if (match[2]) pre.append(match[2]);
    last = match.index + match[0].length;
  }
  if (last < text.length) pre.append(text.slice(last));
  return pre;
}

/** The line and column of a JSON.parse error, when the engine says where. */
export function jsonErrorPosition(text, error) {
  const message = String(error.message);
  let m = message.match(/line (\d+) column (\d+)/);
  if (m) return { line: Number(m[1]), column: Number(m[2]) };
  m = message.match(/position (\d+)/);
  if (!m) return null;
  const before = text.slice(0, Number(m[1])).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

// -- messages ------------------------------------------------------------------------------

/** Show an error (ApiError, Error or text) in the page's message area. */
export function showMessage(error, { kind = "error", timeout } = {}) {
  const area = document.getElementById("messages");
  const title = error?.title || (kind === "error" ? "Error" : "");
  const detail = typeof error === "string" ? error : error?.detail || error?.message || "";
  const list = [];
  for (const p of error?.problems || []) {
    const where = p.line ? ` (line ${p.line}${p.column ? `, column ${p.column}` : ""})` : "";
    list.push(`${p.path || p.rule}: ${p.message}${where}`);
  }
  for (const e of error?.errors || []) list.push(`${(e.loc || []).join(".")}: ${e.msg}`);
  const close = h("button", { class: "msg-close", "aria-label": "Dismiss", title: "Dismiss" }, "×");
  const item = h(
    "div",
    { class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("div", { class: "msg-body" },
      title && h("strong", {}, title),
      status(error),
      detail && h("span", { class: "msg-detail" }, detail),
      list.length ? h("ul", {}, list.slice(0, 20).map((t) => h("li", {}, t))) : null),
    close,
  );
  close.addEventListener("click", () => item.remove());
  area.append(item);
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

function status(error) {
  return error?.status ? h("span", { class: "msg-status" }, String(error.status)) : null;
}

export function clearMessages() {
  clear(document.getElementById("messages"));
}
