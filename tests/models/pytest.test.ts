// The trainer's Python unit tests (trainer/tests: config checks, loss masks, data order, what
// a few optimizer steps move), run with pytest in the trainer's interpreter, so the suite's one
// command runs them too. They need the tiny models (scripts/build-models.sh), no service.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { trainerPython } from '../../activities/trainer/trainer-process';

const exec = promisify(execFile);
const root = path.join(__dirname, '..', '..');

/** pytest over one folder in the trainer's interpreter (ADAMLLM_PYTHON, else .venv-models); no .pytest_cache in the tree. */
async function pytest(folder: string) {
  const python = trainerPython(process.env.ADAMLLM_PYTHON);
  const r = await exec(python, ['-m', 'pytest', folder, '-q', '-p', 'no:cacheprovider'], { cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }).then(
    (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string; message: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }),
  );
  if (r.code !== 0) throw new Error(`pytest ${folder} exited with ${r.code}:\n${r.out}`);
  expect(r.out).toMatch(/\d+ passed/);
}

test('pytest trainer/tests passes', () => pytest('trainer/tests'), 300_000);

// the demo's diagnostic probe (demo/diagnostics/synthesizer_copy.py) reads a world and a model folder as the demo writes them
test('pytest demo/diagnostics passes', () => pytest('demo/diagnostics'), 300_000);
