// Thread settings of a process that decodes images; imported first by every entry point
// (workers/main.ts, cli/main.ts, bench/ingest.ts), because libuv sizes its threadpool once,
// on the first asynchronous file, DNS or crypto call, and ignores the variable afterwards.
//
// Every sharp decode runs on a libuv threadpool thread, with one libvips thread per image
// (sharp.concurrency(1), activities/ingest/check-image.ts), so the pool size is how many images
// decode at once. Node's default of 4 leaves cores idle on larger machines; one thread per core
// keeps them busy, and the floor of 4 keeps file reads from queueing behind decodes on small
// ones (2 vCPU here). The images in flight (ADAMLLM_CPU_CONCURRENCY shards × ingest.imageConcurrency)
// should be at least this many. An explicit UV_THREADPOOL_SIZE in the environment wins.
import os from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));
