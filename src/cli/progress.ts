import cliProgress from 'cli-progress';

/** Progress of one long command: how much of how much is done. */
export interface Progress {
  /** Sets the total (when it is only known once the work started). */
  start(total: number): void;
  /** Changes the total while running (work whose size is found as it goes). */
  setTotal(total: number): void;
  /** `n` more units done (default 1). */
  tick(n?: number): void;
  /** Ends the bar; prints a last line with the count, the time taken and the rate. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted, e.g. "activities"; shown after the numbers. */
  readonly unit?: string;
  /** Where to draw (default stderr, so that a command's output on stdout stays clean). */
  readonly stream?: NodeJS.WriteStream;
  /** Milliseconds between redraws (default 100). */
  readonly redrawMs?: number;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString('en-US');
  return perSecond.toFixed(1);
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A progress bar for a long command: `label [████░░░░] 42% 4,200/10,000 activities | 1,250/s | ETA 4.6s`.
 * On a terminal it redraws in place; elsewhere (CI logs, pipes) it prints nothing until {@link Progress.stop},
 * which prints one summary line either way.
 */
export function progressBar(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ? ` ${opts.unit}` : '';
  let startedAt = 0;
  let done = 0;
  let total = 0;
  let running = false;
  const payload = () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    return { label, speed: formatRate(rate), remaining: done >= total ? '0s' : formatSeconds(eta), unit };
  };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // Own names for rate and ETA: cli-progress fills `{eta}` itself (whole seconds) over a payload's.
      format: '{label} [{bar}] {percentage}% {value}/{total}{unit} | {speed}/s | ETA {remaining}',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: true,
      fps: 1000 / (opts.redrawMs ?? 100),
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      // Off a terminal the bar draws nothing; stop() still prints the summary.
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(n) {
      total = n;
      done = 0;
      startedAt = performance.now();
      running = true;
      bar.start(total, 0, payload());
    },
    setTotal(n) {
      if (!running) return;
      total = n;
      bar.setTotal(n);
    },
    tick(n = 1) {
      if (!running) return;
      done += n;
      bar.update(done, payload());
    },
    stop() {
      if (!running) return;
      running = false;
      bar.stop();
      const seconds = (performance.now() - startedAt) / 1000;
      stream.write(`${label}: ${done.toLocaleString('en-US')}${unit} in ${formatSeconds(seconds)} (${formatRate(seconds > 0 ? done / seconds : 0)}/s)\n`);
    },
  };
}
