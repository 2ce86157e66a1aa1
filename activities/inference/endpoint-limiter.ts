// One limiter per endpoint (URL + served model) per worker process. Every shard, stage and run
// this process sends to the endpoint shares it, so `concurrency` bounds what the process has in
// flight there however many shards run at once; several processes add up (README, "Scaling out").
// A FIFO queue: requests are answered roughly in the order shards asked, so an early shard is not
// starved by later ones and its heartbeat timer keeps it alive while it waits.

export class Limiter {
  private active = 0;
  private readonly waiting: { start: () => void; cancel: (e: unknown) => void }[] = [];
  /** the most requests this limiter ever had in flight at once (tests and benchmarks read it) */
  peak = 0;

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  /** A later spec may ask for another bound; the newest wins, and raising it starts waiting requests at once. */
  set limit(n: number) {
    this.max = n;
    this.drain();
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `fn` once a slot is free; a request abandoned (signal) while it waits never takes one. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active >= this.max || this.waiting.length > 0) {
      await new Promise<void>((start, cancel) => {
        const entry = { start, cancel };
        this.waiting.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const i = this.waiting.indexOf(entry);
            if (i >= 0) {
              this.waiting.splice(i, 1);
              cancel(signal.reason);
            }
          },
          { once: true },
        );
      });
    } else this.take();
    try {
      return await fn();
    } finally {
      this.active--;
      this.drain();
    }
  }

  private take(): void {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
  }

  private drain(): void {
    while (this.active < this.max && this.waiting.length > 0) {
      this.take();
      this.waiting.shift()!.start();
    }
  }
}

const limiters = new Map<string, Limiter>();

/** The process's limiter for an endpoint, created on first use and re-bounded to the latest `concurrency`. */
export function endpointLimiter(baseUrl: string, model: string, concurrency: number): Limiter {
  const key = `${baseUrl}#${model}`;
  let l = limiters.get(key);
  if (!l) limiters.set(key, (l = new Limiter(concurrency)));
  else if (l.limit !== concurrency) l.limit = concurrency;
  return l;
}
