// The demo's path on a reduced world, through Temporal and Postgres: the world, its
// base model (trainModel from an init-model base), the arms that need no trained synthesizer
// (captions, rules and the gold-task ceiling; adaptDomain: ingest, rules synthesis and filter or
// none, compose, export, train, evaluate, report), the comparison table read back from the
// database, and a second demo that reuses it all. The scores are recorded, not asserted beyond sanity.
//
// Not here: the arms with the trained synthesizer. On a world this small the synthesizer (hidden
// 64, a few hundred steps, trained in the suite's time) writes the grammar but never asks one
// question in both modes, so synthesis yields no triplet and those arms have no training set
// (compose skips items without a triplet, docs/method.md §8). trainSynthesizer itself is tested in
// train-model.test.ts, model synthesis and the judge in model-judge.test.ts.
import fs from 'node:fs';
import type { ArmName } from '../../demo/arms';
import { DEMO_SIZES } from '../../demo/sizes';
import { runWorldDemo } from '../../demo/world-demo';
import { harness, tempDir, type Harness } from '../helpers/env';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

// the arms --size test runs when none are named (see DEMO_SIZES.test.defaultArms)
const ARMS: ArmName[] = ['captions', 'rules', 'ceiling'];

test('the demo on a reduced world: the arms run, every number traces back to its run, model and training set; a second demo reuses everything', async () => {
  const dir = tempDir('world-demo');
  const lines: string[] = [];
  const first = await runWorldDemo({ stateDir: dir, size: 'test', client: h.client, db: h.db, temporalAddress: h.temporalAddress, dir, stopWhenWaiting: true, say: (l) => lines.push(l) });
  expect(first.ok).toBe(true);
  expect(first.rows.map((r) => r.arm)).toEqual(['base', ...ARMS]);
  // the demo is one workflow; each arm's run is its child
  const parent = await h.client.workflow.getHandle(first.workflowId).describe();
  expect({ type: parent.type, status: parent.status.name }).toEqual({ type: 'worldDemo', status: 'COMPLETED' });
  for (const r of first.rows.slice(1)) {
    const child = await h.client.workflow.getHandle(r.workflowId).describe();
    expect(child.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(first.workflowId);
  }
  for (const r of first.rows) {
    for (const s of [...r.scores, r.average]) {
      expect(s).not.toBeNull();
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(100);
    }
    // the number's lineage, in Postgres
    const run = await h.db.run.findUniqueOrThrow({ where: { id: r.runId } });
    expect(run).toMatchObject({ workflowId: r.workflowId, status: 'SUCCEEDED' });
    const model = await h.db.model.findUniqueOrThrow({ where: { id: r.model.id } });
    if (r.arm === 'base') {
      expect(r.vsBase).toBeUndefined();
      continue;
    }
    expect(model).toMatchObject({ kind: 'ADAPTED', runId: r.runId, trainingSetId: r.trainingSet!.id });
    // the interval is about the table's own difference, built from the same stored item scores
    expect(r.vsBase!.delta).toBeCloseTo(r.average! - first.rows[0].average!, 6);
    expect(r.vsBase!.low).toBeLessThanOrEqual(r.vsBase!.delta);
    expect(r.vsBase!.high).toBeGreaterThanOrEqual(r.vsBase!.delta);
  }
  const by = Object.fromEntries(first.rows.map((r) => [r.arm, r]));
  // captions only has no synthetic task; the rules arm's set has some
  expect(by.captions.trainingSet!.withTask).toBe(0);
  expect(by.rules.trainingSet!.withTask).toBeGreaterThan(0);
  // the synthesizer audit: the rules arm's parsed tasks, read back from its SynthTask rows
  const parsed = await h.db.synthTask.count({ where: { runId: by.rules.runId, status: 'OK' } });
  expect(by.rules.tasks).toMatchObject({ parsed, distinct: expect.any(Number), top: { question: expect.any(String), count: expect.any(Number) } });
  expect(by.rules.tasks!.distinct).toBeGreaterThan(1);
  expect(by.rules.tasks!.distinct).toBeLessThanOrEqual(parsed);
  expect(by.captions.tasks).toBeUndefined();
  expect(fs.readFileSync(first.files!.markdown, 'utf8')).toContain(`- rule-based synthesizer: ${parsed} tasks, ${by.rules.tasks!.distinct} distinct question`);
  // the ceiling trains on every pair and its two gold tasks (same image: ingest keeps them all)
  expect(by.ceiling.trainingSet).toMatchObject({ rows: 3 * DEMO_SIZES.test.domainImages, withTask: 0 });
  // the base model was trained by a trainModel run from an init-model base, with its lineage
  const base = await h.db.model.findUniqueOrThrow({ where: { id: by.base.model.id }, include: { parent: true } });
  expect(base).toMatchObject({ name: 'world-base', kind: 'BASE' });
  expect(base.trainingSetId).not.toBeNull();
  expect(base.parent?.name).toMatch(/^init-/);
  for (const f of Object.values(first.files!)) expect(fs.statSync(f).size).toBeGreaterThan(0);
  expect(fs.readFileSync(first.files!.markdown, 'utf8')).toContain('runs show');
  console.log(`reduced-world demo: ${first.seconds.toFixed(0)} s; averages ${first.rows.map((r) => `${r.arm} ${r.average?.toFixed(1)}`).join(', ')}`);

  const again: string[] = [];
  const second = await runWorldDemo({ stateDir: dir, size: 'test', client: h.client, db: h.db, temporalAddress: h.temporalAddress, dir, arms: ARMS, stopWhenWaiting: true, say: (l) => again.push(l) });
  expect(second.rows.map((r) => [r.arm, r.runId, r.average, r.vsBase])).toEqual(first.rows.map((r) => [r.arm, r.runId, r.average, r.vsBase]));
  expect(again.filter((l) => l.includes('reusing succeeded run'))).toHaveLength(ARMS.length);
}, 900_000);
