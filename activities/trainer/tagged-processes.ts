// Finding a trainer's processes after their launcher is gone. torchrun starts each rank in a
// session of its own (start_new_session), so neither a signal to torchrun's process group nor
// the launcher's death reaches them: a torchrun killed by the OOM killer leaves ranks that go on
// training and writing checkpoints while a retry starts beside them. Every process of one launch
// carries ADAMLLM_TRAINER_TAG=<uuid> in its environment (inherited by ranks and their data loader
// workers), which /proc shows whatever became of their parents. Linux only; elsewhere it finds
// nothing and the trainer's own parent-death check is the only guard.
import fs from 'node:fs';

export const TAG_VAR = 'ADAMLLM_TRAINER_TAG';

interface Proc {
  pid: number;
  ppid: number;
}

function readProc(pid: number): { ppid: number; environ: Buffer } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { ppid, environ: fs.readFileSync(`/proc/${pid}/environ`) };
  } catch {
    return null; // gone, or not ours to read
  }
}

/** Live processes whose environment has the tag. */
export function taggedProcesses(tag: string): Proc[] {
  return processesWithEnv(`${TAG_VAR}=${tag}`);
}

/** Live processes (this one aside) whose environment holds `NAME=value` exactly; zombies, whose environment reads empty, are not among them. */
export function processesWithEnv(entry: string): Proc[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = Buffer.from(`${entry}\0`);
  const out: Proc[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const p = readProc(Number(e));
    if (!p) continue;
    const at = p.environ.indexOf(needle);
    if (at === 0 || (at > 0 && p.environ[at - 1] === 0)) out.push({ pid: Number(e), ppid: p.ppid });
  }
  return out;
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
};

/** SIGKILL to every tagged process (a crash, as the tests simulate one). */
export function killTagged(tag: string): void {
  for (const p of taggedProcesses(tag)) signal(p.pid, 'SIGKILL');
}

/**
 * Stops what is left of a launch: SIGTERM to each tagged process whose parent is not tagged (a
 * rank, not its data loader workers, which its own shutdown ends), so each checkpoints as on a
 * cancel; SIGKILL to whatever is still there after `graceMs`. Resolves with how many were found.
 */
export async function stopTagged(tag: string, graceMs: number, pollMs = 500): Promise<number> {
  const found = taggedProcesses(tag);
  if (found.length === 0) return 0;
  const pids = new Set(found.map((p) => p.pid));
  for (const p of found) if (!pids.has(p.ppid)) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && taggedProcesses(tag).length > 0) await new Promise((r) => setTimeout(r, pollMs));
  killTagged(tag);
  return found.length;
}
