// Is a node up? Its SSH port accepts a connection and says "SSH-…" (RFC 4253's identification).
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SshProbe {
  up: boolean;
  /** The server's identification line, when it sent one. */
  banner?: string;
  /** Why it is not up (connection refused, timed out, no SSH banner). */
  reason?: string;
}

/** One attempt: TCP connect, then wait for the banner; within timeoutMs in all. */
export function probeSsh(host: string, port: number, timeoutMs: number): Promise<SshProbe> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = '';
    const done = (probe: SshProbe): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(
      () => done({ up: false, reason: received || socket.readyState === 'open' ? 'connected, but no SSH banner' : 'timed out' }),
      timeoutMs,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const line = received.split('\n')[0] ?? '';
      if (received.includes('\n') || received.length > 255) {
        done(line.startsWith('SSH-') ? { up: true, banner: line.trim() } : { up: false, reason: `not an SSH server: ${JSON.stringify(line.slice(0, 40))}` });
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done({ up: false, reason: error.code ?? error.message }));
    socket.once('end', () => done({ up: false, reason: 'closed without an SSH banner' }));
  });
}

export interface SshWait {
  up: boolean;
  /** Milliseconds from the start of the wait until the node answered. */
  waitedMs: number;
  banner?: string;
  reason?: string;
}

/** Poll until the node answers SSH or `timeoutMs` has passed. */
export async function waitForSsh(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<SshWait> {
  const started = Date.now();
  let last: SshProbe = { up: false, reason: 'not tried' };
  while (!signal?.aborted) {
    const left = timeoutMs - (Date.now() - started);
    if (left <= 0) break;
    last = await probeSsh(host, port, Math.min(2000, left));
    if (last.up) return { up: true, waitedMs: Date.now() - started, ...(last.banner ? { banner: last.banner } : {}) };
    await sleep(Math.min(250, Math.max(0, timeoutMs - (Date.now() - started))));
  }
  return { up: false, waitedMs: Date.now() - started, reason: signal?.aborted ? 'cancelled' : (last.reason ?? 'no answer') };
}
