import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from "react";
import { useJob } from "./hooks";
import type { Job } from "./types";

export const cx = (...names: (string | false | null | undefined)[]): string => names.filter(Boolean).join(" ");

export interface JobProgressProps {
  jobId: string | null | undefined;
  /** Called once, with the job's result, when it completes. */
  onComplete?: (result: Record<string, unknown> | null, job: Job) => void;
  /** Called once, with the message, when it fails, is cancelled or cannot be read. */
  onError?: (error: string, job: Job | null) => void;
  pollingInterval?: number;
  /** The progress bar's accessible name. */
  label?: string;
  className?: string;
}

/** Calls onComplete / onError once per job when it ends. */
function useEndCallbacks(
  jobId: string | null | undefined,
  job: Job | null,
  error: string | null,
  onComplete?: JobProgressProps["onComplete"],
  onError?: JobProgressProps["onError"],
): void {
  const told = useRef<string | null>(null);
  const callbacks = useRef({ onComplete, onError });
  callbacks.current = { onComplete, onError };
  useEffect(() => {
    if (!jobId || told.current === jobId) return;
    if (job?.status === "completed") {
      told.current = jobId;
      callbacks.current.onComplete?.(job.result_data, job);
    } else if (error && (!job || job.status === "failed" || job.status === "cancelled")) {
      told.current = jobId;
      callbacks.current.onError?.(error, job);
    }
  }, [jobId, job, error]);
}

/** A job's progress: ARIA progressbar, percentage, message, error. */
export function JobProgress({ jobId, onComplete, onError, pollingInterval, label, className }: JobProgressProps) {
  const { job, status, progress, message, error } = useJob({ jobId, pollingInterval });
  useEndCallbacks(jobId, job, error, onComplete, onError);
  if (!jobId) return null;
  return (
    <div className={cx("ujr-progress", className)} data-status={status ?? "loading"}>
      <div
        className="ujr-progress-bar"
        role="progressbar"
        aria-label={label ?? "Job progress"}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress}
        aria-valuetext={message ? `${progress}% ${message}` : `${progress}%`}
      >
        <div className="ujr-progress-fill" style={{ width: `${progress}%` }} />
      </div>
      <div className="ujr-progress-text">
        <span className="ujr-progress-percent">{progress}%</span>
        {message && <span className="ujr-progress-message"> {message}</span>}
      </div>
      {error && (
        <div className="ujr-progress-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

export interface JobProgressModalProps extends JobProgressProps {
  /** Called when the modal should close: completion (after `closeDelay`), Esc or the close button. */
  onClose?: () => void;
  title?: ReactNode;
  /** Close by itself when the job completes (default true); a failure stays open to show the error. */
  closeOnComplete?: boolean;
  /** How long the full bar stays visible before the modal closes itself (ms, default 1000). */
  closeDelay?: number;
}

const FOCUSABLE = 'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])';

/** Keeps Tab and Shift+Tab inside `root`. */
export function trapFocus(event: KeyboardEvent<HTMLElement>, root: HTMLElement | null): void {
  if (event.key !== "Tab" || !root) return;
  const items = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((item) => !item.hasAttribute("disabled"));
  if (!items.length) return event.preventDefault();
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/** Focuses `ref` on mount and gives focus back to what had it on unmount. */
export function useFocusReturn(ref: { current: HTMLElement | null }, active: boolean): void {
  useEffect(() => {
    if (!active) return;
    const before = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    return () => before?.focus?.();
  }, [ref, active]);
}

/** A dialog over the page while a job runs; closes itself when it completes. */
export function JobProgressModal({
  jobId,
  onClose,
  onComplete,
  onError,
  title = "Working…",
  closeOnComplete = true,
  closeDelay = 1000,
  className,
  ...rest
}: JobProgressModalProps) {
  const titleId = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const close = useRef<HTMLButtonElement>(null);
  const closing = useRef<ReturnType<typeof setTimeout>>(undefined);
  useFocusReturn(close, !!jobId);
  useEffect(() => () => clearTimeout(closing.current), [jobId]);
  if (!jobId) return null;
  const completed = (result: Record<string, unknown> | null, job: Job) => {
    onComplete?.(result, job);
    if (closeOnComplete) closing.current = setTimeout(() => onClose?.(), closeDelay);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose?.();
    } else trapFocus(event, dialog.current);
  };
  return (
    <div className={cx("ujr-modal-backdrop", className)}>
      <div
        ref={dialog}
        className="ujr-modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onKeyDown={onKeyDown}
      >
        <div className="ujr-modal-header">
          <h2 id={titleId} className="ujr-modal-title">
            {title}
          </h2>
          <button ref={close} type="button" className="ujr-close" aria-label="Close" onClick={() => onClose?.()}>
            ×
          </button>
        </div>
        <JobProgress jobId={jobId} onComplete={completed} onError={onError} label={typeof title === "string" ? title : undefined} {...rest} />
      </div>
    </div>
  );
}
