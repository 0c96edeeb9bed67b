// A Gantt chart of an execution: one row per state visit, with a bar from its
// `*StateEntered` to its `*StateExited`; Map iterations and Parallel branches are
// collapsible groups under the state that ran them.

import { clear, fmtDuration, h } from "./dom.js";

const MAX_GROUPS = 200; // groups drawn per Map state; the rest are summarised

export class Timeline {
  constructor(container, { onSelect } = {}) {
    this.container = container;
    this.onSelect = onSelect;
    this.collapsed = new Set();
    this.expanded = new Set();
    this.selectedKey = null;
  }

  render(rows, { start, end, now }) {
    this.rows = rows;
    this.opts = { start, end };
    const t0 = start ?? firstStart(rows) ?? now;
    const t1 = Math.max(end ?? now, t0 + 1);
    this.range = { t0, t1 };
    clear(this.container);
    if (!rows.length) {
      this.container.append(h("p", { class: "empty" }, "No state has started yet."));
      return;
    }
    const body = h("div", { class: "tl-body", role: "tree" });
    for (const row of rows) this.addRow(body, row, 0, now);
    this.container.append(axis(t0, t1), body);
  }

  addRow(body, row, depth, now) {
    const { t0, t1 } = this.range;
    const span = t1 - t0;
    const startAt = row.start ?? t0;
    const endAt = row.end ?? now;
    const left = ((startAt - t0) / span) * 100;
    const width = Math.max(((endAt - startAt) / span) * 100, 0);
    const duration = endAt - startAt;
    const hasChildren = row.kind === "state" ? row.groups.length > 0 : row.rows.length > 0;
    const collapsedByDefault = row.kind === "group";
    const open = hasChildren && (collapsedByDefault ? this.expanded.has(row.key) : !this.collapsed.has(row.key));

    const toggle = hasChildren
      ? h("button", {
          type: "button",
          class: "tl-toggle",
          "aria-label": open ? "Collapse" : "Expand",
          "aria-expanded": String(open),
          onclick: (event) => {
            event.stopPropagation();
            const set = collapsedByDefault ? this.expanded : this.collapsed;
            if (set.has(row.key)) set.delete(row.key);
            else set.add(row.key);
            this.render(this.rows, { ...this.opts, now: Date.now() });
          },
        }, open ? "▾" : "▸")
      : h("span", { class: "tl-toggle-space" });

    const occ = row.occurrence;
    const label = h(
      "div",
      { class: "tl-label", style: `padding-left:${8 + depth * 16}px` },
      toggle,
      row.kind === "state" ? h("span", { class: `tl-type type-${occ.type.toLowerCase()}`, title: occ.type }, occ.type[0]) : null,
      h("span", { class: "tl-name", title: row.label }, row.label),
      occ?.retries ? h("span", { class: "tl-retries", title: `${occ.retries} retries` }, `↻${occ.retries}`) : null,
    );
    const bar = h("div", {
      class: `tl-bar status-${row.status}${row.end === null ? " open" : ""}`,
      style: `left:${left.toFixed(3)}%;width:${width.toFixed(3)}%`,
      title: `${row.label}: ${row.status}, ${fmtDuration(duration)}`,
    });
    const time = h("span", { class: "tl-duration", style: `left:calc(${Math.min(left + width, 100).toFixed(3)}% + 6px)` }, fmtDuration(duration));
    const track = h("div", { class: "tl-track" }, bar, time);
    const el = h(
      "div",
      {
        class: ["tl-row", `tl-${row.kind}`, this.selectedKey && row.key === this.selectedKey ? "selected" : ""],
        role: "treeitem",
        "data-key": row.key,
        "data-state": row.kind === "state" ? row.label : null,
        "data-status": row.status,
        "data-depth": depth,
        onclick: () => {
          if (row.kind === "state") this.onSelect?.(occ);
        },
      },
      label,
      track,
    );
    body.append(el);
    if (!open) return;
    if (row.kind === "state") {
      const groups = row.groups;
      for (const group of groups.slice(0, MAX_GROUPS)) this.addRow(body, group, depth + 1, now);
      if (groups.length > MAX_GROUPS) {
        body.append(h("div", { class: "tl-row tl-more", style: `padding-left:${8 + (depth + 1) * 16}px` }, `… and ${groups.length - MAX_GROUPS} more`));
      }
    } else {
      for (const child of row.rows) this.addRow(body, child, depth + 1, now);
    }
  }

  select(key) {
    this.selectedKey = key;
    for (const el of this.container.querySelectorAll(".tl-row")) el.classList.toggle("selected", el.dataset.key === key);
  }
}

function firstStart(rows) {
  const starts = rows.map((r) => r.start).filter((t) => t !== null && t !== undefined);
  return starts.length ? Math.min(...starts) : null;
}

function axis(t0, t1) {
  const span = t1 - t0;
  const step = niceStep(span / 6);
  const ticks = [];
  for (let t = 0; t <= span + 1e-9; t += step) {
    ticks.push(h("span", { class: "tl-tick", style: `left:${((t / span) * 100).toFixed(3)}%` }, t === 0 ? "0" : fmtDuration(t)));
  }
  return h("div", { class: "tl-axis" }, h("div", { class: "tl-label tl-axis-label" }, "State"), h("div", { class: "tl-track" }, ticks));
}

function niceStep(raw) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000, 21600000, 43200000, 86400000];
  for (const s of steps) if (s >= raw) return s;
  return steps[steps.length - 1] * Math.ceil(raw / steps[steps.length - 1]);
}
