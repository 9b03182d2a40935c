// UI components. Each one subscribes to the jobs client; none polls on its own.
import { api, isFinal, jobs } from "./jobs.js";

const TYPE_NAMES = {
  material_upload: "Material upload",
  lesson_generation: "Lesson generation",
  check_in_evaluation: "Check-in evaluation",
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
    this.bar.setAttribute("aria-valuenow", String(pct));
    this.bar.dataset.status = job.status;
    const message = job.status === "failed" ? job.error_message
      : job.status === "pending" ? (job.progress_message || "Waiting in the queue…")
      : job.progress_message || job.status;
    this.text.textContent = `${pct}% · ${message || ""}`;
  }
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

function jobRow(job) {
  const bar = el("div", { class: "mini" });
  const progress = new ProgressBar(bar, `${typeName(job.type)} progress`);
  progress.set(job);
  const actions = [];
  if (!isFinal(job)) {
    actions.push(el("button", { class: "btn ghost", onclick: () => api(`/jobs/${job.id}/cancel`, { method: "POST" }).catch((e) => toast("error", e.message)) }, "Cancel"));
  } else if (job.status !== "completed") {
    actions.push(el("button", { class: "btn ghost", onclick: () => api(`/jobs/${job.id}/retry`, { method: "POST" }).then(() => toast("info", "Submitted again.")).catch((e) => toast("error", e.message)) }, "Retry"));
  }
  return el("li", { class: `job ${job.status}`, "data-job-id": job.id, "data-status": job.status },
    el("div", { class: "job-head" },
      el("strong", {}, typeName(job.type)),
      el("span", { class: `status ${job.status}` }, job.status),
      el("time", { datetime: job.created_at }, new Date(job.created_at).toLocaleTimeString())),
    bar, el("div", { class: "job-actions" }, actions));
}

// A live list of the user's jobs, optionally filtered by type and status.
export class JobList {
  constructor(root) {
    this.root = root;
    this.limit = Number(root.dataset.limit || 20);
    this.filters = { type: "", status: "" };
    this.list = el("ul", { class: "jobs" });
    this.empty = el("p", { class: "muted" }, "No jobs yet.");
    root.append(this.list, this.empty);
    this.pending = null;
    jobs.onAny(() => this.schedule());
    this.load();
  }

  setFilter(key, value) {
    this.filters[key] = value;
    this.load();
  }

  schedule() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.load(), 150);
  }

  async load() {
    const params = new URLSearchParams({ limit: String(this.limit) });
    for (const [key, value] of Object.entries(this.filters)) if (value) params.set(key, value);
    try {
      const page = await api(`/jobs?${params}`);
      for (const job of page.jobs) {
        if (!isFinal(job) && !jobs.watchers.has(job.id)) jobs.watch(job.id, () => {});
      }
      this.list.replaceChildren(...page.jobs.map(jobRow));
      this.empty.hidden = page.jobs.length > 0;
      const active = page.jobs.filter((j) => !isFinal(j)).length;
      const badge = document.getElementById("active-count");
      if (badge && this.root.closest("#panel")) badge.textContent = String(active);
    } catch (error) {
      this.empty.textContent = `Could not load jobs: ${error.message}`;
      this.empty.hidden = false;
    }
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
    if (event.key === "Escape" && !panel.hidden) setOpen(false);
  });
}
