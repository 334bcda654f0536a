import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadConfig, resolveServeOptions } from '../compose/environment.js';
import { modelStore, openListing, openRecords, openStore } from '../compose/adapters.js';
import type { Config } from '../config/config.js';
import { DEFAULT_SIGNALS } from '../personalization/signals/settings.js';
import type { Store } from '../ports/store.js';
import { configPath, UsageError } from './apps.js';
import { progressBar, type Progress } from './progress.js';
import { checkFile, feedGroupMismatch, FORMAT, FORMAT_VERSION, ImportFileError, importApp, KINDS, walkApp, type Counts, type Line, type TransferStores } from './transfer.js';

/**
 * `rivulet export` and `rivulet import`: one app's data as JSON lines (src/cli/transfer.ts), from
 * the store the config names and into the store another config names. Moving an app between
 * SQLite and Redis is an export with the one config and an import with the other.
 */

export interface ExportOptions {
  data?: string;
  config?: string;
  app?: string;
  out?: string;
  allowPending?: boolean;
  /** Where the progress bar and summary go (default stderr). */
  stream?: NodeJS.WriteStream;
}

export interface ImportOptions {
  data?: string;
  config?: string;
  app?: string;
  resume?: boolean;
  stream?: NodeJS.WriteStream;
}

function readConfig(o: { data?: string; config?: string }): Config {
  const { dataDir, configFile } = resolveServeOptions(o);
  const file = configPath(dataDir, configFile);
  if (!existsSync(file)) throw new UsageError(`no config at ${file}: pass --config (the same file \`rivulet serve\` uses)`);
  return loadConfig(dataDir, configFile).config;
}

function chooseApp(config: Config, app: string | undefined): string {
  if (app !== undefined) {
    if (!config.apps.some((a) => a.appId === app)) throw new UsageError(`app ${app} is not in the config (its apps: ${config.apps.map((a) => a.appId).join(', ')})`);
    return app;
  }
  if (config.apps.length !== 1) throw new UsageError(`the config has ${config.apps.length} apps: name one with --app`);
  return config.apps[0].appId;
}

/** The stores of a transfer over an open store. */
export function transferStores(store: Store): TransferStores {
  return { ports: store.ports, signals: store.signals, records: openRecords(store), models: modelStore(store), listing: openListing(store) };
}

const describeCounts = (c: Counts) =>
  KINDS.filter((k) => c[k] > 0)
    .map((k) => `${c[k].toLocaleString('en-US')} ${k}`)
    .join(', ') || 'nothing';

/** Writes the app's data, then renames the file into place: a file under `--out` is always complete. */
export async function exportCommand(o: ExportOptions): Promise<Counts> {
  const config = readConfig(o);
  const app = chooseApp(config, o.app);
  if (o.out === undefined) throw new UsageError('--out <file> is required (the JSON-lines file to write; "-" writes to stdout)');
  const store = await openStore(config);
  const stream = o.stream ?? process.stderr;
  try {
    const pending = await store.ports.intents.pendingCount();
    if (pending > 0 && !o.allowPending) {
      throw new UsageError(
        `${pending} fan-out job${pending === 1 ? ' is' : 's are'} still pending in this store: run \`rivulet worker\` (or \`serve\`) until they are done, then export again ` +
          '(--allow-pending exports anyway: the file then holds those jobs, and import queues them again in the target)',
      );
    }
    const toStdout = o.out === '-';
    const partial = `${o.out}.partial`;
    const out = toStdout ? process.stdout : createWriteStream(partial, { mode: 0o600 });
    const write = async (l: Line | object) => {
      if (!out.write(JSON.stringify(l) + '\n')) await once(out, 'drain');
    };
    const bar = progressBar(`export of app ${app}`, { unit: 'records', stream });
    bar.start(0);
    const feedGroups = [...config.apps.find((a) => a.appId === app)!.groups.values()].map((g) => ({ name: g.name, type: g.type }));
    await write({ kind: 'header', format: FORMAT, version: FORMAT_VERSION, app, source: config.storage.backend, createdAt: new Date().toISOString(), feedGroups });
    let done = 0;
    const counts = await walkApp(transferStores(store), app, async (l) => {
      await write(l);
      const n = l.kind === 'timeline' ? l.entries.length : l.kind === 'groups' ? l.groups.length : l.kind === 'profile' ? l.weights.length : 1;
      done += n;
      // The total is not known in advance: the bar shows what is written so far and the rate.
      bar.setTotal(done);
      bar.tick(n);
    });
    await write({ kind: 'trailer', counts });
    bar.stop();
    if (!toStdout) {
      out.end();
      await once(out, 'finish');
      renameSync(partial, o.out);
    }
    stream.write(`exported app ${app} from ${config.storage.backend}${toStdout ? '' : ` to ${o.out}`}: ${describeCounts(counts)}\n`);
    return counts;
  } finally {
    await store.close();
  }
}

function lines(file: string): AsyncIterable<string> {
  const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  return createInterface({ input, crlfDelay: Infinity });
}

/** What `--resume` reads: where the last run of the same file stopped. */
interface Checkpoint {
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly app: string;
  readonly line: number;
}

/**
 * Checks the whole file, writes it into the app of the config's store, then lists the app in
 * the store again and compares the counts per kind with the file's trailer.
 */
export async function importCommand(file: string, o: ImportOptions): Promise<Counts> {
  if (file === '-') throw new UsageError('import reads a file (it is read twice: checked whole before anything is written)');
  if (!existsSync(file)) throw new UsageError(`no file ${file}`);
  const config = readConfig(o);
  const stream = o.stream ?? process.stderr;
  const t0 = performance.now();
  let checked: Awaited<ReturnType<typeof checkFile>>;
  try {
    checked = await checkFile(lines(file));
  } catch (err) {
    if (err instanceof ImportFileError) throw new UsageError(`${file}: ${err.message}; nothing was imported`);
    throw err;
  }
  const app = chooseApp(config, o.app ?? checked.header.app);
  const mismatch = feedGroupMismatch(checked.header, checked.slugs, config.apps.find((a) => a.appId === app)!.groups);
  if (mismatch !== null) throw new UsageError(`${file}: ${mismatch}: list the same feed groups in the target config's app; nothing was imported`);
  const st = statSync(file);
  const checkpointFile = `${file}.import-checkpoint`;
  let skipLines = 0;
  if (o.resume && existsSync(checkpointFile)) {
    const c = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint;
    if (c.size !== st.size || c.mtimeMs !== st.mtimeMs || c.app !== app) {
      throw new UsageError(`${checkpointFile} is of another file or app: run without --resume (an import can always be run again from the start)`);
    }
    skipLines = c.line;
  }
  const store = await openStore(config);
  try {
    const s = transferStores(store);
    const t1 = performance.now();
    const total = KINDS.reduce((n, k) => n + checked.counts[k], 0);
    const bar: Progress = progressBar(`import into app ${app}`, { unit: 'records', stream });
    bar.start(total);
    await importApp(s, app, lines(file), {
      eventRetentionUs: config.signals.get(app)?.retentionUs ?? DEFAULT_SIGNALS.retentionUs,
      skipLines,
      onBatch: (line, records) => {
        bar.tick(records);
        const c: Checkpoint = { file, size: st.size, mtimeMs: st.mtimeMs, app, line };
        writeFileSync(checkpointFile, JSON.stringify(c));
      },
    });
    bar.stop();
    const t2 = performance.now();
    // The check: the app as the target store now lists it, against the file.
    const found = await walkApp(s, app, () => undefined);
    const t3 = performance.now();
    const wrong = KINDS.filter((k) => found[k] !== checked.counts[k]);
    if (wrong.length > 0) {
      throw new Error(
        `imported app ${app}, but the store now holds other counts than the file: ${wrong.map((k) => `${k}: ${found[k]} stored, ${checked.counts[k]} in the file`).join('; ')}` +
          ' (did the app hold data before the import, or did something write to it meanwhile?)',
      );
    }
    rmSync(checkpointFile, { force: true });
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    stream.write(
      `imported ${file} into app ${app} on ${config.storage.backend} (file checked in ${sec(t1 - t0)}, written in ${sec(t2 - t1)}, counts checked in ${sec(t3 - t2)}): ${describeCounts(found)}\n`,
    );
    return found;
  } finally {
    await store.close();
  }
}
