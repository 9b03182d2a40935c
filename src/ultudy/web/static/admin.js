// The operator's dashboard: queues, charts, durations, search across owners, one job's
// detail with retry / cancel / promote. Other people's jobs are not on the admin's own
// event stream, so the page polls its JSON endpoints every REFRESH_MS instead.
import { el, toast, typeName } from "./components.js";
import { failureRateChart, throughputChart } from "./charts.js";
import { api } from "./jobs.js";

const REFRESH_MS = 5000;
const byId = (id) => document.getElementById(id);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const ms = (value) => (value === null ? "–" : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`);
const sum = (list) => list.reduce((a, b) => a + b, 0);
const view = { query: null, detailId: null, stats: null };

async function act(path, done) {
  try {
    await api(path, { method: "POST" });
    toast("info", done);
  } catch (error) {
    toast("error", error.message);
  }
  await refresh();
}

function renderOverview(report) {
  byId("health").textContent =
    `Status: ${report.status} · database ${report.database.backend} ${report.database.rtt_ms ?? "–"} ms · broker ${report.broker.rtt_ms ?? "–"} ms · live clients here: ${report.live_clients}`;
  byId("warnings").replaceChildren(...report.warnings.map((w) => el("li", {}, w)));
  byId("queues").replaceChildren(...Object.entries(report.queues).map(([name, c]) => {
    const paused = Boolean(c.is_paused);
    const action = el("button", { class: "btn", "data-queue-action": name,
      onclick: () => act(`/admin/api/queues/${name}/${paused ? "resume" : "pause"}`, paused ? "Resumed." : "Paused.") },
    paused ? "Resume" : "Pause");
    return el("tr", { "data-queue": name }, el("td", {}, name), el("td", {}, String(c.waiting)),
      el("td", {}, String(c.active)), el("td", {}, String(c.delayed)), el("td", {}, String(c.completed)),
      el("td", {}, String(c.failed)), el("td", {}, String((report.workers[name] || []).length)),
      el("td", {}, paused ? "paused" : "running"), el("td", {}, action));
  }));
  byId("failed").replaceChildren(...report.failed_jobs.map((job) => el("tr", {},
    el("td", {}, detailLink(job.id)), el("td", {}, job.owner_id), el("td", {}, typeName(job.type)),
    el("td", {}, job.error_message || ""), el("td", {}, when(job.completed_at || job.updated_at)),
    el("td", {}, el("button", { class: "btn", onclick: () => act(`/admin/api/jobs/${job.id}/retry`, "Submitted again.") }, "Retry")))));
}

function renderCharts() {
  const { stats } = view;
  if (!stats) return;
  const choice = byId("chart-queue").value;
  const names = Object.keys(stats.queues);
  if (byId("chart-queue").options.length === 1) {
    byId("chart-queue").append(...names.map((n) => el("option", { value: n }, n)));
  }
  const shown = choice ? [choice] : names;
  const add = (key) => stats.queues[shown[0]][key].map((_, i) => sum(shown.map((n) => stats.queues[n][key][i])));
  byId("throughput").replaceChildren(throughputChart(add("completed"), add("failed")));
  byId("failure-rate").replaceChildren(failureRateChart(add("completed"), add("failed")));
  byId("durations").replaceChildren(...Object.entries(stats.queues).map(([name, q]) => el("tr", { "data-durations": name },
    el("td", {}, name), el("td", {}, String(sum(q.completed))), el("td", {}, String(sum(q.failed))),
    el("td", {}, q.failure_rate === null ? "–" : `${(q.failure_rate * 100).toFixed(1)} %`),
    el("td", {}, ms(q.wait_p50_ms)), el("td", {}, ms(q.wait_p95_ms)),
    el("td", {}, ms(q.run_p50_ms)), el("td", {}, ms(q.run_p95_ms)), el("td", {}, String(q.samples)))));
}

function detailLink(id) {
  return el("button", { class: "btn link mono", title: id, "data-open-job": id, onclick: () => openDetail(id) }, id.slice(0, 8));
}

async function runSearch() {
  if (!view.query) return;
  const { jobs } = await api(`/admin/api/jobs?${view.query}`);
  byId("search-results").replaceChildren(...(jobs.length ? jobs.map((job) => el("tr", { "data-job": job.id, "data-status": job.status },
    el("td", {}, detailLink(job.id)), el("td", {}, job.owner_id), el("td", {}, typeName(job.type)),
    el("td", {}, el("span", { class: `status ${job.status}` }, job.status)), el("td", {}, `${job.attempts}/${job.max_attempts}`),
    el("td", {}, when(job.created_at)), el("td", {}, job.run_at ? when(job.run_at) : "–")))
    : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No job matches."))]));
}

function jobActions(job) {
  const buttons = [];
  const path = `/admin/api/jobs/${job.id}`;
  if (job.status === "failed" || job.status === "cancelled") {
    buttons.push(el("button", { class: "btn", "data-action": "retry", onclick: () => act(`${path}/retry`, "Submitted again.") }, "Retry"));
  }
  if (job.status === "pending" || job.status === "processing") {
    buttons.push(el("button", { class: "btn", "data-action": "cancel", onclick: () => act(`${path}/cancel`, "Cancelled.") }, "Cancel"));
  }
  if (job.status === "pending" && job.run_at && new Date(job.run_at) > new Date()) {
    buttons.push(el("button", { class: "btn primary", "data-action": "promote", onclick: () => act(`${path}/promote`, "Promoted: it runs now.") }, "Run now"));
  }
  return buttons;
}

const pre = (value) => el("pre", { class: "json" }, value === null ? "–" : JSON.stringify(value, null, 2));

async function renderDetail() {
  if (!view.detailId) return;
  const detail = await api(`/admin/api/jobs/${view.detailId}`);
  const { job } = detail;
  const box = byId("job-detail");
  box.hidden = false;
  box.dataset.status = job.status;
  const fields = [["Owner", job.owner_id], ["Type", typeName(job.type)], ["Queue", detail.queue],
    ["In the broker", detail.broker_state], ["Attempts", `${job.attempts} of ${job.max_attempts}`],
    ["Priority", String(job.priority)], ["Progress", `${job.progress} % ${job.progress_message || ""}`],
    ["Created", when(job.created_at)], ["Runs at", when(job.run_at)], ["Started", when(job.started_at)],
    ["Finished", when(job.completed_at)]];
  box.replaceChildren(...[
    el("div", { class: "detail-head" }, el("h2", {}, `Job ${job.id}`),
      el("span", { class: `status ${job.status}`, id: "detail-status" }, job.status),
      el("div", { class: "detail-actions" }, ...jobActions(job)),
      el("button", { class: "btn ghost", "aria-label": "Close the job", onclick: () => { view.detailId = null; box.hidden = true; } }, "✕")),
    el("dl", { class: "fields" }, ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    job.error_message ? el("p", { class: "form-error" }, job.error_message) : null,
    el("div", { class: "io" }, el("div", {}, el("h3", {}, "Input"), pre(job.input_data)),
      el("div", {}, el("h3", {}, "Result"), pre(job.result_data))),
    el("h3", {}, "Log"),
    detail.logs.length ? el("ol", { class: "logs" }, ...detail.logs.map((line) => el("li", {}, line)))
      : el("p", { class: "muted" }, "No log lines."),
    el("h3", {}, "Timeline"),
    el("table", { class: "table", "aria-label": "Timeline" },
      el("tbody", { id: "timeline" }, ...detail.timeline.map((e) => el("tr", { "data-event": e.event },
        el("td", {}, new Date(e.at).toLocaleTimeString()), el("td", {}, e.event),
        el("td", {}, e.detail || ""), el("td", { class: "muted" }, e.source)))))].filter(Boolean));
}

async function openDetail(id) {
  view.detailId = id;
  try {
    await renderDetail();
    byId("job-detail").scrollIntoView({ block: "start" });
  } catch (error) {
    toast("error", error.message);
  }
}

function renderUndelivered({ notifications }) {
  byId("undelivered").replaceChildren(...notifications.map((n) => el("tr", {},
    el("td", {}, n.job_id.slice(0, 8)), el("td", {}, n.owner_id), el("td", {}, n.status),
    el("td", {}, n.error || ""), el("td", {}, new Date(n.created_at).toLocaleString()))));
}

async function refresh() {
  const [report, stats, undelivered] = await Promise.all([
    api("/admin/api/overview"), api("/admin/api/stats"), api("/admin/api/notifications/failed")]);
  renderOverview(report);
  renderUndelivered(undelivered);
  view.stats = stats;
  renderCharts();
  await Promise.all([runSearch(), renderDetail()]);
}

export async function adminPage() {
  const form = byId("search-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim()) params.set(key, String(value).trim());
    view.query = params.toString() || "limit=25";
    try {
      await runSearch();
    } catch (error) {
      toast("error", error.message);
    }
  });
  byId("chart-queue").addEventListener("change", renderCharts);
  await refresh();
  const again = async () => {
    try {
      if (!document.hidden) await refresh();
      byId("refreshed").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      byId("refreshed").textContent = `Not updated: ${error.message}`;
    }
    setTimeout(again, REFRESH_MS);
  };
  setTimeout(again, REFRESH_MS);
}
