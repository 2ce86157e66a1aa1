// Signals, queries and search attributes of the adaptDomain workflow, usable by name from
// the Temporal CLI (`temporal workflow signal --name retryStage ...`).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AbortCommand, RetryStageCommand, RunProgress, SkipStageCommand } from '../core/types';
import type { StageName } from '../core/spec';

export const retryStageSignal = defineSignal<[RetryStageCommand]>('retryStage');
export const skipStageSignal = defineSignal<[SkipStageCommand]>('skipStage');
export const abortSignal = defineSignal<[AbortCommand?]>('abort');
export const progressQuery = defineQuery<RunProgress>('progress');

/**
 * Sent by a shard-batch child to its parent for the progress query: `shards` done since its last
 * report, a few reports per batch (children begun before batching sent one `shard` each).
 */
export const shardDoneSignal = defineSignal<[{ stage: StageName; attempt: number; shard?: number; shards?: number[] }]>('shardDone');

export const domainSearchAttribute = defineSearchAttributeKey('AdamllmDomain', SearchAttributeType.KEYWORD);
export const statusSearchAttribute = defineSearchAttributeKey('AdamllmStatus', SearchAttributeType.KEYWORD);
