// The lab hosts' Wake-on-LAN firmware, run as its own detached process by labUp: listens on the
// lab bridge's directed broadcast, UDP 9 and 7, and powers on the stopped host a valid magic
// packet is for. Configured through MKO_LAB_NAME and MKO_LAB_STATE_DIR; logs to stdout.
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { powerOn } from './power.js';
import { parseMagicPacket } from './magic-packet.js';
import { readState } from './state.js';
import { wolReadyPath } from './wol-listener.js';

const WOL_PORTS = [9, 7];
const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);

async function main(): Promise<void> {
  const name = process.env.MKO_LAB_NAME;
  const stateDir = process.env.MKO_LAB_STATE_DIR;
  if (!name || !stateDir) throw new Error('MKO_LAB_NAME and MKO_LAB_STATE_DIR must be set');
  const state = await readState(stateDir);
  if (!state) throw new Error(`no lab state in ${stateDir}`);
  const booting = new Set<string>();

  const onPacket = (msg: Buffer, from: string) => {
    const packet = parseMagicPacket(msg);
    const host = packet && state.hosts.find((h) => h.mac === packet.mac);
    if (!host) return log(`ignored ${msg.length} bytes from ${from}: no magic packet for a lab host`);
    if (booting.has(host.hostname)) return;
    log(`magic packet for ${host.mac} (${host.hostname}) from ${from}`);
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
          socket.on('message', (msg, rinfo) => onPacket(msg, `${rinfo.address}:${rinfo.port}`));
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
