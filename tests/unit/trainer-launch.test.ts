// The trainer launch with a stand-in launcher (tests/fixtures/trainer/fake-trainer.py): the
// command line for one and for several processes, cancel as SIGTERM through the guard, ranks
// that outlive a dead launcher are stopped before the activity goes on, and a worker killed by
// SIGKILL still gets its trainer stopped, by SIGKILL after orphanDeadlineS when SIGTERM is not enough.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTrainer, trainerArgv } from '../../activities/trainer/trainer-process';
import { pidsWithEnv, whenGone } from '../helpers/processes';

const fake = path.join(__dirname, '..', 'fixtures', 'trainer', 'fake-trainer.py');
const saved = { ...process.env };
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-launch-'));
});
afterEach(() => {
  process.env = { ...saved };
  fs.rmSync(dir, { recursive: true, force: true });
});

const waitFor = async (pred: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (pred()) return;
  throw new Error('timed out');
};

test('one process runs the trainer module; several run it under torchrun', () => {
  expect(trainerArgv(['train', '--config', 'c.json'])).toEqual(['-m', 'adamllm_trainer', 'train', '--config', 'c.json']);
  expect(trainerArgv(['train', '--config', 'c.json', '--resume-from', 'ck'], 4)).toEqual([
    '-m',
    'torch.distributed.run',
    '--standalone',
    '--nproc-per-node=4',
    '-m',
    'adamllm_trainer',
    'train',
    '--config',
    'c.json',
    '--resume-from',
    'ck',
  ]);
});

test('abort reaches the launcher as SIGTERM through the guard: it stops with 143, and its GPUs are the ones given', async () => {
  const abort = new AbortController();
  const r = await runTrainer(['train', '--config', 'c.json'], {
    python: fake,
    worldSize: 2,
    signal: abort.signal,
    env: { CUDA_VISIBLE_DEVICES: '2,3' },
    onEvent: (e) => e.event === 'step' && e.step === 3 && abort.abort(),
  });
  expect(r.code).toBe(143);
  expect(r.events[0]).toEqual({ event: 'argv', argv: trainerArgv(['train', '--config', 'c.json'], 2), cuda: '2,3' });
  expect(r.events.at(-1)).toMatchObject({ event: 'stopped' });
});

test('SIGKILL from onEvent is a crash: the launcher dies at once', async () => {
  const r = await runTrainer(['train'], { python: fake, onEvent: (e, t) => e.event === 'step' && t.kill('SIGKILL') });
  expect(r.signal).toBe('SIGKILL');
  expect(r.events.filter((e) => e.event === 'stopped')).toEqual([]);
});

test('a rank that outlives its launcher (its own session, as torchrun starts ranks) is stopped with SIGTERM before the result', async () => {
  process.env.FAKE_TRAINER_MODE = 'orphan';
  process.env.FAKE_TRAINER_MARK = path.join(dir, 'rank');
  const r = await runTrainer(['train'], { python: fake, orphanGraceMs: 5000 });
  expect(r.code).toBe(1);
  const rank = Number(r.events.find((e) => e.event === 'rank')!.pid);
  expect(fs.readFileSync(path.join(dir, 'rank'), 'utf8')).toBe('terminated');
  expect(r.events.at(-1)).toMatchObject({ event: 'stopped' }); // its last words still arrive
  // gone, or a zombie where PID 1 of a container does not reap orphans
  const state = fs.existsSync(`/proc/${rank}/stat`) ? fs.readFileSync(`/proc/${rank}/stat`, 'utf8').split(') ')[1][0] : 'gone';
  expect(['gone', 'Z']).toContain(state);
}, 20_000);

test('the worker dies by SIGKILL: the guard stops the trainer with SIGTERM', async () => {
  const mark = path.join(dir, 'trainer');
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'trainer-launch-run.ts'), fake], {
    env: { ...process.env, FAKE_TRAINER_MARK: mark },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    worker.stdout!.on('data', (d: Buffer) => d.toString().includes('training') && resolve());
    worker.once('exit', (c) => reject(new Error(`exited early with ${c}`)));
  });
  worker.kill('SIGKILL');
  await waitFor(() => fs.existsSync(mark));
  expect(fs.readFileSync(mark, 'utf8')).toBe('terminated');
}, 30_000);

test('the worker dies by SIGKILL and the trainer ignores SIGTERM: every process of the launch is SIGKILLed after orphanDeadlineS', async () => {
  // a launcher and a rank in a session of its own that both ignore SIGTERM (ranks waiting in a
  // collective for a peer that left), found by an entry of their environment
  const mark = path.join(dir, 'stuck');
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'trainer-launch-run.ts'), fake, '2'], {
    env: { ...process.env, FAKE_TRAINER_MODE: 'stuck', FAKE_TRAINER_MARK: mark },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.stdout!.on('data', (d: Buffer) => d.toString().includes('training') && resolve());
      worker.once('exit', (c) => reject(new Error(`exited early with ${c}`)));
    });
    const launch = pidsWithEnv(`FAKE_TRAINER_MARK=${mark}`).filter((p) => p !== worker.pid);
    expect(launch.length).toBeGreaterThanOrEqual(3); // the guard, the launcher, its rank
    worker.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    expect(pidsWithEnv(`FAKE_TRAINER_MARK=${mark}`).length).toBeGreaterThan(0); // SIGTERM did not stop them
    expect(await whenGone(`FAKE_TRAINER_MARK=${mark}`, 8000)).toEqual([]);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(2000); // not before the deadline
  } finally {
    for (const p of pidsWithEnv(`FAKE_TRAINER_MARK=${mark}`)) process.kill(p, 'SIGKILL');
  }
}, 30_000);
