import { parseRunSpec, patchStageSettings, SpecError, STAGE_ORDER } from '../../core/spec';

const minimal = { version: 1, domain: 'food', dataset: { format: 'sharegpt', path: 'a.json', imageRoot: 'images' } };

function issues(input: unknown): string[] {
  try {
    parseRunSpec(input);
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  return [];
}

test('a minimal spec gets the full pipeline and documented defaults', () => {
  const s = parseRunSpec(minimal);
  expect(s.pipeline).toEqual([...STAGE_ORDER]);
  expect(s.stages.ingest).toMatchObject({ shardSize: 256, maxPixels: 50_000_000, failOn: 'warning', dedupImages: true, retry: { maximumAttempts: 3 } });
  expect(s.stages.compose.unjudged).toBe('caption-only');
  expect(s.stages.export).toMatchObject({ imagePaths: 'absolute', fileName: 'image_caption_and_synthetic_task.json' });
  expect(s.dataset).toMatchObject({ name: 'default', captionInstruction: 'Describe the image.' });
});

test('errors name every bad field by its path', () => {
  const got = issues({ version: 2, domain: 'Food!', dataset: { format: 'xml', imageRoot: '' }, stages: { ingest: { shardSize: 0, bogus: 1 } } });
  expect(got).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^spec\.version: /),
      expect.stringMatching(/^spec\.domain: /),
      expect.stringMatching(/^spec\.dataset\.format: /),
      expect.stringMatching(/^spec\.dataset\.path: /),
      expect.stringMatching(/^spec\.dataset\.imageRoot: /),
      expect.stringMatching(/^spec\.stages\.ingest\.shardSize: /),
      expect.stringMatching(/^spec\.stages\.ingest: .*bogus/),
    ]),
  );
});

test('the pipeline must start with ingest and keep the canonical order', () => {
  expect(issues({ ...minimal, pipeline: ['synthesize'] })).toEqual([expect.stringMatching(/^spec\.pipeline\.0: a pipeline starts with ingest/)]);
  expect(issues({ ...minimal, pipeline: ['ingest', 'compose', 'synthesize'] })).toEqual([expect.stringMatching(/^spec\.pipeline\.2: stages must be unique and in the order/)]);
  expect(issues({ ...minimal, pipeline: ['ingest', 'ingest'] })).toHaveLength(1);
  expect(parseRunSpec({ ...minimal, pipeline: ['ingest', 'synthesize', 'compose', 'export'] }).pipeline).toHaveLength(4);
});

test('an operator patch merges deeply and is validated', () => {
  const s = parseRunSpec(minimal);
  const patched = patchStageSettings('ingest', s.stages.ingest, { maxPixels: 1000, retry: { maximumAttempts: 9 } });
  expect(patched.maxPixels).toBe(1000);
  expect(patched.retry).toEqual({ ...s.stages.ingest.retry, maximumAttempts: 9 });
  expect(patchStageSettings('ingest', s.stages.ingest, undefined)).toBe(s.stages.ingest);
  expect(() => patchStageSettings('ingest', s.stages.ingest, { maxPixels: 'many' })).toThrow(/stages\.ingest\.maxPixels/);
  expect(() => patchStageSettings('ingest', s.stages.ingest, [1])).toThrow(/must be an object/);
});
