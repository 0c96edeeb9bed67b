// State machines: the list, and one definition with its graph.

import { api, enc } from "../api.js";
import { append, clear, fmtDate, h, jsonBlock, shortHash } from "../dom.js";
import { GraphView } from "../graph.js";
import { card, emptyState, ownDefinition, pageHeader, readableDefinition, typeChip } from "./common.js";

export async function machineListView({ root }) {
  const page = h("div", { class: "page" });
  root.append(page);
  const machines = [];
  let cursor = null;
  do {
    const body = await api("v1/state-machines", { query: { cursor, limit: 500 } });
    machines.push(...body.stateMachines);
    cursor = body.nextCursor;
  } while (cursor && machines.length < 5000);

  page.append(
    pageHeader({
      title: "State machines",
      actions: [h("a", { class: "btn btn-primary", href: "#/start" }, "Start execution")],
    }),
  );
  if (!machines.length) {
    page.append(card(null, emptyState("No state machine is registered yet. Register one with PUT /v1/state-machines/NAME, or start the server with --definitions FOLDER.")));
    return;
  }
  const rows = machines.map((m) =>
    h("tr", { "data-name": m.name },
      h("td", {}, h("a", { class: "strong", href: `#/state-machines/${enc(m.name)}` }, m.name)),
      h("td", {}, h("code", { title: m.latestVersion }, shortHash(m.latestVersion))),
      h("td", {}, fmtDate(m.updatedAt)),
      h("td", { class: "row-actions" },
        h("a", { class: "btn btn-small", href: `#/executions?stateMachine=${enc(m.name)}` }, "Executions"),
        h("a", { class: "btn btn-small", href: `#/start?stateMachine=${enc(m.name)}` }, "Start"))),
  );
  page.append(
    card(null,
      h("table", { class: "table", id: "machines-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Latest version"), h("th", {}, "Updated"), h("th", { class: "row-actions" }, ""))),
        h("tbody", {}, rows)),
      { className: "card-flush" }),
  );
}

export async function definitionView({ root, params, name }) {
  const version = params.get("version") || undefined;
  const [machine, graph] = await Promise.all([
    api(`v1/state-machines/${enc(name)}`, { query: { version } }),
    api(`v1/state-machines/${enc(name)}/graph`, { query: { version } }),
  ]);
  const page = h("div", { class: "page page-wide" });
  root.append(page);
  const latest = machine.version === machine.latestVersion;
  page.append(
    pageHeader({
      crumbs: [["State machines", "#/"], [name]],
      title: name,
      badges: [h("span", { class: `chip ${latest ? "chip-ok" : "chip-muted"}`, title: machine.version }, latest ? "latest" : "older version")],
      actions: [
        h("a", { class: "btn", href: `#/executions?stateMachine=${enc(name)}` }, "Executions"),
        h("a", { class: "btn btn-primary", href: `#/start?stateMachine=${enc(name)}`, id: "start-this" }, "Start execution"),
      ],
      meta: [
        ["Version", h("code", { title: machine.version }, shortHash(machine.version))],
        ["States", String(graph.nodes.length)],
        ["Updated", fmtDate(machine.updatedAt)],
        machine.definition?.Comment
          ? ["Comment", h("span", { class: "comment", title: machine.definition.Comment }, machine.definition.Comment)]
          : null,
      ],
    }),
  );

  const canvas = h("div", { class: "graph-canvas", id: "definition-graph" });
  const panel = h("aside", { class: "side-panel", id: "state-panel", "aria-live": "polite" });
  page.append(h("div", { class: "split" }, h("div", { class: "card graph-card" }, canvas), panel));

  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const view = new GraphView(canvas, { onSelect: (id) => showState(id) });
  view.render(graph);

  function showState(id) {
    clear(panel);
    const node = id ? nodes.get(id) : null;
    if (!node) {
      append(panel, 
        h("div", { class: "panel-head" }, h("h2", {}, "Definition"), h("p", { class: "hint" }, "Click a state in the graph to see its definition.")),
        jsonBlock(readableDefinition(machine.definition, graph.nodes.map((n) => n.name)), { className: "json-tall" }),
      );
      return;
    }
    append(panel, 
      h("div", { class: "panel-head" },
        h("h2", { class: "state-title" }, node.name), typeChip(node.type),
        node.comment ? h("p", { class: "hint" }, node.comment) : null),
      node.retry?.length
        ? h("div", { class: "panel-section" }, h("h3", {}, "Retry"), h("ul", { class: "plain" }, node.retry.map((r) => h("li", {}, r.text))))
        : null,
      h("div", { class: "panel-section" },
        h("h3", {}, "Definition ", h("code", { class: "path" }, `$.${node.path.join(".")}`)),
        jsonBlock(ownDefinition(machine.definition, node), { className: "state-definition" })),
    );
  }
  showState(null);
  return { destroy: () => view.resizeObserver?.disconnect() };
}
