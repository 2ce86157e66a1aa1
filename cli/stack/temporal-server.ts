// The embedded Temporal: the CLI's single-process dev server with SQLite persistence,
// started with adamllm's search attributes registered.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findBinary } from './paths';

export interface TemporalServer {
  address: string;
  uiAddress?: string;
  stop(): Promise<void>;
}

export const SEARCH_ATTRIBUTES = ['AdamllmDomain=Keyword', 'AdamllmStatus=Keyword'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Waits until a Temporal frontend answers at `address`. */
export async function waitForTemporal(address: string, timeoutMs = 60_000, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error('the Temporal dev server exited during start-up');
    try {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`Temporal did not answer at ${address} within ${timeoutMs / 1000}s: ${(last as Error)?.message}`);
}

/** How many ports a dev server without a fixed port tries before giving up. */
const PORT_TRIES = 3;

/**
 * Starts the dev server on `o.port`, or on a free port. A free port is only free when it is
 * picked: the CLI picks its internal services' ports itself a moment later and can land on the
 * same one ("bind: address already in use", then a panic), so a server whose port was picked here
 * is started again on another port, up to PORT_TRIES times. A caller's fixed port is never
 * swapped: that failure is reported, naming the port. `pickPort` picks the ports (freePort;
 * tests hand it a port they hold).
 */
export async function startTemporalDevServer(o: { stateDir: string; port?: number; uiPort?: number; ui?: boolean; pickPort?: () => Promise<number> }): Promise<TemporalServer> {
  for (let attempt = 1; ; attempt++) {
    const port = o.port ?? (await (o.pickPort ?? freePort)());
    try {
      return await startOn(port, o);
    } catch (err) {
      if (o.port !== undefined || !(err instanceof PortTaken) || attempt === PORT_TRIES) throw err;
    }
  }
}

/** The dev server exited at start-up because a port it wanted was taken. */
class PortTaken extends Error {}

async function startOn(port: number, o: { stateDir: string; uiPort?: number; ui?: boolean }): Promise<TemporalServer> {
  const bin = findBinary('temporal', 'TEMPORAL_CLI');
  fs.mkdirSync(o.stateDir, { recursive: true });
  const args = ['server', 'start-dev', '--db-filename', path.join(o.stateDir, 'temporal.db'), '--port', String(port), '--log-level', 'error'];
  if (o.ui) args.push('--ui-port', String(o.uiPort ?? port + 1000));
  else args.push('--headless');
  for (const sa of SEARCH_ATTRIBUTES) args.push('--search-attribute', sa);
  const logPath = path.join(o.stateDir, 'temporal.log');
  const logFile = fs.openSync(logPath, 'a');
  const logStart = fs.fstatSync(logFile).size;
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', logFile, logFile] });
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, 60_000, () => !exited);
  } catch (err) {
    child.kill('SIGKILL');
    fs.closeSync(logFile);
    const log = fs.readFileSync(logPath).subarray(logStart).toString('utf8'); // this start's lines only
    const taken = /bind: address already in use/.test(log);
    const message = `${(err as Error).message}${taken ? ` (port ${port} or one it picked was taken)` : ''} (log: ${logPath})`;
    throw taken ? new PortTaken(message) : new Error(message);
  }
  return {
    address,
    uiAddress: o.ui ? `http://127.0.0.1:${o.uiPort ?? port + 1000}` : undefined,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
      fs.closeSync(logFile);
    },
  };
}
