// UI components. Each one subscribes to the jobs client; none polls on its own.
import { api, isFinal, jobs } from "./jobs.js";

const TYPE_NAMES = {
  material_upload: "Material upload",
  lesson_generation: "Lesson generation",
  check_in_evaluation: "Check-in evaluation",
  check_in_reminder: "Check-in reminder",
  notification: "Email notification",
};
export const typeName = (type) => TYPE_NAMES[type] || type;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// A progress bar with its percentage and message (ARIA progressbar).
export class ProgressBar {
  constructor(container, label = "Progress") {
    this.fill = el("div", { class: "bar-fill" });
    this.bar = el("div", { class: "bar", role: "progressbar", "aria-label": label,
      "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, this.fill);
    this.text = el("div", { class: "bar-text" }, "Waiting to start…");
    this.root = el("div", { class: "progress" }, this.bar, this.text);
    container.append(this.root);
  }

  set(job) {
    const pct = job.status === "completed" ? 100 : Math.max(0, Math.min(100, job.progress || 0));
    this.fill.style.width = `${pct}%`;
    if (job.status === "pending" && job.blocked) {
      this.bar.dataset.status = "waiting";
      this.text.textContent = waitingText(job);
      return;
    }
    this.bar.setAttribute("aria-valuenow", String(pct));
    this.bar.dataset.status = job.status;
    const message = job.status === "failed" ? job.error_message
      : job.status === "pending" ? (job.progress_message || "Waiting in the queue…")
      : job.progress_message || job.status;
    this.text.textContent = `${pct}% · ${message || ""}`;
  }
}

// "waiting for Material upload 1a2b3c4d, …" while a job waits for others (job.waiting
// names them; a page loaded meanwhile knows only how many, from the row's message).
export function waitingText(job) {
  const names = (job.waiting_for || []).map((w) => `${typeName(w.type)} ${w.id.slice(0, 8)}`);
  return names.length ? `waiting for ${names.join(", ")}` : (job.progress_message || "waiting");
}

// Toasts: a container of several; each dismisses itself after 5 s.
export function toast(kind, message, link) {
  const box = document.getElementById("toasts");
  const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("span", {}, message),
    link ? el("a", { href: link.href }, link.text) : null,
    el("button", { class: "btn ghost", "aria-label": "Dismiss", onclick: () => item.remove() }, "✕"));
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}

// The progress modal for one job: closes itself on completion, shows the error on failure.
export function progressModal(jobId, title, onDone) {
  const dialog = document.getElementById("modal");
  dialog.querySelector("#modal-title").textContent = title;
  const barBox = dialog.querySelector(".modal-bar");
  barBox.replaceChildren();
  const error = dialog.querySelector(".modal-error");
  error.hidden = true;
  const bar = new ProgressBar(barBox, title);
  dialog.querySelector("[data-close]").onclick = () => dialog.close();
  if (!dialog.open) dialog.showModal();
  const stop = jobs.watch(jobId, (job) => {
    bar.set(job);
    if (job.status === "completed" && job.result_data) {
      stop();
      setTimeout(() => { dialog.close(); onDone?.(job); }, 400);
    } else if (job.status === "failed" || job.status === "cancelled") {
      stop();
      error.textContent = job.error_message || "The job did not finish.";
      error.hidden = false;
    }
  });
}

// Toasts for every job of this user that ends while the page is open.
export function announceEndings() {
  const seen = new Set();
  jobs.onAny((job, kind) => {
    if (!job || seen.has(job.id) || !isFinal(job) || kind === "job.poll" && !jobs.watchers.has(job.id)) return;
    seen.add(job.id);
    const result = job.result_data;
    if (job.status === "completed" && job.type === "material_upload" && result) {
      toast("success", `“${result.title}”: ${result.sections.length} sections found.`,
        { href: `/documents/${result.document_id}/view`, text: "Open" });
    } else if (job.status === "completed") toast("success", `${typeName(job.type)} finished.`);
    else if (job.status === "failed") toast("error", `${typeName(job.type)} failed: ${job.error_message || ""}`);
  });
}

function jobActions(job) {
  if (!isFinal(job)) {
    return [el("button", { class: "btn ghost", onclick: () => api(`/jobs/${job.id}/cancel`, { method: "POST" }).catch((e) => toast("error", e.message)) }, "Cancel")];
  }
  if (job.status === "completed") return [];
  return [el("button", { class: "btn ghost", onclick: () => api(`/jobs/${job.id}/retry`, { method: "POST" }).then(() => toast("info", "Submitted again.")).catch((e) => toast("error", e.message)) }, "Retry")];
}

// One job in a list, updated in place as its events arrive.
class JobRow {
  constructor(job) {
    this.status = el("span", { class: "status" });
    this.actions = el("div", { class: "job-actions" });
    const bar = el("div", { class: "mini" });
    this.bar = new ProgressBar(bar, `${typeName(job.type)} progress`);
    this.root = el("li", { class: "job", "data-job-id": job.id },
      el("div", { class: "job-head" },
        el("strong", {}, typeName(job.type)), this.status,
        el("time", { datetime: job.created_at }, new Date(job.created_at).toLocaleTimeString())),
      bar, this.actions);
    this.job = {};
    this.set(job);
  }

  set(job) {
    const wasFinal = isFinal(this.job);
    this.job = { ...this.job, ...job };
    this.root.className = `job ${this.job.status}`;
    this.root.dataset.status = this.job.status;
    const waiting = this.job.status === "pending" && this.job.blocked;
    this.status.className = `status ${waiting ? "waiting" : this.job.status}`;
    this.status.textContent = waiting ? "waiting" : this.job.status;
    this.bar.set(this.job);
    if (!this.actions.hasChildNodes() || wasFinal !== isFinal(this.job)) {
      this.actions.replaceChildren(...jobActions(this.job));
    }
  }
}

const RELOAD_MS = 150;

// A live list of the user's jobs, optionally filtered by type and status. Known rows
// change in place; a job it has not listed yet (or one leaving the filter) reloads the
// page of jobs, at most once per RELOAD_MS however chatty the events are.
export class JobList {
  constructor(root) {
    this.root = root;
    this.limit = Number(root.dataset.limit || 20);
    this.filters = { type: "", status: "" };
    this.rows = new Map();
    this.list = el("ul", { class: "jobs" });
    this.empty = el("p", { class: "muted" }, "No jobs yet.");
    root.append(this.list, this.empty);
    this.reloadTimer = null;
    jobs.onAny((job) => this.changed(job));
    this.load();
  }

  setFilter(key, value) {
    this.filters[key] = value;
    this.load();
  }

  matches(job) {
    return (!this.filters.type || job.type === this.filters.type)
      && (!this.filters.status || job.status === this.filters.status);
  }

  changed(job) {
    const row = job && this.rows.get(job.id);
    if (row && this.matches({ ...row.job, ...job })) {
      row.set(job);
      this.countActive();
    } else {
      this.scheduleReload(); // a new job; one leaving the filter; or a polling tick (null)
    }
  }

  scheduleReload() {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => { this.reloadTimer = null; this.load(); }, RELOAD_MS);
  }

  async load() {
    const params = new URLSearchParams({ limit: String(this.limit) });
    for (const [key, value] of Object.entries(this.filters)) if (value) params.set(key, value);
    try {
      const page = await api(`/jobs?${params}`);
      for (const job of page.jobs) {
        if (!isFinal(job) && !jobs.watchers.has(job.id)) jobs.watch(job.id, () => {});
      }
      // What live events told us (a waiting job's list) stays with a reloaded row.
      this.rows = new Map(page.jobs.map((job) => [job.id, new JobRow({ ...jobs.jobs.get(job.id), ...job })]));
      this.list.replaceChildren(...[...this.rows.values()].map((row) => row.root));
      this.empty.textContent = "No jobs yet.";
      this.empty.hidden = page.jobs.length > 0;
      this.countActive();
    } catch (error) {
      this.empty.textContent = `Could not load jobs: ${error.message}`;
      this.empty.hidden = false;
    }
  }

  countActive() {
    const badge = document.getElementById("active-count");
    if (!badge || !this.root.closest("#panel")) return;
    badge.textContent = String([...this.rows.values()].filter((row) => !isFinal(row.job)).length);
  }
}

// The slide-out job queue panel, reachable from every page (Esc closes it).
export function initPanel() {
  const panel = document.getElementById("panel");
  const toggle = document.getElementById("panel-toggle");
  if (!panel || !toggle) return;
  const list = new JobList(panel.querySelector("[data-job-list]"));
  const setOpen = (open) => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) { list.load(); panel.querySelector("#panel-close").focus(); } else toggle.focus();
  };
  toggle.addEventListener("click", () => setOpen(panel.hidden));
  panel.querySelector("#panel-close").addEventListener("click", () => setOpen(false));
  document.addEventListener("keydown", (event) => {
    // An open dialog is on top: Esc is its own (the browser closes it), not the panel's.
    if (event.key === "Escape" && !panel.hidden && !document.querySelector("dialog[open]")) {
      setOpen(false);
    }
  });
}
