// The progress query, the shard-progress signal and the search attributes of the adaptDomain
// workflow, usable by name from the Temporal CLI (`temporal workflow query --name progress ...`).
// The operator's signals (retryStage, skipStage, abort) are in operator-commands.ts.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { RunProgress } from '../core/types';
import type { StageName } from '../core/spec';

export const progressQuery = defineQuery<RunProgress>('progress');

/**
 * Sent by a shard-batch child to its parent for the progress query: `shards` done since its last
 * report, a few reports per batch (children begun before batching sent one `shard` each).
 */
export const shardDoneSignal = defineSignal<[{ stage: StageName; attempt: number; shard?: number; shards?: number[] }]>('shardDone');

export const domainSearchAttribute = defineSearchAttributeKey('AdamllmDomain', SearchAttributeType.KEYWORD);
export const statusSearchAttribute = defineSearchAttributeKey('AdamllmStatus', SearchAttributeType.KEYWORD);
