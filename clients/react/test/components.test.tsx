import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JobNotification, JobNotificationContainer } from "../src/JobNotification";
import { JobProgress, JobProgressModal } from "../src/JobProgress";
import { JobQueuePanel } from "../src/JobQueue";
import { FakeApi, makeJob } from "./server";
import { renderWith } from "./setup";

let api: FakeApi;
beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(async () => {
  cleanup();
  vi.useRealTimers();
  await api.close();
});

describe("JobProgress", () => {
  it("shows percentage and message, calls onComplete once, and shows a failure", async () => {
    api.set(makeJob({ id: "p1", status: "processing", progress: 30, progress_message: "Reading" }), "job.processing", true);
    api.set(makeJob({ id: "p2", status: "processing" }), "job.processing", true);
    const onComplete = vi.fn();
    const onError = vi.fn();
    const { client } = renderWith(
      api,
      <>
        <JobProgress jobId="p1" onComplete={onComplete} label="Upload" />
        <JobProgress jobId="p2" onError={onError} label="Lesson" />
      </>,
    );
    const bar = await screen.findByRole("progressbar", { name: "Upload" });
    await waitFor(() => expect(bar.getAttribute("aria-valuenow")).toBe("30"));
    expect(screen.getByText("Reading")).toBeTruthy();
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "p1", status: "completed", progress: 100, result_data: { doc: 1 } }), "job.completed"));
    act(() => api.set(makeJob({ id: "p2", status: "failed", error_message: "Not a PDF" }), "job.failed"));
    await waitFor(() => expect(bar.getAttribute("aria-valuenow")).toBe("100"));
    await waitFor(() => expect(onError).toHaveBeenCalledWith("Not a PDF", expect.objectContaining({ id: "p2" })));
    expect(onComplete).toHaveBeenCalledTimes(1);
    expect(onComplete.mock.calls[0][0]).toEqual({ doc: 1 });
    expect(screen.getByRole("alert").textContent).toBe("Not a PDF");
  });
});

describe("JobProgressModal", () => {
  function Page({ onComplete }: { onComplete: () => void }) {
    const [jobId, setJobId] = useState<string | null>("m1");
    return (
      <>
        <button type="button">outside</button>
        <JobProgressModal jobId={jobId} onClose={() => setJobId(null)} onComplete={onComplete} title="Uploading Material" closeDelay={10} />
      </>
    );
  }

  it("traps focus, closes itself on completion and on Esc", async () => {
    api.set(makeJob({ id: "m1", status: "processing" }), "job.processing", true);
    const onComplete = vi.fn();
    const { client } = renderWith(api, <Page onComplete={onComplete} />);
    const dialog = screen.getByRole("dialog", { name: "Uploading Material" });
    const close = within(dialog).getByRole("button", { name: "Close" });
    expect(document.activeElement).toBe(close);
    fireEvent.keyDown(close, { key: "Tab" });
    expect(document.activeElement).toBe(close); // the only focusable element: focus stays
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => api.set(makeJob({ id: "m1", status: "completed", progress: 100 }), "job.completed"));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(onComplete).toHaveBeenCalledTimes(1);
  });

  it("stays open on failure with the error, and Esc closes it", async () => {
    api.set(makeJob({ id: "m1", status: "failed", error_message: "The PDF is encrypted" }), "job.failed", true);
    renderWith(api, <Page onComplete={vi.fn()} />);
    await screen.findByText("The PDF is encrypted");
    expect(screen.getByRole("dialog")).toBeTruthy();
    fireEvent.keyDown(screen.getByRole("dialog"), { key: "Escape" });
    expect(screen.queryByRole("dialog")).toBeNull();
  });
});

describe("notifications", () => {
  it("dismisses itself after 5 s", () => {
    vi.useFakeTimers();
    const onDismiss = vi.fn();
    const job = makeJob({ id: "t", status: "completed" });
    render(<JobNotification job={job} onDismiss={onDismiss} />);
    expect(screen.getByRole("status").textContent).toContain("Upload completed");
    act(() => vi.advanceTimersByTime(4999));
    expect(onDismiss).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(1));
    expect(onDismiss).toHaveBeenCalledWith(job);
  });

  it("stacks a toast per job that ends and removes each after its time", async () => {
    const { client } = renderWith(api, <JobNotificationContainer duration={1500} />);
    await waitFor(() => expect(client.mode).toBe("push"));
    act(() => {
      api.set(makeJob({ id: "a", status: "completed" }), "job.completed");
      api.set(makeJob({ id: "b", type: "lesson_generation", status: "failed", error_message: "No model" }), "job.failed");
      api.set(makeJob({ id: "c", status: "processing" }), "job.processing");
    });
    await screen.findByText("Upload completed");
    expect(screen.getByRole("alert").textContent).toContain("Lesson failed: No model");
    expect(document.querySelectorAll(".ujr-toast")).toHaveLength(2);
    await waitFor(() => expect(document.querySelectorAll(".ujr-toast")).toHaveLength(0));
  });
});

describe("JobQueuePanel", () => {
  it("filters by type and status, cancels, retries, and closes on Esc", async () => {
    api.set(makeJob({ id: "u1", status: "processing", created_at: "2026-11-30T10:00:01Z" }), "job.created", true);
    api.set(makeJob({ id: "l1", type: "lesson_generation", status: "failed", created_at: "2026-11-30T10:00:02Z" }), "job.created", true);
    const onClose = vi.fn();
    const { client } = renderWith(api, <JobQueuePanel isOpen onClose={onClose} />);
    const panel = screen.getByRole("dialog", { name: "Jobs" });
    await waitFor(() => expect(panel.querySelectorAll("li.ujr-job")).toHaveLength(2));
    await waitFor(() => expect(client.mode).toBe("push"));
    fireEvent.change(within(panel).getByLabelText("Type"), { target: { value: "material_upload" } });
    await waitFor(() => expect(panel.querySelectorAll("li.ujr-job")).toHaveLength(1));
    fireEvent.click(within(panel).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(panel.querySelector("li[data-job-id=u1]")?.getAttribute("data-status")).toBe("cancelled"));
    fireEvent.change(within(panel).getByLabelText("Type"), { target: { value: "" } });
    fireEvent.change(within(panel).getByLabelText("Status"), { target: { value: "failed" } });
    await waitFor(() => expect([...panel.querySelectorAll("li.ujr-job")].map((li) => li.getAttribute("data-job-id"))).toEqual(["l1"]));
    fireEvent.click(within(panel).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(api.jobs.has("l1-retry")).toBe(true));
    fireEvent.keyDown(panel, { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
  });
});
