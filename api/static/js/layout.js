// Coordinates for a state machine graph, computed in the browser with dagre (vendored
// from the npm registry, see console/README.md).
//
// The graph JSON of /v1/state-machines/{name}/graph gives the structure: nodes, start and
// end markers, edges and clusters (a Parallel branch or a Map processor). A cluster is a
// scope of its own, since ASL transitions never leave a branch or a processor, so each
// scope is laid out on its own, innermost first: a Parallel or Map state then becomes a
// container box as large as its clusters side by side under a header, and its own scope
// places that box like any other state. Last, every nested drawing is moved into its box,
// so nesting goes as deep as the definition does.

import dagre from "../vendor/dagre.js";

export const FONT_FAMILY =
  'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif';

export const SIZES = {
  nodeHeight: 48,
  nodeMinWidth: 132,
  nodePadX: 14,
  stripe: 4,
  nameFont: `600 13px ${FONT_FAMILY}`,
  subFont: `400 11px ${FONT_FAMILY}`,
  labelFont: `500 11px ${FONT_FAMILY}`,
  clusterFont: `600 11px ${FONT_FAMILY}`,
  startSize: 16,
  endSize: 20,
  containerHeader: 44,
  containerPad: 14,
  clusterTitle: 24,
  clusterPad: 16,
  clusterGap: 16,
  labelPadX: 6,
  labelHeight: 18,
  margin: 24,
};

const MAX_NAME = 34;
const MAX_SUB = 38;
const MAX_LABEL = 30;

let canvas;
export function textWidth(text, font) {
  canvas ??= document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  ctx.font = font;
  return ctx.measureText(text).width;
}

export function ellipsize(text, limit) {
  const flat = String(text ?? "").replace(/\s+/g, " ");
  return flat.length <= limit ? flat : `${flat.slice(0, limit - 1)}…`;
}

/** What a node shows: its name and a line naming its type and what it does. */
export function nodeLines(node) {
  let sub = node.type;
  const extra = node.resource || node.detail;
  if (extra) sub += ` · ${extra}`;
  return { name: ellipsize(node.name, MAX_NAME), sub: ellipsize(sub, MAX_SUB) };
}

export function edgeLabel(edge) {
  return edge.label ? ellipsize(edge.label, MAX_LABEL) : "";
}

function nodeSize(node) {
  const { name, sub } = nodeLines(node);
  const text = Math.max(textWidth(name, SIZES.nameFont), textWidth(sub, SIZES.subFont));
  const width = Math.max(SIZES.nodeMinWidth, Math.ceil(text) + 2 * SIZES.nodePadX + SIZES.stripe);
  return { width, height: SIZES.nodeHeight };
}

/**
 * layoutGraph(graph) -> { width, height, nodes: {id: box}, clusters: {id: box},
 *   edges: {id: {points: [{x, y}], label: box | null}} }
 * Boxes are top-left x/y plus width/height, in SVG user units.
 */
export function layoutGraph(graph) {
  const scopes = new Map(); // scope key ("" for the machine) -> { items: [], edges: [] }
  const scopeOf = new Map(); // node or marker id -> scope key
  const scope = (key) => {
    if (!scopes.has(key)) scopes.set(key, { items: [], edges: [] });
    return scopes.get(key);
  };
  for (const node of graph.nodes) {
    scope(node.cluster ?? "").items.push({ id: node.id, node });
    scopeOf.set(node.id, node.cluster ?? "");
  }
  for (const marker of graph.markers) {
    scope(marker.cluster ?? "").items.push({ id: marker.id, marker });
    scopeOf.set(marker.id, marker.cluster ?? "");
  }
  for (const edge of graph.edges) {
    const key = scopeOf.get(edge.from);
    if (key !== undefined && scopeOf.get(edge.to) === key) scope(key).edges.push(edge);
  }
  const clusters = new Map(graph.clusters.map((c) => [c.id, c]));
  const placed = placeScope("", scopes, clusters);
  return finish(placed);
}

function placeScope(key, scopes, clusters) {
  const { items, edges } = scopes.get(key) || { items: [], edges: [] };
  const nested = new Map(); // container node id -> its clusters, laid out
  const sizes = new Map();
  for (const item of items) {
    if (item.marker) {
      const size = item.marker.kind === "start" ? SIZES.startSize : SIZES.endSize;
      sizes.set(item.id, { width: size, height: size });
    } else if (item.node.children?.length) {
      const inner = item.node.children.map((id) => ({
        id,
        cluster: clusters.get(id),
        drawing: placeScope(id, scopes, clusters),
      }));
      nested.set(item.id, inner);
      sizes.set(item.id, containerSize(item.node, inner));
    } else {
      sizes.set(item.id, nodeSize(item.node));
    }
  }

  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 44, edgesep: 16, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const item of items) g.setNode(item.id, { ...sizes.get(item.id) });
  for (const edge of edges) {
    const text = edgeLabel(edge);
    const label = text
      ? { width: Math.ceil(textWidth(text, SIZES.labelFont)) + 2 * SIZES.labelPadX, height: SIZES.labelHeight, labelpos: "c" }
      : {};
    // Catch edges weigh less, so the happy path stays straight and handlers move aside.
    label.weight = edge.kind === "catch" ? 1 : 2;
    g.setEdge(edge.from, edge.to, label, edge.id);
  }
  if (items.length) dagre.layout(g);

  const out = { nodes: {}, clusters: {}, edges: {} };
  for (const item of items) {
    const n = g.node(item.id);
    const box = { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height };
    out.nodes[item.id] = box;
    const inner = nested.get(item.id);
    if (inner) placeClusters(out, box, inner);
  }
  for (const e of g.edges()) {
    const data = g.edge(e);
    const label =
      data.width && data.x !== undefined
        ? { x: data.x - data.width / 2, y: data.y - data.height / 2, width: data.width, height: data.height }
        : null;
    out.edges[e.name] = { points: (data.points || []).map((p) => ({ x: p.x, y: p.y })), label };
  }
  return normalise(out);
}

function clusterBox(drawing) {
  return {
    width: drawing.width + 2 * SIZES.clusterPad,
    height: drawing.height + SIZES.clusterTitle + SIZES.clusterPad,
  };
}

function containerSize(node, inner) {
  const boxes = inner.map((c) => clusterBox(c.drawing));
  const row = boxes.reduce((sum, b) => sum + b.width, 0) + SIZES.clusterGap * (boxes.length - 1);
  const { name, sub } = nodeLines(node);
  const header = Math.max(textWidth(name, SIZES.nameFont), textWidth(sub, SIZES.subFont)) + 2 * SIZES.nodePadX;
  const tallest = Math.max(0, ...boxes.map((b) => b.height));
  return {
    width: Math.ceil(Math.max(row + 2 * SIZES.containerPad, header, SIZES.nodeMinWidth)),
    height: Math.ceil(SIZES.containerHeader + tallest + SIZES.containerPad),
  };
}

function placeClusters(out, box, inner) {
  const boxes = inner.map((c) => clusterBox(c.drawing));
  const row = boxes.reduce((sum, b) => sum + b.width, 0) + SIZES.clusterGap * (boxes.length - 1);
  let x = box.x + (box.width - row) / 2;
  const tallest = Math.max(0, ...boxes.map((b) => b.height));
  inner.forEach((c, i) => {
    const b = boxes[i];
    const top = box.y + SIZES.containerHeader;
    out.clusters[c.id] = { x, y: top, width: b.width, height: tallest };
    const dx = x + SIZES.clusterPad + (b.width - 2 * SIZES.clusterPad - c.drawing.width) / 2;
    const dy = top + SIZES.clusterTitle;
    merge(out, c.drawing, dx, dy);
    x += b.width + SIZES.clusterGap;
  });
}

function merge(out, drawing, dx, dy) {
  const move = (b) => (b ? { ...b, x: b.x + dx, y: b.y + dy } : null);
  for (const [id, b] of Object.entries(drawing.nodes)) out.nodes[id] = move(b);
  for (const [id, b] of Object.entries(drawing.clusters)) out.clusters[id] = move(b);
  for (const [id, e] of Object.entries(drawing.edges)) {
    out.edges[id] = { points: e.points.map((p) => ({ x: p.x + dx, y: p.y + dy })), label: move(e.label) };
  }
}

/** Move a drawing so that everything in it (back edges too) starts at 0, 0. */
function normalise(out) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const grow = (x, y, w = 0, h = 0) => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x + w);
    maxY = Math.max(maxY, y + h);
  };
  for (const b of Object.values(out.nodes)) grow(b.x, b.y, b.width, b.height);
  for (const e of Object.values(out.edges)) {
    for (const p of e.points) grow(p.x, p.y);
    if (e.label) grow(e.label.x, e.label.y, e.label.width, e.label.height);
  }
  if (minX === Infinity) return { ...out, width: 0, height: 0 };
  const shifted = { nodes: {}, clusters: {}, edges: {}, width: maxX - minX, height: maxY - minY };
  merge(shifted, out, -minX, -minY);
  return shifted;
}

function finish(placed) {
  const m = SIZES.margin;
  const result = { nodes: {}, clusters: {}, edges: {}, width: placed.width + 2 * m, height: placed.height + 2 * m };
  merge(result, placed, m, m);
  return result;
}
