// Page wiring: each page fills its shell from the JSON API and follows its jobs live.
import { ProgressBar, JobList, announceEndings, el, initPanel, progressModal, toast } from "./components.js";
import { api, jobs } from "./jobs.js";
import { adminPage } from "./admin.js";
import { settingsPage } from "./settings.js";

const page = document.body.dataset.page;

function showError(form, error) {
  const box = form.querySelector(".form-error");
  box.textContent = error.message;
  box.hidden = false;
}

async function signinPage() {
  const form = document.getElementById("signin-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = form.querySelector("#signin-value").value.trim();
    const body = form.dataset.auth === "dev" ? { user_id: value } : { token: value };
    try {
      await api("/session", { method: "POST", body: JSON.stringify(body) });
      location.href = "/";
    } catch (error) {
      showError(form, error);
    }
  });
}

async function loadDocuments() {
  const list = document.getElementById("documents");
  const { documents } = await api("/documents");
  list.replaceChildren(...(documents.length ? documents.map((d) => el("li", {},
    el("a", { href: `/documents/${d.id}/view` }, d.title),
    el("span", { class: "muted" }, ` · ${d.page_count} pages · ${d.section_count} sections`)))
    : [el("li", { class: "muted" }, "No documents yet: upload a PDF above.")]));
}

async function libraryPage() {
  await loadDocuments();
  const form = document.getElementById("upload-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".form-error").hidden = true;
    const data = new FormData(form);
    // The upload job starts one lesson job per section when it completes (server side).
    if (form.querySelector("#upload-lessons").checked) {
      data.set("prepare_lessons", form.querySelector("#upload-lesson-count").value || "5");
    }
    try {
      const { job_id: jobId } = await api("/upload/pdf-structured-async", { method: "POST", body: data });
      form.reset();
      progressModal(jobId, "Reading your PDF", () => loadDocuments());
    } catch (error) {
      showError(form, error);
    }
  });
}

async function documentPage() {
  const id = document.body.dataset.documentId;
  const doc = await api(`/documents/${id}`);
  document.getElementById("doc-title").textContent = doc.title;
  const missing = doc.pages_without_text.length
    ? ` · pages without text: ${doc.pages_without_text.join(", ")}` : "";
  document.getElementById("doc-meta").textContent = `${doc.page_count} pages · ${doc.filename}${missing}`;
  const list = document.getElementById("sections");
  list.replaceChildren(...doc.sections.map((section) => sectionItem(doc, section)));
  const remove = document.getElementById("doc-delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete "${doc.title}", its lessons, check-ins and file?`)) return;
    remove.disabled = true;
    try {
      await api(`/documents/${doc.id}`, { method: "DELETE" });
      window.location.href = "/";
    } catch (error) {
      remove.disabled = false;
      toast("error", error.message); // 409: a job still works on it
    }
  });
}

function sectionItem(doc, section) {
  const status = el("div", { class: "section-status" });
  const open = el("a", { href: section.lesson_id ? `/lessons/${section.lesson_id}/view` : "#", class: "btn", hidden: !section.lesson_id }, "Open lesson");
  const button = el("button", { class: "btn primary", "data-generate": section.id }, section.lesson_id ? "Regenerate" : "Generate lesson");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.replaceChildren();
    const bar = new ProgressBar(status, `Lesson for ${section.title}`);
    try {
      const { job_id: jobId } = await api("/lessons/generate-async", { method: "POST",
        body: JSON.stringify({ document_id: doc.id, section_id: section.id }) });
      const stop = jobs.watch(jobId, (job) => {
        bar.set(job);
        if (job.status === "completed" && job.result_data) {
          stop();
          open.href = `/lessons/${job.result_data.lesson_id}/view`;
          open.hidden = false;
          button.disabled = false;
        } else if (job.status === "failed" || job.status === "cancelled") {
          stop();
          button.disabled = false;
        }
      });
    } catch (error) {
      toast("error", error.message);
      button.disabled = false;
    }
  });
  return el("li", { class: `section level-${section.level}` },
    el("div", { class: "section-head" },
      el("span", { class: "section-title" }, section.title),
      el("span", { class: "muted" }, `p. ${section.page_start}–${section.page_end} · ${section.char_count} chars`)),
    el("div", { class: "section-actions" }, button, open), status);
}

function question(q, index) {
  const legend = el("legend", {}, `${index + 1}. ${q.prompt}`);
  if (q.type === "mcq") {
    return el("fieldset", { class: "question", "data-question": q.id }, legend,
      ...q.choices.map((choice, i) => el("label", { class: "choice" },
        el("input", { type: "radio", name: q.id, value: String(i), required: true }), ` ${choice}`)));
  }
  return el("fieldset", { class: "question", "data-question": q.id }, legend,
    el("textarea", { name: q.id, rows: "3", required: true, "aria-label": q.prompt, maxlength: "5000" }));
}

function renderCheckIn(result, lesson) {
  const box = document.getElementById("checkin-result");
  const prompts = Object.fromEntries(lesson.questions.map((q) => [q.id, q.prompt]));
  const rows = result.results.map((r) => {
    const judge = r.verdict === "unsure" && !r.self_assessed ? el("div", { class: "judge" },
      el("p", {}, "Reference answer: ", el("em", {}, r.reference_answer || "")),
      el("button", { class: "btn", onclick: () => selfAssess(result, r, true, lesson) }, "I was right"),
      el("button", { class: "btn ghost", onclick: () => selfAssess(result, r, false, lesson) }, "I was wrong")) : null;
    return el("li", { class: `verdict ${r.verdict}` },
      el("strong", {}, `${r.verdict}${r.self_assessed ? ` (your judgement: ${r.correct ? "right" : "wrong"})` : ""}`),
      ` — ${prompts[r.question_id] || ""}`, el("p", { class: "muted" }, r.feedback), judge);
  });
  const mastery = el("table", { class: "table mastery", "aria-label": "Mastery" },
    el("thead", {}, el("tr", {}, el("th", {}, "Concept"), el("th", {}, "Before"), el("th", {}, "After"))),
    el("tbody", {}, ...result.mastery.map((m) => el("tr", {}, el("td", {}, m.name),
      el("td", {}, `${Math.round(m.before * 100)}%`), el("td", {}, `${Math.round(m.after * 100)}%`)))));
  box.replaceChildren(el("h3", {}, `Score: ${Math.round(result.score * 100)}%`),
    el("ul", { class: "verdicts" }, rows), el("h3", {}, "Mastery"), mastery);
}

async function selfAssess(result, row, correct, lesson) {
  try {
    const updated = await api(`/check-ins/${result.check_in_id}/self-assess`, { method: "POST",
      body: JSON.stringify({ question_id: row.question_id, correct }) });
    renderCheckIn({ ...updated, mastery: updated.mastery.length ? updated.mastery : result.mastery }, lesson);
  } catch (error) {
    toast("error", error.message);
  }
}

async function lessonPage() {
  const id = document.body.dataset.lessonId;
  const lesson = await api(`/lessons/${id}`);
  document.getElementById("lesson-title").textContent = lesson.section_title;
  document.getElementById("lesson-engine").textContent = `Made by ${lesson.engine}`;
  document.getElementById("back-to-doc").href = `/documents/${lesson.document_id}/view`;
  document.getElementById("summary").textContent = lesson.summary;
  document.getElementById("concepts").replaceChildren(...lesson.concepts.flatMap((c) =>
    [el("dt", {}, c.name), el("dd", {}, c.explanation)]));
  const form = document.getElementById("checkin-form");
  form.replaceChildren(...lesson.questions.map(question),
    el("button", { class: "btn primary", type: "submit" }, "Submit answers"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const answers = lesson.questions.map((q) => ({ question_id: q.id,
      answer: q.type === "mcq" ? Number(data.get(q.id)) : String(data.get(q.id) || "") }));
    const progress = document.getElementById("checkin-progress");
    progress.replaceChildren();
    const bar = new ProgressBar(progress, "Grading");
    try {
      const { job_id: jobId } = await api("/check-ins/submit-async", { method: "POST",
        body: JSON.stringify({ lesson_id: lesson.lesson_id, answers }) });
      const stop = jobs.watch(jobId, (job) => {
        bar.set(job);
        if (job.status === "completed" && job.result_data) { stop(); renderCheckIn(job.result_data, lesson); }
      });
    } catch (error) {
      toast("error", error.message);
    }
  });
}

function jobsPage() {
  const root = document.querySelector("main [data-job-list]");
  const list = new JobList(root);
  for (const select of document.querySelectorAll("[data-filter]")) {
    select.addEventListener("change", () => list.setFilter(select.dataset.filter, select.value));
  }
}

function chrome() {
  initPanel();
  announceEndings();
  const live = document.getElementById("live");
  jobs.onMode((mode) => {
    live.textContent = mode === "push" ? "● live" : mode === "polling" ? "○ polling" : "…";
    live.dataset.mode = mode;
  });
  document.getElementById("signout")?.addEventListener("click", async () => {
    await api("/session", { method: "DELETE" });
    location.href = "/signin";
  });
  jobs.start();
}

const pages = { signin: signinPage, library: libraryPage, document: documentPage,
  lesson: lessonPage, jobs: jobsPage, admin: adminPage, settings: settingsPage };
if (page !== "signin") chrome();
// Every page function may be async or not: a plain one's undefined is not a promise.
Promise.resolve().then(() => pages[page]?.()).catch((error) => toast("error", error.message));
