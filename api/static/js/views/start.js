// Start an execution: a state machine, an optional name and a JSON input, checked as
// it is typed so that a typo shows where it is before anything is sent.

import { api, enc } from "../api.js";
import { h, jsonErrorPosition, showMessage } from "../dom.js";
import { card, pageHeader } from "./common.js";

const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;

export async function startView({ root, params, navigate }) {
  const machines = (await api("v1/state-machines", { query: { limit: 1000 } })).stateMachines;
  const wanted = params.get("stateMachine") || "";
  const page = h("div", { class: "page page-narrow" });
  root.append(page);
  page.append(pageHeader({ crumbs: [["Executions", "#/executions"], ["Start"]], title: "Start an execution" }));

  const select = h("select", { id: "start-machine", name: "stateMachine", required: true },
    machines.length ? null : h("option", { value: "" }, "No state machine registered"),
    machines.map((m) => h("option", { value: m.name, selected: m.name === wanted }, m.name)));
  const name = h("input", { id: "start-name", name: "name", type: "text", placeholder: "generated when left empty", autocomplete: "off", spellcheck: "false", maxlength: 80 });
  const input = h("textarea", { id: "start-input", name: "input", rows: 12, spellcheck: "false", autocomplete: "off" });
  input.value = params.get("input") || "{}";
  const inputStatus = h("p", { class: "field-status", id: "start-input-status", "aria-live": "polite" });
  const nameStatus = h("p", { class: "field-status", id: "start-name-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "start-submit" }, "Start execution");
  const format = h("button", { type: "button", class: "btn", id: "start-format" }, "Format JSON");

  function checkInput() {
    const text = input.value.trim();
    if (!text) {
      setStatus(inputStatus, "ok", "Empty input: the execution starts with {}");
      return { ok: true, value: undefined };
    }
    try {
      const value = JSON.parse(text);
      setStatus(inputStatus, "ok", "Valid JSON");
      input.removeAttribute("aria-invalid");
      return { ok: true, value };
    } catch (error) {
      const where = jsonErrorPosition(input.value, error);
      const said = /line \d+/.test(error.message);
      const at = where && !said ? ` (line ${where.line}, column ${where.column})` : "";
      setStatus(inputStatus, "error", `Invalid JSON: ${error.message}${at}`);
      input.setAttribute("aria-invalid", "true");
      return { ok: false };
    }
  }
  function checkName() {
    const value = name.value.trim();
    if (!value || NAME_PATTERN.test(value)) {
      setStatus(nameStatus, "", "");
      name.removeAttribute("aria-invalid");
      return true;
    }
    setStatus(nameStatus, "error", "Letters, digits, _ . and - only, at most 80 characters, not starting with . or -");
    name.setAttribute("aria-invalid", "true");
    return false;
  }
  function update() {
    const ok = checkInput().ok & checkName();
    submit.disabled = !ok || !select.value;
  }
  input.addEventListener("input", update);
  name.addEventListener("input", update);
  select.addEventListener("change", update);
  format.addEventListener("click", () => {
    const checked = checkInput();
    if (checked.ok && checked.value !== undefined) input.value = JSON.stringify(checked.value, null, 2);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      input.setRangeText("  ", input.selectionStart, input.selectionEnd, "end");
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      form.requestSubmit();
    }
  });

  const form = h("form", { id: "start-form", class: "form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "start-machine" }, "State machine"), select),
    h("div", { class: "field" }, h("label", { for: "start-name" }, "Execution name ", h("span", { class: "muted" }, "(optional)")), name, nameStatus),
    h("div", { class: "field" },
      h("label", { for: "start-input" }, "Input ", h("span", { class: "muted" }, "(JSON)")),
      input,
      inputStatus),
    h("div", { class: "form-actions" }, submit, format, h("span", { class: "hint" }, "Ctrl+Enter starts")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = checkInput();
    if (!checked.ok || !checkName()) return;
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const body = { stateMachine: select.value, input: checked.value ?? {} };
      if (name.value.trim()) body.name = name.value.trim();
      const execution = await api("v1/executions", { method: "POST", body });
      navigate(`/executions/${enc(execution.executionId)}`);
    } catch (error) {
      showMessage(error);
      submit.disabled = false;
      submit.textContent = "Start execution";
    }
  });
  page.append(card(null, form));
  update();
  if (!wanted) select.focus();
  else input.focus();
}

function setStatus(el, kind, text) {
  el.className = `field-status ${kind ? `is-${kind}` : ""}`;
  el.textContent = text;
}
