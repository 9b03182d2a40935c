import { useState } from "react";
import { JobNotificationContainer, JobProgress, JobProgressModal, JobQueuePanel, useConnectionMode, useJobsClient } from "@ultudy/jobs-react";

interface Section {
  id: string;
  title: string;
}
interface UploadedDocument {
  document_id: string;
  title: string;
  sections: Section[];
}

// The original design's first example: upload, with the progress modal.
function UploadPage({ onUploaded }: { onUploaded: (document: UploadedDocument) => void }) {
  const client = useJobsClient();
  const [jobId, setJobId] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const handleUpload = async (file: File) => {
    const formData = new FormData();
    formData.append("file", file);
    try {
      const { job_id } = await client.submit("/upload/pdf-structured-async", formData);
      setJobId(job_id);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <section className="page">
      <h1>Upload</h1>
      <input type="file" accept="application/pdf" aria-label="PDF" onChange={(e) => e.target.files?.[0] && handleUpload(e.target.files[0])} />
      {problem && <p role="alert">{problem}</p>}
      <JobProgressModal
        jobId={jobId}
        onClose={() => setJobId(null)}
        onComplete={(result) => onUploaded(result as unknown as UploadedDocument)}
        onError={(error) => setProblem(error)}
        title="Uploading Material"
      />
    </section>
  );
}

// The second: a lesson per section, with inline progress.
function SectionLesson({ documentId, section }: { documentId: string; section: Section }) {
  const client = useJobsClient();
  const [jobId, setJobId] = useState<string | null>(null);
  const [lesson, setLesson] = useState<{ summary?: string } | null>(null);

  const generateLesson = async () => {
    setLesson(null);
    const { job_id } = await client.submit("/lessons/generate-async", { document_id: documentId, section_id: section.id });
    setJobId(job_id);
  };

  return (
    <li className="section" data-section={section.title}>
      <span className="section-title">{section.title}</span>
      <button type="button" onClick={generateLesson}>
        Generate Lesson
      </button>
      {jobId && <JobProgress jobId={jobId} onComplete={(result) => setLesson(result)} />}
      {lesson && <p className="lesson-summary">{lesson.summary}</p>}
    </li>
  );
}

function LearnPage({ document }: { document: UploadedDocument | null }) {
  if (!document) return <p className="page">Upload a PDF first.</p>;
  return (
    <section className="page">
      <h1>{document.title}</h1>
      <ul className="sections">
        {document.sections.map((section) => (
          <SectionLesson key={section.id} documentId={document.document_id} section={section} />
        ))}
      </ul>
    </section>
  );
}

function Live() {
  const mode = useConnectionMode();
  return (
    <span className="live" data-mode={mode}>
      {mode === "push" ? "● live" : mode === "polling" ? "○ polling" : "… connecting"}
    </span>
  );
}

// The third: the layout with the job queue panel, reachable from every page.
export function App({ userId }: { userId: string }) {
  const [showJobs, setShowJobs] = useState(false);
  const [page, setPage] = useState<"upload" | "learn">("upload");
  const [document, setDocument] = useState<UploadedDocument | null>(null);
  return (
    <>
      <header>
        <nav>
          <button type="button" aria-pressed={page === "upload"} onClick={() => setPage("upload")}>
            Upload
          </button>
          <button type="button" aria-pressed={page === "learn"} onClick={() => setPage("learn")}>
            Learn
          </button>
        </nav>
        <span className="user">{userId}</span>
        <Live />
        <button type="button" onClick={() => setShowJobs(true)}>
          View Jobs
        </button>
      </header>
      {page === "upload" ? (
        <UploadPage
          onUploaded={(uploaded) => {
            setDocument(uploaded);
            setPage("learn");
          }}
        />
      ) : (
        <LearnPage document={document} />
      )}
      <JobQueuePanel isOpen={showJobs} onClose={() => setShowJobs(false)} />
      <JobNotificationContainer />
    </>
  );
}
