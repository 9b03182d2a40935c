import { act, cleanup, renderHook, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JobsClient } from "../src/client";
import { JobsProvider } from "../src/context";
import { useJob, useJobList } from "../src/hooks";
import { JobProgress } from "../src/JobProgress";
import { FakeApi, makeJob } from "./server";
import { renderWith } from "./setup";

let api: FakeApi;
beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(async () => {
  cleanup();
  await api.close();
});

function hookWrapper(client: JobsClient) {
  return ({ children }: { children: ReactNode }) => <JobsProvider client={client}>{children}</JobsProvider>;
}

const newClient = (pollingInterval = 50) =>
  new JobsClient({ baseUrl: api.base, userId: "alice", pollingInterval, reconnectDelays: [100] });

describe("useJob", () => {
  it("follows a job from pending to completed over the stream", async () => {
    api.set(makeJob({ id: "j1" }), "job.created", true);
    const client = newClient();
    const { result } = renderHook(() => useJob({ jobId: "j1" }), { wrapper: hookWrapper(client) });
    expect(result.current.isLoading).toBe(true);
    await waitFor(() => expect(result.current.status).toBe("pending"));
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "j1", status: "processing", progress: 40, progress_message: "Page 2 of 5" })));
    await waitFor(() => expect(result.current.progress).toBe(40));
    expect(result.current.message).toBe("Page 2 of 5");
    act(() => api.set(makeJob({ id: "j1", status: "completed", progress: 100, result_data: { n: 4 } }), "job.completed"));
    await waitFor(() => expect(result.current.status).toBe("completed"));
    expect(result.current.result).toEqual({ n: 4 });
    expect(result.current.isFinal).toBe(true);
    expect(result.current.error).toBeNull();
    expect(api.requests.find((r) => r.url === "/jobs/events")?.headers["x-user-id"]).toBe("alice");
  });

  it("resolves a finished job at once and gives a clear error for an unknown id", async () => {
    api.set(makeJob({ id: "done", status: "completed", progress: 100, result_data: { ok: true } }), "job.completed", true);
    const client = newClient();
    const done = renderHook(() => useJob({ jobId: "done" }), { wrapper: hookWrapper(client) });
    await waitFor(() => expect(done.result.current.result).toEqual({ ok: true }));
    const unknown = renderHook(() => useJob("nope"), { wrapper: hookWrapper(client) });
    await waitFor(() => expect(unknown.result.current.error).toMatch(/No job nope/));
    expect(unknown.result.current.isLoading).toBe(false);
    expect(unknown.result.current.job).toBeNull();
  });

  it("polls while the stream is down, then goes back to push and stops polling", async () => {
    api.refuseStream = true;
    api.set(makeJob({ id: "j2", status: "processing", progress: 10 }), "job.processing", true);
    const client = newClient();
    const { result } = renderHook(() => useJob({ jobId: "j2" }), { wrapper: hookWrapper(client) });
    await waitFor(() => expect(client.mode).toBe("polling"));
    api.set(makeJob({ id: "j2", status: "processing", progress: 70 }), "job.progress", true);
    await waitFor(() => expect(result.current.progress).toBe(70));
    expect(api.count(/^GET \/jobs\/j2$/)).toBeGreaterThan(1);
    api.refuseStream = false;
    await waitFor(() => expect(client.mode).toBe("push"));
    await new Promise((resolve) => setTimeout(resolve, 300)); // a poll round in flight may land
    const polled = api.count(/^GET \/jobs\/j2$/);
    await new Promise((resolve) => setTimeout(resolve, 500)); // ten polling intervals
    expect(api.count(/^GET \/jobs\/j2$/)).toBe(polled);
    act(() => api.set(makeJob({ id: "j2", status: "completed", progress: 100 }), "job.completed"));
    await waitFor(() => expect(result.current.status).toBe("completed"));
  });

  it("resumes a dropped stream with Last-Event-ID and lets polling finish the job meanwhile", async () => {
    api.set(makeJob({ id: "j3", status: "processing", progress: 5 }), "job.processing", true);
    const client = newClient();
    renderWith(api, <JobProgress jobId="j3" onComplete={vi.fn()} />);
    const { result } = renderHook(() => useJob({ jobId: "j3" }), { wrapper: hookWrapper(client) });
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "j3", status: "processing", progress: 20 })));
    await waitFor(() => expect(result.current.progress).toBe(20));
    api.refuseStream = true;
    act(() => api.drop());
    await waitFor(() => expect(client.mode).toBe("polling"));
    api.set(makeJob({ id: "j3", status: "completed", progress: 100 }), "job.completed", true);
    await waitFor(() => expect(result.current.status).toBe("completed"));
    api.refuseStream = false;
    await waitFor(() => expect(client.mode).toBe("push"));
    const resumed = api.requests.filter((r) => r.url === "/jobs/events").at(-1);
    expect(resumed?.headers["last-event-id"]).toMatch(/-\d+$/);
    expect(screen.getAllByRole("progressbar").length).toBeGreaterThan(0);
  });
});

describe("JobsClient", () => {
  it("sends the bearer token from its getter on the stream and on reads", async () => {
    api.set(makeJob({ id: "t1" }), "job.created", true);
    const client = new JobsClient({ baseUrl: api.base, getToken: async () => "tok-1" });
    client.start();
    await client.getJob("t1");
    await waitFor(() => expect(client.mode).toBe("push"));
    client.stop();
    const auth = api.requests.map((r) => [r.url, r.headers.authorization]);
    expect(auth).toContainEqual(["/jobs/events", "Bearer tok-1"]);
    expect(auth).toContainEqual(["/jobs/t1", "Bearer tok-1"]);
    expect(api.requests.every((r) => r.headers["x-user-id"] === undefined)).toBe(true);
  });

  it("does not reconnect a stream replaced by a newer one until the page is shown again", async () => {
    const client = newClient();
    client.start();
    await waitFor(() => expect(client.mode).toBe("push"));
    api.replace();
    await waitFor(() => expect(client.mode).toBe("polling"));
    await new Promise((resolve) => setTimeout(resolve, 300)); // longer than the reconnect delay
    expect(api.count(/^GET \/jobs\/events$/)).toBe(1);
    expect(client.replaced).toBe(true);
    document.dispatchEvent(new Event("visibilitychange"));
    await waitFor(() => expect(client.mode).toBe("push"));
    expect(api.count(/^GET \/jobs\/events$/)).toBe(2);
    client.stop();
  });
});

describe("useJobList", () => {
  it("lists newest first, adds created jobs live and pages with loadMore", async () => {
    for (let i = 0; i < 5; i++) {
      api.set(makeJob({ id: `old${i}`, created_at: `2026-11-30T10:00:0${i}Z` }), "job.created", true);
    }
    const client = newClient();
    const { result } = renderHook(() => useJobList({ limit: 3 }), { wrapper: hookWrapper(client) });
    await waitFor(() => expect(result.current.jobs.map((j) => j.id)).toEqual(["old4", "old3", "old2"]));
    expect(result.current.hasMore).toBe(true);
    await act(() => result.current.loadMore());
    expect(result.current.jobs.map((j) => j.id)).toEqual(["old4", "old3", "old2", "old1", "old0"]);
    expect(result.current.hasMore).toBe(false);
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "new", created_at: "2026-11-30T11:00:00Z" }), "job.created"));
    await waitFor(() => expect(result.current.jobs[0].id).toBe("new"));
  });

  it("keeps to its filters as jobs change", async () => {
    api.set(makeJob({ id: "a", type: "lesson_generation" }), "job.created", true);
    api.set(makeJob({ id: "b", type: "material_upload" }), "job.created", true);
    const client = newClient();
    const { result } = renderHook(() => useJobList({ type: "lesson_generation", status: "pending" }), {
      wrapper: hookWrapper(client),
    });
    await waitFor(() => expect(result.current.jobs.map((j) => j.id)).toEqual(["a"]));
    expect(api.requests.some((r) => r.url.includes("type=lesson_generation") && r.url.includes("status=pending"))).toBe(true);
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "c", type: "material_upload" }), "job.created"));
    act(() => api.set(makeJob({ id: "a", type: "lesson_generation", status: "processing" }), "job.processing"));
    await waitFor(() => expect(result.current.jobs).toEqual([]));
  });
});
