// The REST client of the console: bearer token, problem+json errors, Server-Sent Events.
//
// Every URL is relative ("v1/..."), so the console works behind a reverse proxy that
// mounts the server under a path prefix. Nothing here talks to any other origin.

const TOKEN_KEY = "statemachine.console.token";
let memoryToken = null; // the token when local storage is unavailable

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives as long as the page
  }
  memoryToken = token;
}

function authHeaders() {
  const token = memoryToken ?? getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** An RFC 9457 problem (or any failed response) as an Error the views can show. */
export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "ApiError";
    this.status = problem.status;
    this.title = problem.title || "Request failed";
    this.detail = problem.detail || "";
    this.type = problem.type || "";
    this.problems = problem.problems || [];
    this.errors = problem.errors || [];
  }
}

async function problemOf(response) {
  let problem = { status: response.status, title: response.statusText };
  const type = response.headers.get("content-type") || "";
  try {
    if (type.includes("json")) {
      problem = { ...problem, ...(await response.json()) };
    } else {
      const text = await response.text();
      if (text) problem.detail = text.slice(0, 500);
    }
  } catch {
    // an unreadable body: keep the status line
  }
  if (response.status === 401 && !problem.detail) {
    problem.detail = "Missing or invalid bearer token";
  }
  return new ApiError(problem);
}

/** fetch + JSON. Throws ApiError for any non-2xx answer, TypeError when unreachable. */
export async function api(path, { method = "GET", body, signal, query } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, value);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, title: "Server unreachable", detail: String(error.message) });
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return null;
  return response.json();
}

export const enc = encodeURIComponent;

/**
 * Follow a Server-Sent Events stream with fetch (EventSource cannot send an
 * Authorization header). Reconnects after a dropped connection, resuming after the last
 * event id it saw, until the server sends `end` or `close()` is called.
 *
 * handlers: { onEvent(type, data, id), onOpen(), onError(error) }
 */
export function eventStream(path, { after = 0, onEvent, onOpen, onError } = {}) {
  const controller = new AbortController();
  let lastId = after;
  let retryMs = 2000;
  let finished = false;

  async function connect() {
    while (!finished) {
      try {
        const headers = { Accept: "text/event-stream", ...authHeaders() };
        if (lastId) headers["Last-Event-ID"] = String(lastId);
        const response = await fetch(path, { headers, signal: controller.signal });
        if (!response.ok) {
          const error = await problemOf(response);
          if (response.status >= 400 && response.status < 500) {
            finished = true;
            onError?.(error);
            return;
          }
          throw error;
        }
        onOpen?.();
        await read(response.body);
      } catch (error) {
        if (controller.signal.aborted) return;
        onError?.(error);
      }
      if (!finished) await sleep(retryMs, controller.signal);
    }
  }

  async function read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        dispatch(block);
        if (finished) {
          controller.abort();
          return;
        }
      }
    }
  }

  function dispatch(block) {
    let type = "message";
    let id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== null && /^\d+$/.test(id)) lastId = Number(id);
    if (!data.length) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      parsed = data.join("\n");
    }
    if (type === "end") finished = true;
    onEvent?.(type, parsed, id);
  }

  connect();
  return {
    close() {
      finished = true;
      controller.abort();
    },
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
