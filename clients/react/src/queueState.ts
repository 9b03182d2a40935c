import { useCallback, useState } from "react";
import { useJobsClient } from "./context";
export { useJobList } from "./hooks";

/** Cancel and retry for one job row, with its pending state and error. */
export function useJobsClientActions(jobId: string) {
  const client = useJobsClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (action: () => Promise<unknown>) => {
      setBusy(true);
      setError(null);
      try {
        await action();
      } catch (caught) {
        setError(caught instanceof Error ? caught.message : String(caught));
      } finally {
        setBusy(false);
      }
    },
    [],
  );
  return {
    busy,
    error,
    cancel: () => void run(() => client.cancel(jobId)),
    retry: () => void run(() => client.retry(jobId)),
  };
}
