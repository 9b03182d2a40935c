// The API's shapes, written once. tests/unit/test_react_types.py compares them with the
// API's OpenAPI schema (JobOut, JobList, JobAccepted, JobStatus) and event names, so a
// change on either side that the other does not follow fails the build.

/** A job's state: `pending` (queued, delayed or waiting to retry) → `processing` → one of the final three. */
export type JobStatus = "pending" | "processing" | "completed" | "failed" | "cancelled";

/** The application's job types; the API does not close the list (apps may register more). */
export type KnownJobType =
  | "material_upload"
  | "lesson_generation"
  | "check_in_evaluation"
  | "check_in_reminder"
  | "notification";
export type JobType = KnownJobType | (string & {});

/** A job as `GET /jobs/{id}` answers it: its row, timestamps ISO 8601 UTC. */
export interface Job {
  id: string;
  owner_id: string;
  type: JobType;
  status: JobStatus;
  progress: number;
  progress_message: string | null;
  input_data: Record<string, unknown>;
  result_data: Record<string, unknown> | null;
  error_message: string | null;
  attempts: number;
  max_attempts: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  inline: boolean;
  priority: number;
  run_at: string | null;
  /** Waiting for the jobs it depends on (`depends_on`); it is `pending` meanwhile. */
  blocked?: boolean;
}

/** A page of `GET /jobs`, newest first. */
export interface JobList {
  jobs: Job[];
  next_cursor: string | null;
}

/** What an async endpoint answers (202). */
export interface JobAccepted {
  job_id: string;
}

/** The events of `GET /jobs/events`; each carries the whole job as it is now. */
export type JobEventType =
  | "job.created"
  | "job.waiting"
  | "job.queued"
  | "job.processing"
  | "job.progress"
  | "job.retrying"
  | "job.completed"
  | "job.failed"
  | "job.cancelled";

export interface JobEventData {
  event: JobEventType;
  job: Job;
  /** `job.waiting` only: the jobs it still waits for. */
  waiting_for?: { id: string; type: JobType }[];
}

/** An event as hooks see it: from the stream (with its id), or `job.polled` when the
 * client read the job with `GET /jobs/{id}` (stream down, or first look). */
export interface JobEvent {
  type: JobEventType | "job.polled";
  id: string | null;
  job: Job;
}

/** How the client gets updates now. */
export type ConnectionMode = "idle" | "connecting" | "push" | "polling";

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["completed", "failed", "cancelled"]);
export const JOB_EVENT_TYPES: readonly JobEventType[] = [
  "job.created",
  "job.waiting",
  "job.queued",
  "job.processing",
  "job.progress",
  "job.retrying",
  "job.completed",
  "job.failed",
  "job.cancelled",
];

export const isFinal = (job: Pick<Job, "status"> | null | undefined): boolean =>
  !!job && FINAL_STATUSES.has(job.status);
