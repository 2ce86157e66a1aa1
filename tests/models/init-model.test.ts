// `python -m adamllm_trainer init-model`: a new Qwen2-VL from a corpus (the CPU demo's world
// starts its general model here). Its tokenizer learns the corpus' words, and the same arguments
// give the same files.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { tempDir } from '../helpers/env';

const ROOT = path.join(__dirname, '..', '..');
const env = { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') };
const run = (args: string[]) => spawnSync(trainerPython(process.env.ADAMLLM_PYTHON), ['-m', 'adamllm_trainer', 'init-model', ...args], { env, encoding: 'utf8' });
const events = (stdout: string) => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

test('init-model: a tokenizer of the corpus, random weights, the same files for the same arguments', () => {
  const dir = tempDir('init-model');
  const corpus = path.join(dir, 'corpus.txt');
  const words = ['lymphocyte', 'neutrophil', 'erythrocyte', 'macrophage'];
  fs.writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => `The ${words[i % 4]} lies in the upper left of the slide.`).join('\n') + '\n');
  const a = run(['--corpus', corpus, '--out', path.join(dir, 'a'), '--vocab-size', '600', '--hidden', '64', '--layers', '1']);
  expect(a.status).toBe(0);
  // a small corpus runs out of merges before 600: the vocabulary is what it could learn
  const init = events(a.stdout).at(-1)!;
  expect(init).toMatchObject({ event: 'init', lines: 200 });
  expect(init.vocab).toBeLessThanOrEqual(600);
  const b = run(['--corpus', corpus, '--out', path.join(dir, 'b'), '--vocab-size', '600', '--hidden', '64', '--layers', '1']);
  expect(b.status).toBe(0);
  for (const f of ['model.safetensors', 'tokenizer.json', 'config.json']) expect(fs.readFileSync(path.join(dir, 'b', f))).toEqual(fs.readFileSync(path.join(dir, 'a', f)));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'a', 'config.json'), 'utf8')) as Record<string, unknown>;
  expect(config).toMatchObject({ hidden_size: 64, num_hidden_layers: 1, vocab_size: init.vocab, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16 });
  // --heads 2: heads of 32, the narrowest vLLM's CPU attention runs
  expect(run(['--corpus', corpus, '--out', path.join(dir, 'c'), '--vocab-size', '600', '--hidden', '64', '--heads', '2', '--layers', '1']).status).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'c', 'config.json'), 'utf8'))).toMatchObject({ hidden_size: 64, num_attention_heads: 2, num_key_value_heads: 2, head_dim: 32 });

  // the corpus' words are whole tokens: the vocabulary is the corpus'
  const code = `
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
print(json.dumps({w: len(tok(" " + w, add_special_tokens=False)["input_ids"]) for w in sys.argv[2:]}))`;
  const lengths = JSON.parse(execFileSync(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', code, path.join(dir, 'a'), ...words], { env, encoding: 'utf8' }).trim().split('\n').at(-1)!) as Record<string, number>;
  expect(Object.values(lengths)).toEqual([1, 1, 1, 1]);
}, 120_000);

test('init-model refuses an empty corpus and a width the attention heads cannot split', () => {
  const dir = tempDir('init-model-bad');
  fs.writeFileSync(path.join(dir, 'empty.txt'), '\n\n');
  const empty = run(['--corpus', path.join(dir, 'empty.txt'), '--out', path.join(dir, 'x')]);
  expect(empty.status).toBe(2);
  expect(events(empty.stdout).at(-1)).toMatchObject({ event: 'error', type: 'config', message: expect.stringContaining('the corpus is empty') });
  const odd = run(['--corpus', path.join(dir, 'empty.txt'), '--out', path.join(dir, 'y'), '--hidden', '100']);
  expect(odd.status).toBe(2);
  expect(events(odd.stdout).at(-1)).toMatchObject({ message: expect.stringContaining('--hidden 100 must be a multiple of 8') });
  const narrow = run(['--corpus', path.join(dir, 'empty.txt'), '--out', path.join(dir, 'z'), '--hidden', '64', '--heads', '16']);
  expect(narrow.status).toBe(2);
  expect(events(narrow.stdout).at(-1)).toMatchObject({ message: expect.stringContaining('--heads 16 must divide --hidden 64 into heads of an even width of at least 8') });
}, 60_000);
