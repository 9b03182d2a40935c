// The one live-updates client of a page. It keeps a single EventSource on /jobs/events
// and, while that stream is down, polls GET /jobs/{id} for the unfinished jobs that
// components watch; when the stream is back, polling stops. Components never poll.

const FINAL = new Set(["completed", "failed", "cancelled"]);
const RECONNECT_MS = [1000, 2000, 5000, 10000, 20000];

export async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: options.body && !(options.body instanceof FormData)
      ? { "content-type": "application/json" } : {},
    ...options,
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = body && body.detail;
    const message = typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

class JobsClient {
  constructor() {
    this.jobs = new Map();
    this.watchers = new Map();
    this.anyListeners = new Set();
    this.modeListeners = new Set();
    this.mode = "connecting";
    this.pollMs = Number(document.body.dataset.pollMs || 2000);
    this.source = null;
    this.lastEventId = null;
    this.attempt = 0;
    this.pollTimer = null;
    this.replaced = false;
  }

  start() {
    this.connect();
    // A stream the server closed for a newer one (too many tabs) comes back only when
    // its tab is looked at: reconnecting at once would close the next oldest tab's
    // stream, which would reconnect and close the next, round and round.
    document.addEventListener("visibilitychange", () => {
      if (this.replaced && document.visibilityState === "visible") this.connect();
    });
  }

  // A new EventSource does not send Last-Event-ID, so the query carries it: the server
  // replays what this page missed while the stream was down.
  streamUrl() {
    return this.lastEventId
      ? `/jobs/events?last_event_id=${encodeURIComponent(this.lastEventId)}` : "/jobs/events";
  }

  connect() {
    this.replaced = false;
    if (this.source) this.source.close();
    const source = new EventSource(this.streamUrl());
    this.source = source;
    source.onopen = () => {
      this.attempt = 0;
      this.setMode("push");
      this.refreshWatched(); // catch up on anything missed while reconnecting
    };
    source.onerror = () => {
      source.close();
      if (this.source !== source) return;
      this.source = null;
      this.setMode("polling");
      const delay = RECONNECT_MS[Math.min(this.attempt, RECONNECT_MS.length - 1)];
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    };
    source.addEventListener("stream.replaced", () => {
      source.close();
      this.source = null;
      this.replaced = true;
      this.setMode("polling");
    });
    for (const kind of ["job.created", "job.waiting", "job.queued", "job.processing",
      "job.progress", "job.retrying", "job.completed", "job.failed", "job.cancelled"]) {
      source.addEventListener(kind, (event) => {
        if (event.lastEventId) this.lastEventId = event.lastEventId;
        const data = JSON.parse(event.data);
        // job.waiting names the jobs it still waits for ({id, type} each)
        this.update(data.waiting_for ? { ...data.job, waiting_for: data.waiting_for } : data.job, kind);
      });
    }
  }

  setMode(mode) {
    if (this.mode === mode) return;
    this.mode = mode;
    if (mode === "polling") this.startPolling(); else this.stopPolling();
    for (const listener of this.modeListeners) listener(mode);
  }

  onMode(listener) {
    this.modeListeners.add(listener);
    listener(this.mode);
  }

  startPolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.refreshWatched(), this.pollMs);
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  async refreshWatched() {
    const ids = [...this.watchers.keys()].filter((id) => !FINAL.has(this.jobs.get(id)?.status));
    await Promise.all(ids.map((id) => this.fetchJob(id)));
    if (this.mode === "polling") for (const l of this.anyListeners) l(null, "poll");
  }

  async fetchJob(id) {
    try {
      this.update(await api(`/jobs/${id}`), "job.poll");
    } catch (error) {
      // A failed poll is retried at the next tick.
    }
  }

  update(partial, kind) {
    if (!partial || !partial.id) return;
    const before = this.jobs.get(partial.id) || {};
    if (FINAL.has(before.status) && !FINAL.has(partial.status)) return; // stale news
    const job = { ...before, ...partial };
    this.jobs.set(job.id, job);
    for (const callback of this.watchers.get(job.id) || []) callback(job, kind);
    for (const listener of this.anyListeners) listener(job, kind);
  }

  // Follow one job: the callback gets every change, starting with its current state.
  watch(id, callback) {
    if (!this.watchers.has(id)) this.watchers.set(id, new Set());
    this.watchers.get(id).add(callback);
    this.fetchJob(id);
    return () => this.watchers.get(id)?.delete(callback);
  }

  onAny(listener) {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }
}

export const jobs = new JobsClient();
window.ultudyJobs = jobs; // for debugging from the console (and the browser tests)
export const isFinal = (job) => FINAL.has(job.status);
