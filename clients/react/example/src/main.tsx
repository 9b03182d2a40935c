import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { JobsProvider } from "@ultudy/jobs-react";
import "@ultudy/jobs-react/styles.css";
import "./example.css";
import { App } from "./App";

// Where the API is and who we are (dev auth: x-user-id). `?api=…&user=…` override both,
// so that one build runs against any API (the end-to-end tests use that).
const query = new URLSearchParams(location.search);
const apiUrl = query.get("api") ?? import.meta.env.VITE_ULTUDY_API ?? "http://127.0.0.1:8000";
const userId = query.get("user") ?? "dev-user-001";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <JobsProvider baseUrl={apiUrl} userId={userId} pollingInterval={1000}>
      <App userId={userId} />
    </JobsProvider>
  </StrictMode>,
);
