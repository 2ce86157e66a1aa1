// The workflows the worker registers. Nothing here may import Node builtins or activities' runtime code.
export { adaptDomain } from './adapt-domain';
export { runShards } from './run-shards';
export { trainModel, trainSynthesizer } from './train-model';
