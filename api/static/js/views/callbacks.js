// Approve or reject a task that waits for a callback (a `.waitForTaskToken` resource).
// The token comes from /v1/console/executions/{id}/tasks; the answer goes to the public
// /v1/tasks/success and /v1/tasks/failure endpoints, exactly as an external system would.

import { api } from "../api.js";
import { fmtDate, h, jsonErrorPosition, showMessage } from "../dom.js";

/** One open task with its Approve / Reject buttons and their inline forms. */
export function callbackControls(task, { place = "", onDone } = {}) {
  const box = h("div", { class: "callback", "data-state": task.stateName ?? "", "data-token": task.taskToken });
  const title = h("div", { class: "callback-title" },
    h("span", { class: "pulse-dot", "aria-hidden": "true" }),
    h("strong", {}, task.stateName ?? "A task"),
    place ? h("span", { class: "muted" }, ` · ${place}`) : null,
    h("span", { class: "muted" }, ` waits for a callback since ${fmtDate(task.createdAt)}`),
    task.expiresAt ? h("span", { class: "muted" }, ` (times out ${fmtDate(task.expiresAt)})`) : null);
  const approve = h("button", { type: "button", class: "btn btn-success", "data-action": "approve" }, "Approve…");
  const reject = h("button", { type: "button", class: "btn btn-danger-outline", "data-action": "reject" }, "Reject…");
  const formHolder = h("div", { class: "callback-form-holder" });
  box.append(h("div", { class: "callback-row" }, title, h("div", { class: "actions" }, approve, reject)), formHolder);

  const close = () => {
    formHolder.replaceChildren();
    approve.disabled = reject.disabled = false;
  };

  approve.addEventListener("click", () => {
    approve.disabled = reject.disabled = true;
    const output = h("textarea", { class: "mono", rows: 4, spellcheck: "false", "aria-label": "Task output (JSON)", name: "output" });
    output.value = JSON.stringify({ approved: true }, null, 2);
    const status = h("p", { class: "field-status" });
    const send = h("button", { type: "submit", class: "btn btn-success", "data-action": "send-approve" }, "Send approval");
    const form = h("form", { class: "callback-form" },
      h("label", {}, "Output sent to the state as its task result (JSON)"), output, status,
      h("div", { class: "form-actions" }, send, h("button", { type: "button", class: "btn", onclick: close }, "Cancel")));
    output.addEventListener("input", () => {
      try {
        JSON.parse(output.value);
        status.className = "field-status";
        status.textContent = "";
        send.disabled = false;
      } catch (error) {
        const where = jsonErrorPosition(output.value, error);
        status.className = "field-status is-error";
        status.textContent = `Invalid JSON${where ? ` (line ${where.line}, column ${where.column})` : ""}`;
        send.disabled = true;
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      send.disabled = true;
      try {
        await api("v1/tasks/success", { method: "POST", body: { taskToken: task.taskToken, output: JSON.parse(output.value) } });
        box.classList.add("answered");
        formHolder.replaceChildren(h("p", { class: "field-status is-ok" }, "Approval sent."));
        onDone?.();
      } catch (error) {
        showMessage(error);
        send.disabled = false;
      }
    });
    formHolder.replaceChildren(form);
    output.focus();
  });

  reject.addEventListener("click", () => {
    approve.disabled = reject.disabled = true;
    const error = h("input", { type: "text", name: "error", value: "Rejected", maxlength: 256, "aria-label": "Error name" });
    const cause = h("textarea", { rows: 2, name: "cause", "aria-label": "Cause", maxlength: 32768 });
    cause.value = "Rejected from the web console";
    const send = h("button", { type: "submit", class: "btn btn-danger", "data-action": "send-reject" }, "Send rejection");
    const form = h("form", { class: "callback-form" },
      h("div", { class: "grid-2" },
        h("label", {}, h("span", {}, "Error (Retry and Catch match it)"), error),
        h("label", {}, h("span", {}, "Cause"), cause)),
      h("div", { class: "form-actions" }, send, h("button", { type: "button", class: "btn", onclick: close }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      send.disabled = true;
      try {
        await api("v1/tasks/failure", {
          method: "POST",
          body: { taskToken: task.taskToken, error: error.value.trim() || undefined, cause: cause.value || undefined },
        });
        box.classList.add("answered");
        formHolder.replaceChildren(h("p", { class: "field-status is-ok" }, "Rejection sent."));
        onDone?.();
      } catch (err) {
        showMessage(err);
        send.disabled = false;
      }
    });
    formHolder.replaceChildren(form);
    error.focus();
  });
  return box;
}
