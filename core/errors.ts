// The one map of failure types. Workflows and operators inspect failures by `type`
// (never by instanceof: the workflow sandbox is another realm).

export const ErrorTypes = {
  /** The run spec (or a retryStage patch) does not validate; names the field. */
  InvalidRunSpec: 'InvalidRunSpec',
  /** An input file cannot be read or parsed as the declared format. */
  InvalidInput: 'InvalidInput',
  /** Ingest accepted no item, so later stages have nothing to work on. */
  DatasetEmpty: 'DatasetEmpty',
  /** A stage's counts break in = out + filtered + failed; a bug, never retried. */
  AccountingMismatch: 'AccountingMismatch',
  /** A stage needs the output of an earlier stage that did not run or was skipped. */
  MissingStageOutput: 'MissingStageOutput',
  /** The database, artifact store or a model endpoint is unreachable; retried. */
  UpstreamUnavailable: 'UpstreamUnavailable',
  /** A stage name the registry does not know. */
  UnknownStage: 'UnknownStage',
  /** The exported ONNX model does not reproduce the trained PyTorch model's greedy outputs. */
  ExportMismatch: 'ExportMismatch',
  /** The trainer process failed (out of memory, killed, a crash); retried, resuming from its checkpoint. */
  TrainerFailed: 'TrainerFailed',
  /**
   * Every model request of a stage failed (a server that refuses them all, a model that cannot
   * run): the stage did not run the method. Its failed requests are forgotten, so the operator's
   * retryStage asks them again once the model or server is fixed.
   */
  EveryRequestFailed: 'EveryRequestFailed',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

/** Failure types that retrying cannot fix: the activity fails at once. */
export const nonRetryableErrorTypes: ErrorType[] = [
  ErrorTypes.InvalidRunSpec,
  ErrorTypes.InvalidInput,
  ErrorTypes.DatasetEmpty,
  ErrorTypes.AccountingMismatch,
  ErrorTypes.MissingStageOutput,
  ErrorTypes.UnknownStage,
  ErrorTypes.ExportMismatch,
  ErrorTypes.EveryRequestFailed,
];
