// The layout is the architecture: workflows import no Node builtins, no Prisma and no
// activity runtime code (types only); core stays pure so workflows can use it.
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ spec: m[2], typeOnly: !!m[1] }));
}

function filesIn(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, dir, f));
}

test('workflows import only the workflow SDK, core and each other (activities as types)', () => {
  const bad: string[] = [];
  for (const f of filesIn('workflows')) {
    for (const { spec, typeOnly } of importsOf(f)) {
      const allowed = spec === '@temporalio/workflow' || spec === '@temporalio/common' || spec.startsWith('./') || spec.startsWith('../core/') || (typeOnly && spec.startsWith('../activities'));
      if (!allowed) bad.push(`${path.relative(root, f)} imports ${typeOnly ? 'type ' : ''}${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test('core has no I/O: no Node builtins, no database, no Temporal runtime', () => {
  const bad: string[] = [];
  for (const f of filesIn('core')) {
    for (const { spec } of importsOf(f)) {
      if (!(spec === 'zod' || spec.startsWith('./') || spec.startsWith('../'))) bad.push(`${path.relative(root, f)} imports ${spec}`);
      if (spec.startsWith('../') && !path.resolve(path.dirname(f), spec).startsWith(path.join(root, 'core'))) bad.push(`${path.relative(root, f)} reaches outside core: ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});
