import { render, type RenderResult } from "@testing-library/react";
import type { ReactNode } from "react";
import { JobsClient } from "../src/client";
import { JobsProvider } from "../src/context";
import type { FakeApi } from "./server";

/** Renders `ui` under a provider whose client talks to `api`; polls every 50 ms. */
export function renderWith(api: FakeApi, ui: ReactNode, options: { pollingInterval?: number } = {}) {
  const client = new JobsClient({
    baseUrl: api.base,
    userId: "alice",
    pollingInterval: options.pollingInterval ?? 50,
    reconnectDelays: [100],
  });
  const view: RenderResult = render(<JobsProvider client={client}>{ui}</JobsProvider>);
  return { client, view };
}
