// The unit tier's temporary folder: one per test file, removed after it. The services tier gets
// its folder from the global setup (removed by the global teardown), so this runs only for unit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-unit-'));
process.env.ADAMLLM_TEST_TMP = dir;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
