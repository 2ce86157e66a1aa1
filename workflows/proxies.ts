// Activity proxies shared by the workflows, one per timeout class.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { TASK_QUEUES } from '../core/stages';

/** Run-history writes: short, and never given up while the database is briefly away. */
export const records = proxyActivities<Activities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});
