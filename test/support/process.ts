import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `rivulet serve …` from the sources in a child process; resolves once it printed its own
 * address and /healthz answers. The address check matters: tests run in parallel, and a port
 * found free may be taken by another test's server before this one binds it, whose /healthz
 * would answer instead (this child then exits, unable to listen).
 */
export async function spawnRivulet(args: string[], port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args, '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, RIVULET_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  const own = `127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rivulet exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status === 200 && stdout.includes(own)) return child;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rivulet did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends SIGKILL and waits for the process to be gone. */
export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Polls `check` until it returns a value; fails after `timeoutMs` with `what`. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Disconnects the realtime (Faye) clients of `clients` and waits until their server confirmed it
 * (at most `timeoutMs`): a Faye client closes its connection only on that answer, and one whose
 * server went away first keeps retrying for ever, which keeps the test process up. Call it before
 * stopping the servers.
 */
export async function disconnectRealtime(clients: readonly { readonly fayeClient?: unknown }[], timeoutMs = 5000): Promise<void> {
  await Promise.all(
    clients.map(async (c) => {
      const faye = c.fayeClient as { disconnect(): PromiseLike<unknown> | undefined } | null | undefined;
      const done = faye?.disconnect();
      if (!done) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.resolve(done).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }),
  );
}
