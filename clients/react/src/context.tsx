import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { JobsClient, type JobsClientOptions } from "./client";

const JobsContext = createContext<JobsClient | null>(null);

export interface JobsProviderProps extends JobsClientOptions {
  /** A client made elsewhere (shared with non-React code); otherwise one is made from the options. */
  client?: JobsClient;
  children?: ReactNode;
}

/** Shares one JobsClient (one event stream) with every hook and component below it. */
export function JobsProvider({ client, children, ...options }: JobsProviderProps) {
  const { baseUrl, userId, pollingInterval, credentials } = options;
  const [own, setOwn] = useState(() => client ?? new JobsClient(options));
  const active = client ?? own;
  // A new base URL or identity is a new client (a new stream with the new identity).
  useEffect(() => {
    if (!client) setOwn((current) => (sameOptions(current, options) ? current : new JobsClient(options)));
  }, [client, baseUrl, userId, pollingInterval, credentials]);
  useEffect(() => {
    active.start();
    return () => active.stop();
  }, [active]);
  return <JobsContext.Provider value={active}>{children}</JobsContext.Provider>;
}

function sameOptions(client: JobsClient, options: JobsClientOptions): boolean {
  const current = (client as unknown as { options: JobsClientOptions }).options;
  return (["baseUrl", "userId", "pollingInterval", "credentials"] as const).every((key) => current[key] === options[key]);
}

/** The provider's client; throws outside a <JobsProvider>. */
export function useJobsClient(): JobsClient {
  const client = useContext(JobsContext);
  if (!client) throw new Error("Ultudy Jobs hooks and components need a <JobsProvider> above them");
  return client;
}
