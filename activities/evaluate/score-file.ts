// Scores a predictions file (JSONL: the benchmark row's fields plus `pred`) in one streaming
// pass, exactly as the paper's code scores it. Used by `adamllm score` and the evaluate stage.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import readline from 'node:readline';
import { Aggregator, type EvalRow, type EvalTask, type RowScore, type ScoreOptions } from '../../core/eval/tasks';

export interface ScoreReport {
  task: string;
  /** the paper's keys and scale (percentages) */
  metrics: Record<string, number | null>;
  /** rows without a prediction (scored 0, kept in test_num) */
  missing: number;
  /** multiple-choice rows resolved by the seeded random fallback */
  random: number;
  /** ROUGE-L rows the original would have crashed on (scored 0) */
  errors: number;
  f1Convention?: string;
}

export class PredictionFileError extends Error {}

export interface ScoreFileOptions extends ScoreOptions {
  perRowFile?: string;
  /** called in row order with each row and its score (e.g. to record predictions) */
  onRow?: (row: EvalRow, score: RowScore) => Promise<void> | void;
}

export async function scoreFile(task: EvalTask, file: string, o: ScoreFileOptions): Promise<ScoreReport> {
  const agg = new Aggregator();
  const out: WriteStream | undefined = o.perRowFile ? createWriteStream(o.perRowFile) : undefined;
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let position = 0;
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      let row: EvalRow;
      try {
        row = JSON.parse(line);
      } catch (e) {
        throw new PredictionFileError(`${file}:${lineNo}: invalid JSON (${(e as Error).message})`);
      }
      const missing = task.fields.filter((f) => f !== 'input' && !(f in row));
      if (missing.length) throw new PredictionFileError(`${file}:${lineNo}: missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for ${task.name}`);
      const index = typeof row.index === 'number' ? row.index : position;
      position++;
      let s;
      try {
        s = task.scoreRow(row, index, o);
      } catch (e) {
        throw new PredictionFileError(`${file}:${lineNo}: ${(e as Error).message}`);
      }
      agg.add(s);
      if (o.onRow) await o.onRow(row, s);
      if (out && !out.write(`${JSON.stringify(s)}\n`)) await once(out, 'drain');
    }
  } finally {
    if (out) {
      out.end();
      await once(out, 'finish');
    }
  }
  return {
    task: task.name,
    metrics: task.aggregate(agg),
    missing: agg.missing,
    random: agg.random,
    errors: agg.errors,
    ...(task.name === 'FoodSeg103' ? { f1Convention: o.f1Convention } : {}),
  };
}
