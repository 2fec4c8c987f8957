// Starting and stopping the lab's Wake-on-LAN "firmware": a detached process (wol-firmware.ts)
// that listens on the lab's directed broadcast and powers on the host a magic packet is for.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCgroup, killCgroup, removeCgroup } from './cgroup.js';
import { wolCgroup } from './naming.js';
import { commandLine, isRunningAs, signal, spawnInCgroups, waitForExit } from './process.js';

const FIRMWARE_MARKER = 'wol-firmware';
export const wolReadyPath = (stateDir: string): string => join(stateDir, 'wol.ready');
const wolLogPath = (stateDir: string): string => join(stateDir, 'wol.log');
export const secureOnPath = (stateDir: string): string => join(stateDir, 'wol-secureon.json');

/**
 * Give a lab host's NIC a SecureOn password (colon-separated hex, lower case), or take it away
 * (null): from then on the firmware wakes the host only on a packet that carries it.
 */
export async function setLabSecureOn(stateDir: string, mac: string, password: string | null): Promise<void> {
  const file = secureOnPath(stateDir);
  const all = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, string>;
  if (password === null) delete all[mac.toLowerCase()];
  else all[mac.toLowerCase()] = password.toLowerCase();
  await writeFile(file, JSON.stringify(all), { mode: 0o600 });
}

/** node + the compiled firmware, or (running from the TypeScript sources) vite-node + the .ts. */
function firmwareCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return [process.execPath, join(dirname(here), `${FIRMWARE_MARKER}.js`)];
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  return [process.execPath, viteNode, join(dirname(here), `${FIRMWARE_MARKER}.ts`)];
}

export async function startWolFirmware(name: string, stateDir: string, timeoutMs = 30_000): Promise<number> {
  const ready = wolReadyPath(stateDir);
  await rm(ready, { force: true });
  const pid = spawnInCgroups(firmwareCommand(), await createCgroup(wolCgroup(name)), wolLogPath(stateDir), {
    MKO_LAB_NAME: name,
    MKO_LAB_STATE_DIR: stateDir,
  });
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(ready)) {
    if ((await commandLine(pid)) === null || Date.now() > deadline) {
      const log = await readFile(wolLogPath(stateDir), 'utf8').catch(() => '');
      throw new Error(`the lab's Wake-on-LAN listener did not start:\n${log.split('\n').slice(-20).join('\n')}`);
    }
    await sleep(100);
  }
  return pid;
}

export const wolFirmwareRunning = (pid: number | null): Promise<boolean> => isRunningAs(pid, [FIRMWARE_MARKER]);

export async function stopWolFirmware(name: string, stateDir: string, pid: number | null): Promise<void> {
  if (pid !== null && (await wolFirmwareRunning(pid))) {
    signal(pid, 'SIGTERM');
    await waitForExit([pid], 3000);
  }
  await killCgroup(wolCgroup(name));
  await removeCgroup(wolCgroup(name));
  await rm(wolReadyPath(stateDir), { force: true });
  await rm(wolLogPath(stateDir), { force: true });
  await rm(secureOnPath(stateDir), { force: true });
}
