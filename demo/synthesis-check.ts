// `demo --synthesizer-vllm`'s check: the trained synthesizer over the world's domain pairs twice,
// in-process (onnx backend) and through the served synthesizer (vLLM), each an adaptDomain run of
// ingest and synthesize alone with the arms' synthesis settings, then compared slide by slide
// from the SynthTask rows in Postgres: the same parsed task (question and both answers, or the
// same reason for none), and the same raw output. Same weights, greedy: what differs is the
// engine, so every difference is a contract to look at.
import type { TRunSpecInput } from '../core/spec';
import type { Db } from '../activities/db/client';
import { modelSynthesisStage, type DemoModels } from './arms';
import type { WorldSize } from './sizes';

/** The world's domain pairs and the synthesizer of one side of the check (served or in-process). */
export interface SynthesisCheckInputs {
  domainPairs: string;
  domainImageRoot: string;
  size: WorldSize;
  synthesizer: DemoModels['synthesizer'];
}

/** The adaptDomain spec of one side: the arms' synthesize stage on the domain pairs, nothing after it. */
export function synthesisCheckSpec(x: SynthesisCheckInputs): TRunSpecInput {
  const side = x.synthesizer.served ? `through ${x.synthesizer.served.baseUrl}` : 'in-process';
  return {
    version: 1,
    domain: 'slides',
    description: `adamllm demo world, synthesis check: the trained synthesizer ${side}`,
    dataset: { format: 'sharegpt', path: x.domainPairs, imageRoot: x.domainImageRoot },
    pipeline: ['ingest', 'synthesize'],
    stages: {
      ingest: { retry: { maximumAttempts: 2, initialIntervalSeconds: 1 }, shardSize: 256 },
      synthesize: modelSynthesisStage(x.synthesizer, x.size),
    },
  };
}

/** One slide's synthesis, as compared. */
interface SlideSynthesis {
  synId: number;
  status: string;
  reason: string | null;
  question: string | null;
  informative: string | null;
  precise: string | null;
  raw: string;
}

export interface SynthesisComparison {
  slides: number;
  inProcess: { runId: string; parsed: number };
  served: { runId: string; parsed: number };
  /** slides with the same status and the same parsed task (or the same reason for none) */
  sameTasks: number;
  /** slides whose raw outputs are equal */
  sameRaw: number;
  /** the first few slides that differ, both sides */
  differences: { synId: number; inProcess: SlideSynthesis; served: SlideSynthesis }[];
}

/**
 * vLLM holds back the bytes of a character cut at the token budget; transformers.js writes U+FFFD
 * for them. Neither is text the model finished, so neither counts as a difference.
 */
const uncut = (s: string | null) => (s ?? '').replace(/\uFFFD+$/, '');

async function slides(db: Db, runId: string): Promise<SlideSynthesis[]> {
  const rows = await db.synthTask.findMany({
    where: { runId },
    select: { synId: true, status: true, reason: true, question: true, informative: true, precise: true, rawOutput: true },
    orderBy: { synId: 'asc' },
  });
  return rows.map(({ rawOutput, ...r }) => ({ ...r, status: String(r.status), raw: uncut(rawOutput) }));
}

const sameTask = (a: SlideSynthesis, b: SlideSynthesis) => a.status === b.status && a.reason === b.reason && a.question === b.question && a.informative === b.informative && a.precise === b.precise;

/** Compares the two runs' SynthTask rows slide by slide (by synId: both runs ingest the same pairs in the same order). */
export async function compareSynthesis(db: Db, inProcessRunId: string, servedRunId: string, keep = 5): Promise<SynthesisComparison> {
  const a = await slides(db, inProcessRunId);
  const b = await slides(db, servedRunId);
  const byId = new Map(b.map((s) => [s.synId, s]));
  if (a.length !== b.length || a.some((s) => !byId.has(s.synId))) throw new Error(`synthesis check: the runs synthesized different slides (${a.length} in-process, ${b.length} served)`);
  let sameTasks = 0;
  let sameRaw = 0;
  const differences: SynthesisComparison['differences'] = [];
  for (const x of a) {
    const y = byId.get(x.synId)!;
    const task = sameTask(x, y);
    if (task) sameTasks++;
    if (x.raw === y.raw) sameRaw++;
    if ((!task || x.raw !== y.raw) && differences.length < keep) differences.push({ synId: x.synId, inProcess: x, served: y });
  }
  const parsed = (xs: SlideSynthesis[]) => xs.filter((s) => s.status === 'OK').length;
  return { slides: a.length, inProcess: { runId: inProcessRunId, parsed: parsed(a) }, served: { runId: servedRunId, parsed: parsed(b) }, sameTasks, sameRaw, differences };
}

/** The check's result in a few lines, for the terminal and the comparison's note. */
export function describeComparison(c: SynthesisComparison, server: string): string[] {
  const lines = [
    `synthesis check, the trained synthesizer in-process and through ${server}, ${c.slides} slides: ${c.inProcess.parsed} and ${c.served.parsed} parsed; the same parsed task (or the same reason for none) for ${c.sameTasks} of ${c.slides}, the same raw output for ${c.sameRaw}`,
  ];
  for (const d of c.differences) lines.push(`  slide ${d.synId}: in-process ${d.inProcess.status} ${JSON.stringify(d.inProcess.raw.slice(0, 120))}; served ${d.served.status} ${JSON.stringify(d.served.raw.slice(0, 120))}`);
  return lines;
}
