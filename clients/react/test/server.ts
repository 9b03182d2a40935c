// A small HTTP server speaking the API's protocol for the jobs endpoints the package uses
// (GET /jobs/events as SSE, GET /jobs/{id}, GET /jobs, cancel, retry), so that the unit
// tests run the client's real fetch and stream reading over a socket. The real API is
// tested end to end in tests/e2e/test_react.py.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Job, JobEventType } from "../src/types";

export function makeJob(fields: Partial<Job> & { id: string }): Job {
  return {
    owner_id: "alice",
    type: "material_upload",
    status: "pending",
    progress: 0,
    progress_message: null,
    input_data: {},
    result_data: null,
    error_message: null,
    attempts: 0,
    max_attempts: 3,
    created_at: "2026-11-30T10:00:00.000000Z",
    started_at: null,
    completed_at: null,
    updated_at: "2026-11-30T10:00:00.000000Z",
    inline: false,
    priority: 0,
    run_at: null,
    ...fields,
  };
}

export class FakeApi {
  readonly jobs = new Map<string, Job>();
  readonly requests: { method: string; url: string; headers: IncomingMessage["headers"] }[] = [];
  refuseStream = false;
  private streams = new Set<ServerResponse>();
  private server: Server;
  private nextId = 1;
  base = "";

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.drop();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Updates a job and, unless `silent`, sends its event to every open stream. */
  set(job: Job, event: JobEventType = "job.progress", silent = false): void {
    this.jobs.set(job.id, job);
    if (silent) return;
    const id = `${Date.now()}-${this.nextId++}`;
    for (const res of this.streams) {
      res.write(`id: ${id}\r\nevent: ${event}\r\ndata: ${JSON.stringify({ event, job })}\r\n\r\n`);
    }
  }

  /** Tells every open stream it was replaced by a newer one of its owner, and ends it. */
  replace(): void {
    for (const res of this.streams) res.end(`event: stream.replaced\r\ndata: {"detail": "too many"}\r\n\r\n`);
    this.streams.clear();
  }

  /** Ends every open stream, as a restart or a proxy would. */
  drop(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(`${r.method} ${r.url}`)).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", this.base);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/jobs/events") {
      if (this.refuseStream) return json(503, { detail: "Live updates are unavailable right now" });
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(": ping\r\n\r\n");
      this.streams.add(res);
      req.on("close", () => this.streams.delete(res));
      return;
    }
    if (url.pathname === "/jobs") {
      const status = url.searchParams.get("status");
      const type = url.searchParams.get("type");
      const limit = Number(url.searchParams.get("limit") ?? 20);
      const offset = Number(url.searchParams.get("cursor") ?? 0);
      const all = [...this.jobs.values()]
        .filter((job) => (!status || job.status === status) && (!type || job.type === type))
        .sort((a, b) => b.created_at.localeCompare(a.created_at));
      const page = all.slice(offset, offset + limit);
      return json(200, { jobs: page, next_cursor: offset + limit < all.length ? String(offset + limit) : null });
    }
    const match = /^\/jobs\/([^/]+)(\/cancel|\/retry)?$/.exec(url.pathname);
    const job = match && this.jobs.get(decodeURIComponent(match[1]));
    if (!job) return json(404, { detail: "job not found" });
    if (match[2] === "/cancel") {
      this.set({ ...job, status: "cancelled" }, "job.cancelled");
      return json(200, this.jobs.get(job.id));
    }
    if (match[2] === "/retry") {
      const copy = makeJob({ id: `${job.id}-retry`, type: job.type, created_at: new Date().toISOString() });
      this.set(copy, "job.created");
      return json(202, { job_id: copy.id });
    }
    return json(200, job);
  }
}
