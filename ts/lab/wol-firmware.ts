// The lab hosts' Wake-on-LAN firmware, run as its own detached process by labUp: listens on the
// lab bridge's directed broadcast, UDP 9 and 7, and powers on the stopped host a valid magic
// packet is for. A host with a SecureOn password (setLabSecureOn) wakes only on a packet that
// carries it, as such a NIC does. Configured through MKO_LAB_NAME and MKO_LAB_STATE_DIR; logs to stdout.
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { powerOn } from './power.js';
import { parseMagicPacket } from './magic-packet.js';
import { readState } from './state.js';
import { secureOnPath, wolReadyPath } from './wol-listener.js';

const WOL_PORTS = [9, 7];
const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);

async function main(): Promise<void> {
  const name = process.env.MKO_LAB_NAME;
  const stateDir = process.env.MKO_LAB_STATE_DIR;
  if (!name || !stateDir) throw new Error('MKO_LAB_NAME and MKO_LAB_STATE_DIR must be set');
  const state = await readState(stateDir);
  if (!state) throw new Error(`no lab state in ${stateDir}`);
  const booting = new Set<string>();

  /** The SecureOn password each NIC wants, by MAC; read afresh for every packet. */
  const passwords = async (): Promise<Record<string, string>> => {
    try {
      return JSON.parse(await readFile(secureOnPath(stateDir), 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  };

  const onPacket = async (msg: Buffer, from: string) => {
    const packet = parseMagicPacket(msg);
    const host = packet && state.hosts.find((h) => h.mac === packet.mac);
    if (!host) return log(`ignored ${msg.length} bytes from ${from}: no magic packet for a lab host`);
    const wanted = (await passwords())[host.mac] ?? null;
    if (wanted !== null && packet.password !== wanted) {
      return log(`ignored ${msg.length} bytes from ${from}: ${packet.password ? 'wrong' : 'no'} SecureOn password for ${host.mac} (${host.hostname})`);
    }
    if (booting.has(host.hostname)) return;
    log(`magic packet of ${msg.length} bytes${packet.password ? ' with SecureOn' : ''} for ${host.mac} (${host.hostname}) from ${from}`);
    booting.add(host.hostname);
    powerOn({ name, stateDir, onProgress: log }, host.hostname)
      .catch((e: unknown) => log(`power on ${host.hostname} failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => booting.delete(host.hostname));
  };

  const sockets = await Promise.all(
    WOL_PORTS.map(
      (port) =>
        new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
          const socket = createSocket({ type: 'udp4', reuseAddr: true });
          socket.once('error', reject);
          socket.on('message', (msg, rinfo) => void onPacket(msg, `${rinfo.address}:${rinfo.port}`));
          socket.bind({ address: state.broadcast, port }, () => resolve(socket));
        }),
    ),
  );
  const stop = () => {
    for (const s of sockets) s.close();
    log('stopped');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log(`listening on ${state.broadcast} udp ${WOL_PORTS.join(', ')} for ${state.hosts.length} host(s)`);
  await writeFile(wolReadyPath(stateDir), `${process.pid}\n`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
