// A small program against the client generated from the API's OpenAPI document
// (`api.d.ts`, by openapi-typescript) through openapi-fetch. It is only type-checked
// (tsc --noEmit): each `@ts-expect-error` line must be an error, so the types are real.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./api";

type JobOut = components["schemas"]["JobOut"];
type JobStatus = components["schemas"]["JobStatus"];
type ErrorOut = components["schemas"]["ErrorOut"];
// What an error answer can be: ours, or FastAPI's request validation error (a 422).
type ApiError = ErrorOut | components["schemas"]["HTTPValidationError"];

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function submitAndWatch(
  documentId: string,
  sectionId: string,
): Promise<JobStatus | ApiError> {
  const accepted = await client.POST("/lessons/generate-async", {
    body: { document_id: documentId, section_id: sectionId },
    params: { query: { priority: 3 } },
  });
  if (accepted.error) {
    return accepted.error; // 401, 403, 413, 422, 429, 503: one error model
  }
  const jobId: string = accepted.data.job_id;
  await client.POST("/lessons/generate-async", {
    // @ts-expect-error: a lesson needs its section
    body: { document_id: documentId },
  });
  const job = await client.GET("/jobs/{job_id}", { params: { path: { job_id: jobId } } });
  if (job.error) {
    return job.error;
  }
  const row: JobOut = job.data;
  const progress: number = row.progress;
  const message: string | null | undefined = row.progress_message;
  void progress;
  void message;
  // @ts-expect-error: a job's status is one of the five, not any string
  const wrong: JobStatus = "exploded";
  void wrong;
  return row.status;
}

export async function operatorView(): Promise<string[]> {
  const list = await client.GET("/jobs", { params: { query: { status: "failed", limit: 50 } } });
  // @ts-expect-error: limit is a number
  await client.GET("/jobs", { params: { query: { limit: "fifty" } } });
  // @ts-expect-error: the path needs its job_id
  await client.GET("/jobs/{job_id}", {});
  const cancelled = await client.POST("/jobs/{job_id}/cancel", {
    params: { path: { job_id: "00000000-0000-0000-0000-000000000000" } },
  });
  const conflict: ApiError | undefined = cancelled.error;
  void conflict;
  return (list.data?.jobs ?? []).map((job) => `${job.id} ${job.status}`);
}

// Operation ids name the operations; probes and metrics answer text.
type GetJob = operations["getJob"];
export type GetJobAnswer = GetJob["responses"][200]["content"]["application/json"];
type Metrics = operations["getMetrics"]["responses"][200]["content"]["text/plain"];
export const metricsAreText = (body: Metrics): string => body;
type Ready = operations["getReadyz"]["responses"][503]["content"]["text/plain"];
export const notReady = (body: Ready): string => body;
