// What the demo workflow and its followers share (pure: the workflow imports it in its sandbox).

/** The demo's own task queue: its workflow and activities run in the `adamllm demo` process (demo/worker.ts). */
export const DEMO_QUEUE = 'adamllm-demo';

/** The demo workflow's progress query: the lines it has said so far, and the child run it waits on. */
export interface DemoProgress {
  status: 'running' | 'succeeded';
  lines: string[];
  /** the child run going now; its own progress query tells its stages */
  current?: { workflowId: string; workflowType: string; label: string };
}
