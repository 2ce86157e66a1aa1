// The embedded Temporal dev server's start-up when its port is taken: a port it picked itself is
// swapped for another (the CLI can pick the same port for an internal service a moment later);
// a caller's fixed port is not, and the error names it.
import net from 'node:net';
import path from 'node:path';
import { freePort, startTemporalDevServer, waitForTemporal } from '../../cli/stack/temporal-server';
import { tempDir } from '../helpers/tmp';

/** A port held by a listener of this process until `close`. */
async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer((s) => s.destroy()); // a connection is dropped at once: a client waiting for Temporal there fails fast
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
}

test('a picked port found taken is swapped for another, and the server answers there', async () => {
  const held = await holdPort();
  const picked: number[] = [];
  const pickPort = async () => {
    const p = picked.length === 0 ? held.port : await freePort();
    picked.push(p);
    return p;
  };
  try {
    const server = await startTemporalDevServer({ stateDir: path.join(tempDir('temporal-port'), 'temporal'), pickPort });
    try {
      expect(picked).toHaveLength(2);
      expect(picked[0]).toBe(held.port);
      expect(server.address).toBe(`127.0.0.1:${picked[1]}`);
      await waitForTemporal(server.address, 10_000);
    } finally {
      await server.stop();
    }
  } finally {
    await held.close();
  }
}, 60_000);

test('a fixed port that is taken fails the start, naming the port', async () => {
  const held = await holdPort();
  try {
    await expect(startTemporalDevServer({ stateDir: path.join(tempDir('temporal-port'), 'temporal'), port: held.port })).rejects.toThrow(new RegExp(`port ${held.port} or one it picked was taken`));
  } finally {
    await held.close();
  }
}, 60_000);
