// The settings page: email notifications and repeating schedules.
import { el, toast, typeName } from "./components.js";
import { api } from "./jobs.js";

function formError(form, error) {
  const box = form.querySelector(".form-error");
  box.textContent = error ? error.message : "";
  box.hidden = !error;
}

async function notifications() {
  const form = document.getElementById("notify-form");
  const email = document.getElementById("notify-email");
  const enabled = document.getElementById("notify-enabled");
  const current = await api("/me/notifications");
  email.value = current.email || "";
  enabled.checked = current.enabled;
  document.getElementById("notify-help").textContent =
    `One email when a job of yours that ran or waited longer than ${current.notify_after_s} s ends; jobs ending together share one email.`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    try {
      const body = { email: email.value.trim() || null, enabled: enabled.checked };
      const saved = await api("/me/notifications", { method: "PUT", body: JSON.stringify(body) });
      document.getElementById("notify-saved").textContent =
        saved.enabled ? `Saved: emails go to ${saved.email}.` : "Saved: no emails.";
    } catch (error) {
      formError(form, error);
    }
  });
}

function scheduleRow(s, render) {
  const act = (path, method = "POST") => async () => {
    await api(`/schedules/${s.id}${path}`, { method });
    await render();
  };
  return el("tr", { "data-schedule": s.id },
    el("td", {}, s.name), el("td", {}, typeName(s.job_type)), el("td", {}, s.every),
    el("td", {}, s.paused ? "–" : new Date(s.next_run_at).toLocaleString()),
    el("td", {}, String(s.runs)), el("td", {}, s.paused ? "paused" : "active"),
    el("td", {},
      el("button", { class: "btn", "data-action": s.paused ? "resume" : "pause",
        onclick: act(s.paused ? "/resume" : "/pause") }, s.paused ? "Resume" : "Pause"),
      " ",
      el("button", { class: "btn ghost", "data-action": "delete", onclick: act("", "DELETE") }, "Delete")));
}

async function schedules() {
  const body = document.getElementById("schedules");
  const render = async () => {
    const { schedules: list } = await api("/schedules");
    body.replaceChildren(...(list.length ? list.map((s) => scheduleRow(s, render))
      : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No schedules yet."))]));
  };
  const form = document.getElementById("schedule-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const interval = form.querySelector("#schedule-interval").value;
    const cron = form.querySelector("#schedule-cron").value.trim();
    const payload = {
      name: form.querySelector("#schedule-name").value,
      job_type: form.querySelector("#schedule-type").value,
      timezone: form.querySelector("#schedule-tz").value.trim() || "UTC",
      ...(interval ? { interval_s: Number(interval) } : { cron }),
    };
    try {
      await api("/schedules", { method: "POST", body: JSON.stringify(payload) });
      toast("info", "Schedule created.");
      await render();
    } catch (error) {
      formError(form, error);
    }
  });
  await render();
}

export async function settingsPage() {
  await Promise.all([notifications(), schedules()]);
}
