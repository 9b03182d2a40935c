import { useCallback, useEffect, useState, type ReactNode } from "react";
import { useJobEvents } from "./hooks";
import { cx } from "./JobProgress";
import type { Job, JobEvent, JobStatus, JobType } from "./types";

const LABELS: Record<string, string> = {
  material_upload: "Upload",
  lesson_generation: "Lesson",
  check_in_evaluation: "Check-in",
  check_in_reminder: "Check-in reminder",
  notification: "Email notification",
};

/** A job type as people read it ("Upload", "Lesson", "Check-in"; others as they are). */
export const jobLabel = (type: JobType): string => LABELS[type] ?? type.replace(/_/g, " ");

export interface JobNotificationProps {
  job: Job;
  onDismiss?: (job: Job) => void;
  /** Dismisses itself after this many ms (default 5000); 0 keeps it. */
  duration?: number;
  /** The toast's text; default "Upload completed" / "Upload failed: why". */
  children?: ReactNode;
  className?: string;
}

function defaultText(job: Job): string {
  const name = jobLabel(job.type);
  if (job.status === "completed") return `${name} completed`;
  if (job.status === "cancelled") return `${name} cancelled`;
  return `${name} failed${job.error_message ? `: ${job.error_message}` : ""}`;
}

/** A toast for a job that ended. */
export function JobNotification({ job, onDismiss, duration = 5000, children, className }: JobNotificationProps) {
  useEffect(() => {
    if (!duration) return;
    const timer = setTimeout(() => onDismiss?.(job), duration);
    return () => clearTimeout(timer);
  }, [job, duration, onDismiss]);
  const ok = job.status === "completed";
  return (
    <div className={cx("ujr-toast", `ujr-toast-${job.status}`, className)} role={ok ? "status" : "alert"} data-job-id={job.id}>
      <span className="ujr-toast-text">{children ?? defaultText(job)}</span>
      <button type="button" className="ujr-close" aria-label="Dismiss" onClick={() => onDismiss?.(job)}>
        ×
      </button>
    </div>
  );
}

export interface JobNotificationContainerProps {
  /** Which endings get a toast (default completed and failed). */
  statuses?: readonly JobStatus[];
  /** Only these job types (default all). */
  types?: readonly JobType[];
  duration?: number;
  /** At most this many toasts at once; the oldest goes first (default 5). */
  max?: number;
  /** Custom text per job. */
  render?: (job: Job) => ReactNode;
  className?: string;
}

const ENDINGS = new Set<JobEvent["type"]>(["job.completed", "job.failed", "job.cancelled"]);

/** Stacks a toast for every job that ends (from the stream, or a poll while it is down). */
export function JobNotificationContainer({
  statuses = ["completed", "failed"],
  types,
  duration = 5000,
  max = 5,
  render,
  className,
}: JobNotificationContainerProps) {
  const [toasts, setToasts] = useState<Job[]>([]);
  useJobEvents((event) => {
    const job = event.job;
    if (!ENDINGS.has(event.type) || !statuses.includes(job.status)) return;
    if (types && !types.includes(job.type)) return;
    setToasts((list) => (list.some((item) => item.id === job.id) ? list : [...list, job].slice(-max)));
  });
  const dismiss = useCallback((job: Job) => setToasts((list) => list.filter((item) => item.id !== job.id)), []);
  return (
    <div className={cx("ujr-toasts", className)} aria-live="polite">
      {toasts.map((job) => (
        <JobNotification key={job.id} job={job} duration={duration} onDismiss={dismiss}>
          {render?.(job)}
        </JobNotification>
      ))}
    </div>
  );
}
