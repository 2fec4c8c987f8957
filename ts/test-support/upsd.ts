// A real upsd with the dummy-ups driver on 127.0.0.1, in a temporary directory, for tests and the
// power benchmark. The UPS's state is a .dev file in upsc format; the driver (dummy-loop mode,
// pollinterval 1) re-reads it when its mtime changes, in whole seconds, so every write here gets
// an mtime one second past the last one.
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort, waitForPort } from './sshd.js';

export const NUT_BIN = '/lib/nut';
export const UPS_NAME = 'dummy';

export type DevVars = Record<string, string | number>;

export const ONLINE: DevVars = {
  'ups.status': 'OL',
  'battery.charge': 100,
  'battery.runtime': 1800,
  'battery.runtime.low': 120,
  'ups.load': 23,
  'input.voltage': 230.1,
  'ups.mfr': 'Dummy',
  'ups.model': 'Test UPS',
};

export interface UpsdOptions {
  vars?: DevVars;
  /** upsd's MAXAGE: seconds without driver updates before it says DATA-STALE (default 15). */
  maxAge?: number;
  /** upsd.users content (default: one upsmon secondary account upsmon_secondary / s3cret-pw). */
  users?: string;
  description?: string;
}

export interface UpsdFixture {
  host: '127.0.0.1';
  port: number;
  ups: string;
  dir: string;
  devFile: string;
  /** Write the .dev file; returns when it was written (ms since the epoch). */
  setVars(vars: DevVars): number;
  startDriver(): Promise<void>;
  /** SIGKILL the driver: upsd says DRIVER-NOT-CONNECTED until it is back. */
  stopDriver(): Promise<void>;
  /** SIGSTOP / SIGCONT the driver: after MAXAGE, upsd says DATA-STALE. */
  pauseDriver(): void;
  resumeDriver(): void;
  startUpsd(): Promise<void>;
  stopUpsd(): Promise<void>;
  /** Poll upsc until ups.status is `status` (or the reading says what `match` wants). */
  waitForStatus(status: string | RegExp, timeoutMs?: number): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

export function devText(vars: DevVars): string {
  return `${Object.entries(vars)
    .map(([k, v]) => `${k}: ${typeof v === 'string' && /\s/.test(v) && k !== 'ups.status' ? `"${v}"` : String(v)}`)
    .join('\n')}\n`;
}

async function stopChild(child: ResultPromise | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.killed) return;
  try {
    process.kill(child.pid ?? -1, 'SIGCONT');
  } catch {
    // gone
  }
  child.kill('SIGKILL');
  await child.catch(() => undefined);
}

export async function startUpsd(options: UpsdOptions = {}): Promise<UpsdFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-upsd-'));
  const state = path.join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const port = await freePort();
  const devFile = path.join(dir, 'dummy.dev');
  let lastMtime = 0;
  const setVars = (vars: DevVars): number => {
    const temp = `${devFile}.tmp`;
    writeFileSync(temp, devText(vars));
    const writtenAt = Date.now();
    // A new whole second each time, else the driver misses a second write within one second.
    lastMtime = Math.max(Math.floor(writtenAt / 1000), lastMtime + 1);
    utimesSync(temp, lastMtime, lastMtime);
    renameSync(temp, devFile);
    return writtenAt;
  };
  setVars(options.vars ?? ONLINE);
  // The .dev file first, then ups.conf (the driver needs its port file when it starts).
  writeFileSync(
    path.join(dir, 'ups.conf'),
    [`[${UPS_NAME}]`, '  driver = dummy-ups', `  port = ${devFile}`, '  mode = dummy-loop', '  pollinterval = 1', `  desc = "${(options.description ?? 'Test UPS').replace(/[\\"]/g, (c) => `\\${c}`)}"`, ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'upsd.conf'), `LISTEN 127.0.0.1 ${port}\nMAXAGE ${options.maxAge ?? 15}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'upsd.users'),
    options.users ?? '[upsmon_secondary]\n  password = "s3cret-pw"\n  upsmon secondary\n',
    { mode: 0o600 },
  );
  writeFileSync(path.join(dir, 'nut.conf'), 'MODE=netserver\n', { mode: 0o600 });
  const env = { NUT_CONFPATH: dir, NUT_STATEPATH: state, NUT_ALTPIDPATH: state };
  let driver: ResultPromise | undefined;
  let upsd: ResultPromise | undefined;

  const upsc = (args: string[]) => execa('upsc', args, { env, reject: false, stdin: 'ignore' });
  const waitForStatus = async (status: string | RegExp, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const r = await upsc([`${UPS_NAME}@127.0.0.1:${port}`, 'ups.status']);
      last = r.exitCode === 0 ? r.stdout.trim() : r.stderr.trim();
      if (typeof status === 'string' ? last === status : status.test(last)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`ups.status did not become ${String(status)} within ${timeoutMs} ms (last: ${last})`);
  };

  const fixture: UpsdFixture = {
    host: '127.0.0.1',
    port,
    ups: UPS_NAME,
    dir,
    devFile,
    setVars,
    async startDriver() {
      driver = execa(path.join(NUT_BIN, 'dummy-ups'), ['-a', UPS_NAME, '-u', 'root', '-F'], { env, reject: false, stdio: 'ignore' });
    },
    async stopDriver() {
      await stopChild(driver);
      driver = undefined;
    },
    pauseDriver() {
      if (driver?.pid) process.kill(driver.pid, 'SIGSTOP');
    },
    resumeDriver() {
      if (driver?.pid) process.kill(driver.pid, 'SIGCONT');
    },
    async startUpsd() {
      upsd = execa(path.join(NUT_BIN, 'upsd'), ['-u', 'root', '-F'], { env, reject: false, stdio: 'ignore' });
      await waitForPort(port);
    },
    async stopUpsd() {
      await stopChild(upsd);
      upsd = undefined;
    },
    waitForStatus,
    pids: () => [driver?.pid, upsd?.pid].filter((p): p is number => p !== undefined),
    async stop() {
      await stopChild(upsd);
      await stopChild(driver);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await fixture.startDriver();
    await fixture.startUpsd();
    await waitForStatus((options.vars ?? ONLINE)['ups.status'] === undefined ? /./ : String((options.vars ?? ONLINE)['ups.status']));
  } catch (error) {
    await fixture.stop();
    throw error;
  }
  return fixture;
}
