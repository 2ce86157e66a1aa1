// `adamllm train-synthesizer <spec>` (the method's step 1) and `adamllm train-model <spec>`:
// validate a model-training spec locally and start the workflow (the same as `temporal workflow
// start --type trainSynthesizer|trainModel`); --wait follows its steps and prints the result.
import fs from 'node:fs';
import type { Command } from 'commander';
import { TASK_QUEUES } from '../../core/stages';
import { parseTrainModelSpec, type TrainModelProgress } from '../../core/train-model-spec';
import { openClient } from '../services';

const say = (s: string) => process.stdout.write(`${s}\n`);

function stepLine(s: TrainModelProgress['stages'][number]): string {
  const counts = s.counts ? ` in ${s.counts.in} → out ${s.counts.out}, filtered ${s.counts.filtered}` : '';
  const error = s.status === 'failed_waiting' ? ` ${s.error?.type ? `[${s.error.type}] ` : ''}${s.error?.message ?? ''}` : '';
  return `  ${s.name.padEnd(8)} ${s.status}${s.attempt > 1 ? ` attempt ${s.attempt}` : ''}${counts}${error}`;
}

async function start(stateDir: string, type: 'trainSynthesizer' | 'trainModel', file: string, o: { workflowId?: string; wait?: boolean }): Promise<void> {
  const input = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (type === 'trainSynthesizer' && input.role !== undefined && input.role !== 'synthesizer') throw new Error(`spec.role: train-synthesizer trains role synthesizer, not ${JSON.stringify(input.role)} (use train-model)`);
  const spec = parseTrainModelSpec(type === 'trainSynthesizer' ? { ...input, role: 'synthesizer' } : input);
  const { client, close } = await openClient(stateDir);
  try {
    const workflowId = o.workflowId ?? `${spec.name.replace(/[/:]/g, '-')}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(type, { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec] });
    say(`started ${type} ${workflowId}`);
    if (!o.wait) return;
    const shown = new Map<string, string>();
    const ticker = setInterval(() => {
      void handle
        .query<TrainModelProgress>('progress')
        .then((p) => {
          for (const s of p.stages) {
            const line = stepLine(s);
            if (shown.get(s.name) !== line) say(line);
            shown.set(s.name, line);
          }
        })
        .catch(() => undefined);
    }, 1000);
    try {
      say(JSON.stringify(await handle.result(), null, 2));
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await close();
  }
}

export function registerTrainModel(program: Command, stateDir: () => string): void {
  program
    .command('train-synthesizer <spec>')
    .description('the method\'s step 1: train a visual instruction synthesizer on general seed tasks (§5.2 set, §5.3 sequence) and register it; starts the trainSynthesizer workflow')
    .option('--workflow-id <id>', 'defaults to <name>-<time>')
    .option('--wait', 'follow the run and print its result (the ONNX folder the synthesize stage takes)')
    .action((file: string, o: { workflowId?: string; wait?: boolean }) => start(stateDir(), 'trainSynthesizer', file, o));
  program
    .command('train-model <spec>')
    .description('train and register a general base model, a synthesizer or a consistency judge (spec.role); starts the trainModel workflow')
    .option('--workflow-id <id>', 'defaults to <name>-<time>')
    .option('--wait', 'follow the run and print its result')
    .action((file: string, o: { workflowId?: string; wait?: boolean }) => start(stateDir(), 'trainModel', file, o));
}
