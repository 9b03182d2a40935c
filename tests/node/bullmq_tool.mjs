// What a node bullmq tool (Bull Board, Taskforce) reads of our queues, and the actions it
// takes on them, through node bullmq's own Queue/Job API. Used by
// tests/integration/test_bullmq_parity.py: one JSON command in argv, one JSON answer out.
//   {"redis", "prefix", "queue", "action": "read", "ids": [...]}
//   {"redis", "prefix", "queue", "action": "retry" | "remove" | "promote", "id", "state"?}
import { Job, Queue } from 'bullmq';

const cmd = JSON.parse(process.argv[2]);
const url = new URL(cmd.redis);
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number(url.pathname.slice(1) || 0),
  password: url.password ? decodeURIComponent(url.password) : undefined,
  maxRetriesPerRequest: null,
};
const queue = new Queue(cmd.queue, { connection, prefix: cmd.prefix });

async function read(ids) {
  const jobs = {};
  for (const id of ids) {
    const job = await Job.fromId(queue, id);
    if (!job) {
      jobs[id] = null;
      continue;
    }
    const { logs, count } = await queue.getJobLogs(id);
    jobs[id] = {
      state: await job.getState(),
      progress: job.progress,
      returnvalue: job.returnvalue,
      failedReason: job.failedReason,
      logs,
      logCount: count,
    };
  }
  const workers = (await queue.getWorkers()).map((w) => w.rawname);
  return { jobs, workers, workersCount: await queue.getWorkersCount() };
}

async function act(action, id, state) {
  const job = await Job.fromId(queue, id);
  if (!job) throw new Error(`no job ${id}`);
  if (action === 'retry') await job.retry(state || 'failed');
  else if (action === 'remove') await job.remove();
  else if (action === 'promote') await job.promote();
  else throw new Error(`unknown action ${action}`);
  return { state: await queue.getJobState(id) };
}

try {
  const out = cmd.action === 'read' ? await read(cmd.ids) : await act(cmd.action, cmd.id, cmd.state);
  console.log(JSON.stringify(out));
} finally {
  await queue.close();
}
