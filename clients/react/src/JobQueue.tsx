import { useCallback, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { useJobsClient } from "./context";
import { useJobList } from "./hooks";
import { jobLabel } from "./JobNotification";
import { cx, trapFocus, useFocusReturn } from "./JobProgress";
import { isFinal, type Job, type JobStatus, type JobType, type KnownJobType } from "./types";

const STATUSES: JobStatus[] = ["pending", "processing", "completed", "failed", "cancelled"];
const TYPES: KnownJobType[] = [
  "material_upload",
  "lesson_generation",
  "check_in_evaluation",
  "check_in_reminder",
  "notification",
];

export interface JobQueueProps {
  /** Initial filters (the user can change them when `showFilters`). */
  status?: JobStatus | null;
  type?: JobType | null;
  limit?: number;
  showFilters?: boolean;
  /** Job types offered in the filter (default the three study types). */
  types?: readonly JobType[];
  onSelect?: (job: Job) => void;
  /** Extra content per job (a link to its result…). */
  renderJob?: (job: Job) => ReactNode;
  className?: string;
}

/** Cancel and retry for one job row, with its pending state and error. */
function useRowActions(jobId: string) {
  const client = useJobsClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  }, []);
  return {
    busy,
    error,
    cancel: () => void run(() => client.cancel(jobId)),
    retry: () => void run(() => client.retry(jobId)),
  };
}

function JobRow({ job, onSelect, extra }: { job: Job; onSelect?: (job: Job) => void; extra?: ReactNode }) {
  const { cancel, retry, busy, error } = useRowActions(job.id);
  return (
    <li className="ujr-job" data-status={job.status} data-job-id={job.id}>
      <button type="button" className="ujr-job-name" onClick={() => onSelect?.(job)} disabled={!onSelect}>
        {jobLabel(job.type)}
      </button>
      <span className="ujr-job-status">{job.status}</span>
      {!isFinal(job) && (
        <span className="ujr-job-progress" role="progressbar" aria-label={`${jobLabel(job.type)} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={job.progress}>
          {job.progress}%{job.progress_message ? ` ${job.progress_message}` : ""}
        </span>
      )}
      {job.status === "failed" && job.error_message && <span className="ujr-job-error">{job.error_message}</span>}
      <time className="ujr-job-time" dateTime={job.created_at}>
        {new Date(job.created_at).toLocaleTimeString()}
      </time>
      {!isFinal(job) && (
        <button type="button" className="ujr-job-cancel" disabled={busy} onClick={cancel}>
          Cancel
        </button>
      )}
      {(job.status === "failed" || job.status === "cancelled") && (
        <button type="button" className="ujr-job-retry" disabled={busy} onClick={retry}>
          Retry
        </button>
      )}
      {error && <span role="alert" className="ujr-job-error">{error}</span>}
      {extra}
    </li>
  );
}

/** The caller's jobs, live, with type and status filters, cancel and retry. */
export function JobQueue({
  status = null,
  type = null,
  limit = 20,
  showFilters = true,
  types = TYPES,
  onSelect,
  renderJob,
  className,
}: JobQueueProps) {
  const [statusFilter, setStatus] = useState<JobStatus | null>(status);
  const [typeFilter, setType] = useState<JobType | null>(type);
  const { jobs, isLoading, error, hasMore, loadMore } = useJobList({ status: statusFilter, type: typeFilter, limit });
  return (
    <div className={cx("ujr-queue", className)}>
      {showFilters && (
        <div className="ujr-queue-filters">
          <label>
            Type{" "}
            <select value={typeFilter ?? ""} onChange={(event) => setType(event.target.value || null)}>
              <option value="">all</option>
              {types.map((name) => (
                <option key={name} value={name}>
                  {jobLabel(name)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status{" "}
            <select value={statusFilter ?? ""} onChange={(event) => setStatus((event.target.value || null) as JobStatus | null)}>
              <option value="">all</option>
              {STATUSES.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {error && <p role="alert" className="ujr-queue-error">{error}</p>}
      {!isLoading && !jobs.length && !error && <p className="ujr-queue-empty">No jobs.</p>}
      <ul className="ujr-queue-list">
        {jobs.map((job) => (
          <JobRow key={job.id} job={job} onSelect={onSelect} extra={renderJob?.(job)} />
        ))}
      </ul>
      {hasMore && (
        <button type="button" className="ujr-queue-more" onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </div>
  );
}

export interface JobQueuePanelProps extends JobQueueProps {
  isOpen: boolean;
  onClose: () => void;
  title?: ReactNode;
  panelClassName?: string;
}

/** The job queue as a slide-out panel, from any page; Esc or the close button closes it. */
export function JobQueuePanel({ isOpen, onClose, title = "Jobs", panelClassName, ...queue }: JobQueuePanelProps) {
  const panel = useRef<HTMLElement>(null);
  const close = useRef<HTMLButtonElement>(null);
  useFocusReturn(close, isOpen);
  if (!isOpen) return null;
  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.key === "Escape") onClose();
    else trapFocus(event, panel.current);
  };
  return (
    <aside ref={panel} className={cx("ujr-panel", panelClassName)} role="dialog" aria-modal="true" aria-label={typeof title === "string" ? title : "Jobs"} onKeyDown={onKeyDown}>
      <div className="ujr-panel-header">
        <h2 className="ujr-panel-title">{title}</h2>
        <button ref={close} type="button" className="ujr-close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <JobQueue {...queue} />
    </aside>
  );
}
