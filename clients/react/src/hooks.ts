import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { JobsApiError, type JobListQuery } from "./client";
import { useJobsClient } from "./context";
import { isFinal, type ConnectionMode, type Job, type JobAccepted, type JobEvent, type JobStatus } from "./types";

export interface UseJobOptions {
  jobId: string | null | undefined;
  /** Polling interval (ms) for this job while the stream is down. */
  pollingInterval?: number;
}

export interface UseJobResult {
  job: Job | null;
  status: JobStatus | null;
  progress: number;
  message: string | null;
  result: Record<string, unknown> | null;
  /** Why the job failed or was cancelled, or why it could not be read (unknown id…). */
  error: string | null;
  isLoading: boolean;
  isFinal: boolean;
  cancel: () => Promise<void>;
  retry: () => Promise<JobAccepted>;
}

function messageOf(error: unknown, jobId: string): string {
  if (error instanceof JobsApiError && error.status === 404) return `No job ${jobId} (unknown id, or not yours).`;
  return error instanceof Error ? error.message : String(error);
}

export function errorOf(job: Job | null): string | null {
  if (job?.status === "failed") return job.error_message ?? "The job failed.";
  if (job?.status === "cancelled") return job.error_message ?? "The job was cancelled.";
  return null;
}

/** One job, live: its state from the shared stream (or polling while the stream is down).
 * `useJob({ jobId, pollingInterval })`, or `useJob(jobId)`. */
export function useJob(options: UseJobOptions | string | null | undefined): UseJobResult {
  const { jobId, pollingInterval } = typeof options === "object" && options ? options : { jobId: options, pollingInterval: undefined };
  const client = useJobsClient();
  const [job, setJob] = useState<Job | null>(() => (jobId ? client.jobs.get(jobId) ?? null : null));
  const [readError, setReadError] = useState<string | null>(null);
  useEffect(() => {
    setJob(jobId ? client.jobs.get(jobId) ?? null : null);
    setReadError(null);
    if (!jobId) return;
    let live = true;
    const off = client.subscribe((event) => {
      if (event.job.id === jobId) setJob(event.job);
    });
    const unwatch = client.watch(jobId, pollingInterval);
    client.getJob(jobId).then(
      (found) => live && setJob(found),
      (error: unknown) => live && setReadError(messageOf(error, jobId)),
    );
    return () => {
      live = false;
      off();
      unwatch();
    };
  }, [client, jobId, pollingInterval]);
  const current = job && job.id === jobId ? job : null;
  const cancel = useCallback(() => (jobId ? client.cancel(jobId) : Promise.resolve()), [client, jobId]);
  const retry = useCallback(
    () => (jobId ? client.retry(jobId) : Promise.reject(new Error("no job to retry"))),
    [client, jobId],
  );
  return {
    job: current,
    status: current?.status ?? null,
    progress: current?.progress ?? 0,
    message: current?.progress_message ?? null,
    result: current?.result_data ?? null,
    error: errorOf(current) ?? readError,
    isLoading: !!jobId && !current && !readError,
    isFinal: isFinal(current),
    cancel,
    retry,
  };
}

/** Every job event of the provider's stream (and polls that find a job ended). */
export function useJobEvents(callback: (event: JobEvent) => void): void {
  const client = useJobsClient();
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(() => client.subscribe((event) => latest.current(event)), [client]);
}

/** "push" (live stream), "polling" (stream down), "connecting" or "idle". */
export function useConnectionMode(): ConnectionMode {
  const client = useJobsClient();
  return useSyncExternalStore(
    (notify) => client.onMode(notify),
    () => client.mode,
    () => "idle",
  );
}

export interface UseJobListOptions extends Omit<JobListQuery, "cursor"> {}

export interface UseJobListResult {
  jobs: Job[];
  isLoading: boolean;
  error: string | null;
  hasMore: boolean;
  loadMore: () => Promise<void>;
  refresh: () => Promise<void>;
}

const newestFirst = (a: Job, b: Job): number => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0);

/** The caller's jobs, newest first, live; `loadMore` reads the next page (`next_cursor`). */
export function useJobList({ status, type, limit = 20 }: UseJobListOptions = {}): UseJobListResult {
  const client = useJobsClient();
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [isLoading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);
  const shown = useRef(0);
  shown.current = jobs.length;

  const refresh = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const page = await client.listJobs({ status, type, limit: Math.min(100, Math.max(limit, shown.current)) });
      if (mine !== generation.current) return;
      setJobs(page.jobs);
      setCursor(page.next_cursor);
      setError(null);
    } catch (caught) {
      if (mine === generation.current) setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [client, status, type, limit]);

  useEffect(() => {
    setJobs([]);
    setLoading(true);
    shown.current = 0;
    void refresh();
    return client.onPoll(() => void refresh());
  }, [client, refresh]);

  const matches = useCallback(
    (job: Job) => (!status || job.status === status) && (!type || job.type === type),
    [status, type],
  );
  useJobEvents(
    useCallback(
      (event: JobEvent) =>
        setJobs((list) => {
          const at = list.findIndex((job) => job.id === event.job.id);
          if (at >= 0) {
            const next = [...list];
            if (matches(event.job)) next[at] = event.job;
            else next.splice(at, 1);
            return next;
          }
          if (!matches(event.job) || event.type === "job.polled") return list;
          const oldest = list[list.length - 1];
          // A job older than the last one shown belongs to a page not loaded yet.
          if (cursor && oldest && newestFirst(event.job, oldest) > 0) return list;
          return [...list, event.job].sort(newestFirst);
        }),
      [matches, cursor],
    ),
  );

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const mine = generation.current;
    try {
      const page = await client.listJobs({ status, type, limit, cursor });
      if (mine !== generation.current) return;
      setJobs((list) => {
        const known = new Set(list.map((job) => job.id));
        return [...list, ...page.jobs.filter((job) => !known.has(job.id))];
      });
      setCursor(page.next_cursor);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  }, [client, status, type, limit, cursor]);

  return { jobs, isLoading, error, hasMore: cursor !== null, loadMore, refresh };
}
