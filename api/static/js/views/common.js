// Pieces shared by the views.

import { h } from "../dom.js";

/** The value at a JSON path (a list of keys and indexes) in the definition. */
export function definitionAt(definition, path) {
  let value = definition;
  for (const key of path || []) {
    if (value === null || typeof value !== "object") return undefined;
    value = value[key];
  }
  return value;
}

/** The state's own definition without its nested branches/processor (shown on their own
 * nodes), so a Map's panel does not repeat every state inside it. */
export function ownDefinition(definition, node) {
  const value = definitionAt(definition, node.path);
  if (!value || typeof value !== "object") return value;
  const copy = orderKeys(value, STATE_FIRST, STATE_LAST);
  for (const key of ["ItemProcessor", "Iterator"]) {
    if (copy[key]?.States) copy[key] = { ...copy[key], States: summary(copy[key].States) };
  }
  if (Array.isArray(copy.Branches)) {
    copy.Branches = copy.Branches.map((b) => (b?.States ? { ...b, States: summary(b.States) } : b));
  }
  return copy;
}

const STATE_FIRST = ["Type", "Comment", "QueryLanguage", "Resource"];
const STATE_LAST = ["Retry", "Catch", "Next", "End"];
const MACHINE_FIRST = ["Comment", "QueryLanguage", "StartAt", "TimeoutSeconds", "Version"];

/** The stored definition has its keys sorted; show them in the order people write ASL. */
export function orderKeys(value, first, last = []) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const rank = (k) => (first.includes(k) ? first.indexOf(k) - 1000 : last.includes(k) ? 1000 + last.indexOf(k) : 0);
  const sorted = keys.map((k, i) => [k, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]);
  return Object.fromEntries(sorted.map(([k]) => [k, value[k]]));
}

/** A whole definition in reading order: the machine's fields first, states in the order
 * of ``names`` (the graph's: depth first from StartAt), each state's own fields. */
export function readableDefinition(definition, names = []) {
  const position = new Map(names.map((name, i) => [name, i]));
  const at = (name) => position.get(name) ?? names.length;
  const walk = (machine) => {
    const out = orderKeys(machine, MACHINE_FIRST);
    if (out?.States && typeof out.States === "object") {
      out.States = Object.fromEntries(
        Object.entries(out.States).sort((a, b) => at(a[0]) - at(b[0])).map(([name, state]) => {
          const st = orderKeys(state, STATE_FIRST, STATE_LAST);
          for (const key of ["ItemProcessor", "Iterator"]) if (st?.[key]?.States) st[key] = walk(st[key]);
          if (Array.isArray(st?.Branches)) st.Branches = st.Branches.map(walk);
          return [name, st];
        }),
      );
    }
    return out;
  };
  return walk(definition);
}

function summary(states) {
  return Object.fromEntries(Object.keys(states).map((name) => [name, `{… ${states[name]?.Type ?? "state"}}`]));
}

export function pageHeader({ crumbs = [], title, badges = [], actions = [], meta = [] }) {
  return h(
    "div",
    { class: "page-header" },
    crumbs.length
      ? h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
          crumbs.map(([label, href], i) => [i ? h("span", { class: "sep" }, "/") : null, href ? h("a", { href }, label) : h("span", {}, label)]))
      : null,
    h("div", { class: "title-row" },
      h("h1", {}, title, badges),
      h("div", { class: "actions" }, actions)),
    meta.length
      ? h("dl", { class: "meta" }, meta.filter(Boolean).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))))
      : null,
  );
}

export function card(title, body, { className = "", actions = null, id } = {}) {
  return h(
    "section",
    { class: ["card", className], id },
    title ? h("header", { class: "card-header" }, h("h2", {}, title), actions) : null,
    h("div", { class: "card-body" }, body),
  );
}

export function typeChip(type) {
  return h("span", { class: `chip type-chip type-${String(type).toLowerCase()}` }, type);
}

export function emptyState(text, action) {
  return h("div", { class: "empty" }, h("p", {}, text), action);
}

export function loading(text = "Loading…") {
  return h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}
