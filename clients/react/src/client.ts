// The framework-free core: one SSE connection to GET /jobs/events per client, resumed with
// Last-Event-ID; while it is down, the jobs being watched are polled with GET /jobs/{id}
// and polling stops when the stream is back. Hooks and components only subscribe here.

import { readEvents, type SseMessage } from "./sse";
import {
  isFinal,
  JOB_EVENT_TYPES,
  type ConnectionMode,
  type Job,
  type JobAccepted,
  type JobEvent,
  type JobEventType,
  type JobList,
  type JobStatus,
  type JobType,
} from "./types";

export interface JobsClientOptions {
  /** Where the API is, e.g. "http://localhost:8000"; "" (default) is this page's origin. */
  baseUrl?: string;
  /** Token mode: called before each request; its value goes in `Authorization: Bearer`. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Dev mode: sent as `x-user-id`. */
  userId?: string | null;
  /** Polling interval (ms) while the stream is down; default 2000. */
  pollingInterval?: number;
  /** `fetch` credentials; "include" sends the API's session cookie cross-origin. */
  credentials?: RequestCredentials;
  /** Delays (ms) before each reconnection attempt of the stream, the last one repeating. */
  reconnectDelays?: readonly number[];
  fetch?: typeof fetch;
}

export interface JobListQuery {
  status?: JobStatus | null;
  type?: JobType | null;
  limit?: number;
  cursor?: string | null;
}

export class JobsApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "JobsApiError";
  }
}

type Listener<T> = (value: T) => void;
const RECONNECT_MS = [1000, 2000, 5000, 10000, 20000];

function detailOf(body: unknown): string | null {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item: { msg?: string }) => item.msg).join("; ");
  return null;
}

export class JobsClient {
  /** The latest known state of every job this client has seen. */
  readonly jobs = new Map<string, Job>();
  mode: ConnectionMode = "idle";
  /** The server closed this stream for a newer one of the same user (too many tabs). */
  replaced = false;
  private readonly options: JobsClientOptions;
  private readonly listeners = new Set<Listener<JobEvent>>();
  private readonly modeListeners = new Set<Listener<ConnectionMode>>();
  private readonly tickListeners = new Set<() => void>();
  private readonly watched = new Map<string, number[]>();
  private lastEventId: string | null = null;
  private controller: AbortController | null = null;
  private attempt = 0;
  private running = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: JobsClientOptions = {}) {
    this.options = options;
  }

  /** Opens the stream (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (typeof document !== "undefined") document.addEventListener("visibilitychange", this.onVisible);
    void this.connect();
  }

  /** Closes the stream and stops polling; `start()` may be called again. */
  stop(): void {
    this.running = false;
    if (typeof document !== "undefined") document.removeEventListener("visibilitychange", this.onVisible);
    this.controller?.abort();
    this.controller = null;
    clearTimeout(this.reconnectTimer);
    this.setMode("idle");
  }

  /** Drops the current stream (if any) and opens a new one at once. */
  reconnect(): void {
    if (!this.running) return;
    this.controller?.abort();
    clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  subscribe(listener: Listener<JobEvent>): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  onMode(listener: Listener<ConnectionMode>): () => void {
    this.modeListeners.add(listener);
    return () => void this.modeListeners.delete(listener);
  }

  /** Called after each polling round (stream down): lists refresh themselves then. */
  onPoll(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => void this.tickListeners.delete(listener);
  }

  /** Keeps `id` polled while the stream is down, every `interval` ms at most. */
  watch(id: string, interval = this.pollingInterval): () => void {
    const intervals = this.watched.get(id) ?? [];
    intervals.push(interval);
    this.watched.set(id, intervals);
    return () => {
      intervals.splice(intervals.indexOf(interval), 1);
      if (!intervals.length) this.watched.delete(id);
    };
  }

  get pollingInterval(): number {
    return this.options.pollingInterval ?? 2000;
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = await this.headers(init.headers);
    if (typeof init.body === "string" && !headers.has("content-type")) {
      headers.set("content-type", "application/json");
    }
    const response = await this.fetch(path, { ...init, headers });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      throw new JobsApiError(detailOf(body) ?? (response.statusText || `HTTP ${response.status}`), response.status);
    }
    return body as T;
  }

  /** POSTs JSON (or a FormData upload) to an async endpoint: `{job_id}`. */
  submit(path: string, body: unknown): Promise<JobAccepted> {
    const payload = body instanceof FormData ? body : JSON.stringify(body);
    return this.request<JobAccepted>(path, { method: "POST", body: payload });
  }

  async getJob(id: string): Promise<Job> {
    const job = await this.request<Job>(`/jobs/${encodeURIComponent(id)}`);
    this.update(job, "job.polled", null);
    return this.jobs.get(id) ?? job;
  }

  async listJobs(query: JobListQuery = {}): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
    }
    const search = params.toString();
    const page = await this.request<JobList>(`/jobs${search ? `?${search}` : ""}`);
    for (const job of page.jobs) this.update(job, "job.polled", null);
    return page;
  }

  async cancel(id: string): Promise<void> {
    await this.request<unknown>(`/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
    await this.getJob(id).catch(() => undefined);
  }

  retry(id: string): Promise<JobAccepted> {
    return this.request<JobAccepted>(`/jobs/${encodeURIComponent(id)}/retry`, { method: "POST" });
  }

  /** Records a job's new state and tells the listeners; stale news is dropped. A poll
   * that finds a job ended is announced as its final event (`job.completed` …). */
  update(job: Job, type: JobEvent["type"], id: string | null): void {
    const before = this.jobs.get(job.id);
    if (before && isFinal(before)) return; // a finished job never changes again
    if (type === "job.polled" && before) {
      if (before.status === job.status && job.progress <= before.progress) return;
      if (isFinal(job)) type = `job.${job.status}` as JobEventType;
    }
    this.jobs.set(job.id, job);
    for (const listener of [...this.listeners]) listener({ type, id, job });
  }

  private readonly onVisible = (): void => {
    if (this.replaced && document.visibilityState === "visible") this.reconnect();
  };

  private async headers(extra?: HeadersInit): Promise<Headers> {
    const headers = new Headers(extra);
    const token = await this.options.getToken?.();
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (this.options.userId) headers.set("x-user-id", this.options.userId);
    return headers;
  }

  private fetch(path: string, init: RequestInit): Promise<Response> {
    const run = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    return run(`${this.options.baseUrl ?? ""}${path}`, {
      credentials: this.options.credentials ?? "same-origin",
      ...init,
    });
  }

  private async connect(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    this.replaced = false;
    if (this.mode === "idle") this.setMode("connecting");
    try {
      const headers = await this.headers({ accept: "text/event-stream" });
      if (this.lastEventId) headers.set("last-event-id", this.lastEventId);
      const response = await this.fetch("/jobs/events", { headers, signal: controller.signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new JobsApiError("event stream refused", response.status);
      this.attempt = 0;
      this.setMode("push");
      void this.pollOnce(false); // catch up on what changed while connecting
      await readEvents(response.body, (message) => this.onMessage(message, controller));
      controller.abort();
    } catch {
      // a refused, failed or aborted stream: handled below
    }
    if (this.controller !== controller || !this.running) return;
    this.controller = null;
    this.setMode("polling");
    if (this.replaced) return; // back when the page is looked at again (see onVisible)
    const delays = this.options.reconnectDelays ?? RECONNECT_MS;
    const delay = delays[Math.min(this.attempt, delays.length - 1)];
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  /** False stops reading the stream. */
  private onMessage(message: SseMessage, controller: AbortController): boolean {
    if (message.id) this.lastEventId = message.id;
    if (controller.signal.aborted) return false;
    if (message.event === "stream.replaced") {
      this.replaced = true;
      return false;
    }
    if (!(JOB_EVENT_TYPES as readonly string[]).includes(message.event)) return true;
    try {
      const data = JSON.parse(message.data) as { job?: Job };
      if (data.job?.id) this.update(data.job, message.event as JobEventType, message.id);
    } catch {
      // a malformed event is skipped; the next poll or event brings the state
    }
    return true;
  }

  private setMode(mode: ConnectionMode): void {
    if (this.mode === mode) return;
    this.mode = mode;
    clearTimeout(this.pollTimer);
    if (mode === "polling") this.schedulePoll();
    for (const listener of [...this.modeListeners]) listener(mode);
  }

  private schedulePoll(): void {
    const intervals = [...this.watched.values()].flat();
    const interval = Math.min(this.pollingInterval, ...intervals);
    this.pollTimer = setTimeout(async () => {
      await this.pollOnce(true);
      if (this.mode === "polling") this.schedulePoll();
    }, interval);
  }

  private async pollOnce(tick: boolean): Promise<void> {
    const ids = [...this.watched.keys()].filter((id) => !isFinal(this.jobs.get(id)));
    await Promise.all(ids.map((id) => this.getJob(id).catch(() => undefined)));
    if (tick) for (const listener of [...this.tickListeners]) listener();
  }
}
