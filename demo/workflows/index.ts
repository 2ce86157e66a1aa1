// The workflows the demo's worker registers (demo/worker.ts). Nothing here may import Node builtins or activities' runtime code.
export { worldDemo } from './world-demo';
