// The statemachine web console: a hash router over four views. Plain ES modules, no
// framework and no build step; the only third-party code is the vendored dagre layout.
//
//   #/                         state machines
//   #/state-machines/NAME      a definition and its graph (?version=HASH)
//   #/executions               executions, with filters (?stateMachine=&status=...)
//   #/executions/ID            one execution, live
//   #/start                    start an execution (?stateMachine=NAME)

import { getToken, setToken } from "./js/api.js";
import { clear, clearMessages, h, showMessage } from "./js/dom.js";
import { executionListView } from "./js/views/executions.js";
import { executionView } from "./js/views/execution.js";
import { definitionView, machineListView } from "./js/views/machines.js";
import { startView } from "./js/views/start.js";

const main = document.getElementById("main");
let current = null; // the mounted view: { destroy() }

const routes = [
  [/^\/?$/, () => machineListView],
  [/^\/state-machines\/?$/, () => machineListView],
  [/^\/state-machines\/([^/]+)$/, (m) => (ctx) => definitionView({ ...ctx, name: decodeURIComponent(m[1]) })],
  [/^\/executions\/?$/, () => executionListView],
  [/^\/executions\/([^/]+)$/, (m) => (ctx) => executionView({ ...ctx, executionId: decodeURIComponent(m[1]) })],
  [/^\/start\/?$/, () => startView],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

export function navigate(path, params) {
  const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString() : "";
  location.hash = `#${path}${query ? `?${query}` : ""}`;
}

async function route() {
  const { path, params } = parseHash();
  current?.destroy?.();
  current = null;
  clearMessages();
  clear(main);
  main.setAttribute("aria-busy", "true");
  let view = null;
  for (const [pattern, make] of routes) {
    const m = path.match(pattern);
    if (m) {
      view = make(m);
      break;
    }
  }
  highlightNav(path);
  if (!view) {
    main.append(h("div", { class: "page" }, h("h1", {}, "Not found"), h("p", {}, "No page at ", h("code", {}, path), ".")));
    main.removeAttribute("aria-busy");
    return;
  }
  const mounted = { destroyed: false };
  current = mounted;
  try {
    const result = await view({ root: main, params, navigate, isCurrent: () => current === mounted });
    if (current === mounted) Object.assign(mounted, result || {});
    else result?.destroy?.();
  } catch (error) {
    if (current === mounted) {
      failed(error);
      if (error.status === 401) openTokenPanel();
    }
  } finally {
    if (current === mounted) main.removeAttribute("aria-busy");
  }
}

/** What the page says when it could not load: the problem, and a way on. */
function failed(error) {
  clear(main);
  const unauthorized = error.status === 401;
  main.append(
    h("div", { class: "page page-narrow" },
      h("div", { class: "card failed-view" },
        h("div", { class: "card-body" },
          h("h1", {}, unauthorized ? "An API token is needed" : error.title || "This page could not be loaded"),
          unauthorized ? h("p", {}, "This server requires a bearer token. Paste one with the token button in the top bar.") : null,
          h("p", { class: "muted problem-detail" },
            error.status ? h("span", { class: "msg-status" }, `${error.status} `) : null,
            error.detail || error.message),
          h("div", { class: "form-actions" },
            unauthorized ? h("button", { type: "button", class: "btn btn-primary", onclick: openTokenPanel }, "Enter a token") : null,
            h("a", { class: "btn", href: "#/" }, "State machines"),
            h("a", { class: "btn", href: "#/executions" }, "Executions"))))),
  );
}

function highlightNav(path) {
  for (const link of document.querySelectorAll(".nav a")) {
    const target = link.getAttribute("href").replace(/^#/, "");
    const active =
      (target === "/" && (path === "/" || path.startsWith("/state-machines"))) ||
      (target !== "/" && path.startsWith(target));
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// -- the bearer token ------------------------------------------------------------------------

const tokenButton = document.getElementById("token-button");
const tokenPanel = document.getElementById("token-panel");
const tokenInput = document.getElementById("token-input");

function showTokenState() {
  const set = Boolean(getToken());
  tokenButton.classList.toggle("has-token", set);
  tokenButton.querySelector(".token-state").textContent = set ? "Token set" : "No token";
}

function openTokenPanel() {
  tokenPanel.hidden = false;
  tokenButton.setAttribute("aria-expanded", "true");
  tokenInput.value = getToken();
  tokenInput.focus();
}

function closeTokenPanel() {
  tokenPanel.hidden = true;
  tokenButton.setAttribute("aria-expanded", "false");
}

tokenButton.addEventListener("click", () => (tokenPanel.hidden ? openTokenPanel() : closeTokenPanel()));
document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  showTokenState();
  closeTokenPanel();
  route();
});
document.getElementById("token-clear").addEventListener("click", () => {
  setToken("");
  tokenInput.value = "";
  showTokenState();
  closeTokenPanel();
  route();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !tokenPanel.hidden) closeTokenPanel();
});

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason?.name === "AbortError") return;
  showMessage(event.reason);
});
showTokenState();
route();
