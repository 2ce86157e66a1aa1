// The tiny models the repository builds (scripts/build-models.sh): the build itself checks
// ONNX against PyTorch first-step logits (max |Δ| < 1e-3, or it fails); here transformers.js
// loads the ONNX folders and its greedy ids must equal PyTorch's (reference_generations.json).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const out = path.join(root, 'models', 'out');

test('transformers.js reproduces PyTorch greedy generation on the tiny Qwen2-VL and Qwen2', async () => {
  expect(fs.existsSync(path.join(out, 'reference_generations.json'))).toBe(true);
  for (const f of ['qwen2vl-tiny/onnx/vision_encoder.onnx', 'qwen2vl-tiny/onnx/embed_tokens.onnx', 'qwen2vl-tiny/onnx/decoder_model_merged.onnx', 'qwen2-tiny/onnx/model.onnx']) {
    expect(fs.existsSync(path.join(out, f))).toBe(true);
  }
  const { stdout } = await exec(process.execPath, [path.join(root, 'models', 'check_transformersjs.mjs'), out], { cwd: root });
  expect(stdout).not.toContain('MISMATCH');
  expect(stdout).toContain('MATCH    qwen2vl-tiny greedy ids, batch 1');
  expect(stdout).toContain('MATCH    qwen2-tiny greedy ids, left-padded batch 2');
  expect(stdout).toContain('All transformers.js outputs match PyTorch.');
}, 120_000);
