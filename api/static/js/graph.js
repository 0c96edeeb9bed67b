// The state machine drawn as SVG in the DOM, with pan (drag), zoom (wheel, buttons) and
// selection (click a state).
//
// DOM contract (the browser tests rely on it):
//   <g class="node" data-state="NAME" data-type="Task" data-id="States.NAME">
//   <path class="edge" data-from="A" data-to="B" data-kind="next|default|choice|catch|start|end">
//   <g class="cluster" data-cluster="States.M.ItemProcessor" data-kind="map-processor|parallel-branch">
//   <g class="marker" data-marker="root#start" data-kind="start|end">
// Edge ends are state names, or marker ids for the start and end of a scope.
// An execution view adds one class per node: status-running, status-succeeded, ...

import { clear, h, s } from "./dom.js";
import { SIZES, edgeLabel, layoutGraph, nodeLines } from "./layout.js";

export const STATUSES = [
  "not-started",
  "running",
  "succeeded",
  "failed",
  "caught",
  "retrying",
  "waiting",
  "cancelled",
];

const MIN_SCALE = 0.1;
const MAX_SCALE = 3;

export class GraphView {
  constructor(container, { onSelect } = {}) {
    this.container = container;
    this.onSelect = onSelect;
    this.view = { x: 0, y: 0, k: 1 };
    this.selected = null;
    this.nodeEls = new Map();
    this.names = new Map(); // node or marker id -> what data-from/data-to show
  }

  render(graph) {
    this.graph = graph;
    this.layout = layoutGraph(graph);
    clear(this.container);
    this.nodeEls.clear();
    const layout = this.layout;

    this.svg = s("svg", {
      class: "graph-svg",
      role: "img",
      "aria-label": "State machine graph",
      "data-nodes": graph.nodes.length,
      "data-edges": graph.edges.length,
    });
    this.svg.append(defs());
    this.viewport = s("g", { class: "viewport" });
    this.svg.append(this.viewport);

    for (const node of graph.nodes) this.names.set(node.id, node.name);
    for (const marker of graph.markers) this.names.set(marker.id, marker.id);

    // Back to front: containers and their clusters from the outside in, then edges,
    // edge labels, states and markers.
    const background = s("g", { class: "layer-containers" });
    const edgeLayer = s("g", { class: "layer-edges" });
    const labelLayer = s("g", { class: "layer-labels" });
    const nodeLayer = s("g", { class: "layer-nodes" });
    this.viewport.append(background, edgeLayer, labelLayer, nodeLayer);

    const depth = nestingDepth(graph);
    const layered = [];
    for (const node of graph.nodes) {
      const box = layout.nodes[node.id];
      if (!box) continue;
      const container = Boolean(node.children?.length);
      const el = container ? containerNode(node, box) : plainNode(node, box);
      if (container) layered.push([depth.get(node.id) ?? 0, el]);
      else nodeLayer.append(el);
      this.nodeEls.set(node.id, el);
    }
    for (const cluster of graph.clusters) {
      const box = layout.clusters[cluster.id];
      if (box) layered.push([(depth.get(cluster.state) ?? 0) + 0.5, clusterEl(cluster, box)]);
    }
    layered.sort((a, b) => a[0] - b[0]);
    for (const [, el] of layered) background.append(el);
    for (const edge of graph.edges) {
      const route = layout.edges[edge.id];
      if (!route) continue;
      edgeLayer.append(this.edgeEl(edge, route));
      const text = edgeLabel(edge);
      if (text && route.label) labelLayer.append(labelEl(edge, text, route.label));
    }
    for (const marker of graph.markers) {
      const box = layout.nodes[marker.id];
      if (box) nodeLayer.append(markerEl(marker, box));
    }

    this.toolbar = h(
      "div",
      { class: "graph-toolbar" },
      h("button", { type: "button", class: "icon-btn", title: "Zoom in", "aria-label": "Zoom in", onclick: () => this.zoomBy(1.25) }, "+"),
      h("button", { type: "button", class: "icon-btn", title: "Zoom out", "aria-label": "Zoom out", onclick: () => this.zoomBy(0.8) }, "−"),
      h("button", { type: "button", class: "icon-btn fit", title: "Fit to view", "aria-label": "Fit to view", onclick: () => this.fit() }, "Fit"),
    );
    this.container.append(this.svg, this.toolbar);
    this.bindPanZoom();
    requestAnimationFrame(() => this.fit());
    this.resizeObserver?.disconnect();
    this.resizeObserver = new ResizeObserver(() => {
      if (!this.userMoved) this.fit();
    });
    this.resizeObserver.observe(this.container);
  }

  edgeEl(edge, route) {
    const from = this.names.get(edge.from) ?? edge.from;
    const to = this.names.get(edge.to) ?? edge.to;
    const path = s("path", {
      class: `edge edge-${edge.kind}`,
      d: curve(route.points),
      "data-from": from,
      "data-to": to,
      "data-kind": edge.kind,
      "data-id": edge.id,
      "marker-end": `url(#arrow-${edge.kind === "catch" ? "catch" : "default"})`,
    });
    path.append(s("title", {}, edge.label ? `${from} → ${to}: ${edge.label}` : `${from} → ${to}`));
    return path;
  }

  // -- interaction -----------------------------------------------------------------------

  bindPanZoom() {
    const svg = this.svg;
    let drag = null;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      svg.setPointerCapture(event.pointerId);
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      svg.classList.add("panning");
      this.userMoved = true;
      this.setView({ x: drag.vx + dx, y: drag.vy + dy, k: this.view.k });
    });
    const end = (event) => {
      if (!drag) return;
      const wasClick = !drag.moved;
      drag = null;
      svg.classList.remove("panning");
      if (svg.hasPointerCapture(event.pointerId)) svg.releasePointerCapture(event.pointerId);
      if (wasClick && event.type === "pointerup") this.clickAt(event);
    };
    svg.addEventListener("keydown", (event) => {
      const nodeEl = event.target.closest?.(".node");
      if (nodeEl && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.select(nodeEl.dataset.id, true);
      }
    });
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
        const rect = svg.getBoundingClientRect();
        this.zoomBy(factor, event.clientX - rect.left, event.clientY - rect.top);
      },
      { passive: false },
    );
  }

  clickAt(event) {
    // Pointer capture retargets events to the svg: find what is under the pointer.
    const target = document.elementFromPoint(event.clientX, event.clientY);
    const nodeEl = target?.closest?.(".node");
    const clusterEl = target?.closest?.(".cluster");
    if (nodeEl && this.svg.contains(nodeEl)) this.select(nodeEl.dataset.id, true);
    else if (clusterEl && this.svg.contains(clusterEl)) this.select(clusterEl.dataset.owner, true);
    else this.select(null, true);
  }

  select(nodeId, fromUser = false) {
    this.selected = nodeId;
    for (const [id, el] of this.nodeEls) el.classList.toggle("selected", id === nodeId);
    if (fromUser) this.onSelect?.(nodeId);
  }

  zoomBy(factor, cx, cy) {
    const rect = this.svg.getBoundingClientRect();
    cx ??= rect.width / 2;
    cy ??= rect.height / 2;
    const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.k * factor));
    const ratio = k / this.view.k;
    this.userMoved = true;
    this.setView({ x: cx - (cx - this.view.x) * ratio, y: cy - (cy - this.view.y) * ratio, k });
  }

  fit() {
    if (!this.svg || !this.layout) return;
    const rect = this.svg.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    const { width, height } = this.layout;
    const k = Math.min(1.1, Math.max(MIN_SCALE, Math.min(rect.width / width, rect.height / height)));
    this.userMoved = false;
    this.setView({ x: (rect.width - width * k) / 2, y: Math.max(0, (rect.height - height * k) / 2), k });
  }

  setView(view) {
    this.view = view;
    this.viewport.setAttribute("transform", `translate(${view.x.toFixed(1)},${view.y.toFixed(1)}) scale(${view.k.toFixed(4)})`);
    this.svg.dataset.scale = view.k.toFixed(3);
  }

  // -- execution status ------------------------------------------------------------------

  /** statuses: Map node id -> { status, count, title } */
  setStatuses(statuses) {
    for (const [id, el] of this.nodeEls) {
      const info = statuses.get(id) || { status: "not-started" };
      for (const name of STATUSES) el.classList.toggle(`status-${name}`, name === info.status);
      el.dataset.status = info.status;
      const badge = el.querySelector(".node-badge");
      const text = badge?.querySelector("text");
      if (badge && text) {
        const label = info.count > 1 ? `×${info.count}` : info.retries ? `retry ${info.retries}` : "";
        text.textContent = label;
        badge.style.display = label ? "" : "none";
      }
      const title = el.querySelector(":scope > title");
      if (title) title.textContent = `${el.dataset.state} (${el.dataset.type}): ${info.title || info.status}`;
    }
    this.svg?.classList.add("with-status");
  }
}

// -- pieces ----------------------------------------------------------------------------------

function defs() {
  const arrow = (id) =>
    s("marker", { id: `arrow-${id}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: `arrowhead arrowhead-${id}` }));
  return s("defs", {}, arrow("default"), arrow("catch"));
}

function plainNode(node, box) {
  const { name, sub } = nodeLines(node);
  const g = s("g", {
    class: `node type-${node.type.toLowerCase()}`,
    "data-state": node.name,
    "data-type": node.type,
    "data-id": node.id,
    transform: `translate(${box.x},${box.y})`,
    tabindex: 0,
  });
  g.append(
    s("title", {}, `${node.name} (${node.type})`),
    s("rect", { class: "node-box", width: box.width, height: box.height, rx: 8 }),
    s("rect", { class: "node-stripe", width: SIZES.stripe, height: box.height - 2, x: 1, y: 1, rx: 2 }),
    s("text", { class: "node-name", x: SIZES.nodePadX + SIZES.stripe / 2, y: 21 }, name),
    s("text", { class: "node-sub", x: SIZES.nodePadX + SIZES.stripe / 2, y: 37 }, sub),
    badge(box.width),
  );
  return g;
}

function containerNode(node, box) {
  const { name, sub } = nodeLines(node);
  const g = s("g", {
    class: `node container type-${node.type.toLowerCase()}`,
    "data-state": node.name,
    "data-type": node.type,
    "data-id": node.id,
    transform: `translate(${box.x},${box.y})`,
    tabindex: 0,
  });
  g.append(
    s("title", {}, `${node.name} (${node.type})`),
    s("rect", { class: "node-box", width: box.width, height: box.height, rx: 10 }),
    s("rect", { class: "node-stripe", width: box.width - 2, height: 4, x: 1, y: 1, rx: 2 }),
    s("text", { class: "node-name", x: SIZES.nodePadX, y: 22 }, name),
    s("text", { class: "node-sub", x: SIZES.nodePadX, y: 36 }, sub),
    badge(box.width),
  );
  return g;
}

function badge(width) {
  const g = s("g", { class: "node-badge", transform: `translate(${width - 8},-8)`, style: "display:none" });
  g.append(s("rect", { x: -34, y: 0, width: 40, height: 16, rx: 8 }), s("text", { x: -14, y: 12 }));
  return g;
}

function clusterEl(cluster, box) {
  const g = s("g", {
    class: `cluster cluster-${cluster.kind}`,
    "data-cluster": cluster.id,
    "data-kind": cluster.kind,
    "data-owner": cluster.state,
    transform: `translate(${box.x},${box.y})`,
  });
  g.append(
    s("rect", { class: "cluster-box", width: box.width, height: box.height, rx: 8 }),
    s("text", { class: "cluster-label", x: 10, y: 16 }, cluster.label),
  );
  return g;
}

function labelEl(edge, text, box) {
  const g = s("g", { class: `edge-label edge-label-${edge.kind}`, "data-edge": edge.id, transform: `translate(${box.x},${box.y})` });
  g.append(
    s("title", {}, edge.label),
    s("rect", { width: box.width, height: box.height, rx: 4 }),
    s("text", { x: box.width / 2, y: box.height / 2 + 4, "text-anchor": "middle" }, text),
  );
  return g;
}

function markerEl(marker, box) {
  const g = s("g", {
    class: `marker marker-${marker.kind}`,
    "data-marker": marker.id,
    "data-kind": marker.kind,
    transform: `translate(${box.x + box.width / 2},${box.y + box.height / 2})`,
  });
  if (marker.kind === "start") g.append(s("circle", { r: box.width / 2 }));
  else g.append(s("circle", { class: "outer", r: box.width / 2 }), s("circle", { class: "inner", r: box.width / 2 - 4 }));
  g.append(s("title", {}, marker.kind === "start" ? "Start" : "End"));
  return g;
}

function nestingDepth(graph) {
  const clusters = new Map(graph.clusters.map((c) => [c.id, c]));
  const depth = new Map();
  for (const node of graph.nodes) {
    let d = 0;
    let c = node.cluster;
    while (c && clusters.has(c) && d < 100) {
      d += 1;
      c = clusters.get(c).parent;
    }
    depth.set(node.id, d);
  }
  return depth;
}

/** A smooth path through dagre's points: straight runs, rounded bends. */
export function curve(points) {
  if (!points.length) return "";
  const p = points.map((q) => ({ x: +q.x.toFixed(1), y: +q.y.toFixed(1) }));
  if (p.length < 3) return `M${p[0].x},${p[0].y}` + p.slice(1).map((q) => ` L${q.x},${q.y}`).join("");
  let d = `M${p[0].x},${p[0].y}`;
  for (let i = 1; i < p.length - 1; i++) {
    const mid = { x: (p[i].x + p[i + 1].x) / 2, y: (p[i].y + p[i + 1].y) / 2 };
    d += ` Q${p[i].x},${p[i].y} ${i === p.length - 2 ? `${p[i + 1].x},${p[i + 1].y}` : `${mid.x},${mid.y}`}`;
  }
  return d;
}
