// The onnx backend on the tiny models: raw prompts in, exact greedy ids out (PyTorch's, from
// reference_generations.json), stop ids and length limits reported as finish reasons.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runTs } from '../helpers/processes';

const out = path.join(ROOT, 'models', 'out');
const reference = JSON.parse(fs.readFileSync(path.join(out, 'reference_generations.json'), 'utf8'));

test('greedy ids equal PyTorch for the text LM (single, left-padded batch) and Qwen2-VL with an image; stop ids end generation', async () => {
  const { stdout } = await runTs('tests/helpers/onnx-backend-run.ts', [out]);
  const r = JSON.parse(stdout);
  const text = reference['qwen2-tiny'];
  expect(r.identity).toMatch(/^onnx:[0-9a-f]{64}$/);
  expect(r.again).toBe(true); // one load per process
  expect(r.single[0].outputIds).toEqual(text.generated_ids[0]);
  expect(r.single[0]).toMatchObject({ finishReason: 'length', promptTokens: text.prompt_ids[0].length, completionTokens: 16 });
  expect(r.batch.map((x: { outputIds: number[] }) => x.outputIds)).toEqual(text.batch_generated_ids);
  // Stopping on the third generated token: two tokens of text, the stop token counted but not shown.
  expect(r.stop[0]).toMatchObject({ finishReason: 'stop', outputIds: text.generated_ids[0].slice(0, 2), completionTokens: 3 });
  // A stop on the very first token is an empty answer (an adapted model may answer so), streamed as nothing.
  expect(r.stopAtOnce[0]).toMatchObject({ text: '', finishReason: 'stop', outputIds: [], completionTokens: 1 });
  expect(r.streamed).toEqual([]);
  const vl = reference['qwen2vl-tiny'];
  expect(r.vision[0].promptTokens).toBe(vl.prompt_ids.length);
  expect(r.vision[0].outputIds).toEqual(vl.generated_ids[0]);
}, 120_000);
