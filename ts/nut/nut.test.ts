// The NUT client against a real upsd with the dummy-ups driver on 127.0.0.1, and against a tiny
// local server that sends its replies one byte per TCP write.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONLINE, startUpsd, type UpsdFixture } from '../test-support/upsd.js';
import { NutClient, NutConnectionError, NutError, NutTimeoutError, quoteWord, splitWords, withNut } from './index.js';

describe('protocol words', () => {
  it.each([
    ['VAR dummy ups.status "OL CHRG"', ['VAR', 'dummy', 'ups.status', 'OL CHRG']],
    ['UPS dummy "A \\"quoted\\" UPS"', ['UPS', 'dummy', 'A "quoted" UPS']],
    ['VAR u x "back\\\\slash"', ['VAR', 'u', 'x', 'back\\slash']],
    ['VAR u empty ""', ['VAR', 'u', 'empty', '']],
    ['ERR DATA-STALE', ['ERR', 'DATA-STALE']],
  ])('%s', (line, words) => {
    expect(splitWords(line)).toEqual(words);
  });

  it('quotes what needs it and round-trips', () => {
    expect(quoteWord('ups.status')).toBe('ups.status');
    expect(quoteWord('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(splitWords(quoteWord('a "b" \\c'))).toEqual(['a "b" \\c']);
    expect(() => quoteWord('x\nLOGOUT')).toThrow(/line break/);
  });
});

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('against a real upsd with dummy-ups', () => {
  let upsd: UpsdFixture;
  beforeAll(async () => {
    upsd = await startUpsd({ description: 'Lab "dummy" UPS' });
  });
  afterAll(async () => {
    await upsd?.stop();
  });
  const options = () => ({ host: upsd.host, port: upsd.port, timeoutMs: 3000 });

  it('LIST UPS with a quoted, escaped description', async () => {
    const list = await withNut(options(), (c) => c.listUps());
    expect(list).toEqual([{ name: 'dummy', description: 'Lab "dummy" UPS' }]);
  });

  it('LIST VAR and GET VAR read what the .dev file says', async () => {
    await withNut(options(), async (c) => {
      const vars = await c.listVar('dummy');
      expect(vars['ups.status']).toBe('OL');
      expect(vars['battery.charge']).toBe('100');
      expect(vars['ups.model']).toBe('Test UPS');
      expect(vars['driver.name']).toBe('dummy-ups');
      expect(await c.getVar('dummy', 'input.voltage')).toBe('230.1');
    });
  });

  it('several requests on one connection, one after the other', async () => {
    await withNut(options(), async (c) => {
      const [a, b, list] = await Promise.all([c.getVar('dummy', 'ups.load'), c.getVar('dummy', 'battery.runtime'), c.listUps()]);
      expect([a, b, list.length]).toEqual(['23', '1800', 1]);
    });
  });

  it('ERR codes become typed errors and the connection stays usable', async () => {
    await withNut(options(), async (c) => {
      await expect(c.getVar('dummy', 'no.such.var')).rejects.toMatchObject({ name: 'NutError', code: 'VAR-NOT-SUPPORTED' });
      await expect(c.listVar('nope')).rejects.toMatchObject({ code: 'UNKNOWN-UPS' });
      expect(await c.getVar('dummy', 'ups.status')).toBe('OL');
    });
  });

  it('LOGIN with the upsmon account works, a wrong password is ACCESS-DENIED', async () => {
    await withNut(options(), (c) => c.login('dummy', 'upsmon_secondary', 's3cret-pw'));
    const error = await withNut(options(), (c) => c.login('dummy', 'upsmon_secondary', 'wrong')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NutError);
    expect((error as NutError).code).toBe('ACCESS-DENIED');
    expect((error as Error).message).not.toContain('wrong');
  });

  it('sees a change of the .dev file, and DRIVER-NOT-CONNECTED while the driver is down', async () => {
    upsd.setVars({ ...ONLINE, 'ups.status': 'OB DISCHRG', 'battery.charge': 80 });
    await upsd.waitForStatus('OB DISCHRG');
    await upsd.stopDriver();
    const error = await withNut(options(), (c) => c.getVar('dummy', 'ups.status')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NutError);
    expect((error as NutError).code).toBe('DRIVER-NOT-CONNECTED');
    expect((error as NutError).dataUnavailable).toBe(true);
    upsd.setVars(ONLINE);
    await upsd.startDriver();
    await upsd.waitForStatus('OL');
  });

  it('a refused connection is a NutConnectionError', async () => {
    await upsd.stopUpsd();
    try {
      await expect(NutClient.connect(options())).rejects.toBeInstanceOf(NutConnectionError);
    } finally {
      await upsd.startUpsd();
    }
  });
});

/** A server that answers like upsd, but writes every reply one byte at a time. */
async function tricklingServer(replies: Record<string, string>, onSocket?: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    onSocket?.(socket);
    let buffer = '';
    socket.setNoDelay(true);
    socket.on('data', async (data) => {
      buffer += data.toString();
      let cut: number;
      while ((cut = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 1);
        const reply = replies[line];
        if (reply === undefined) continue;
        for (const byte of reply) {
          socket.write(byte);
          await new Promise((r) => setImmediate(r));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

describe('replies split across TCP reads', () => {
  let server: Server;
  let port: number;
  let chunks = 0;
  beforeAll(async () => {
    ({ server, port } = await tricklingServer(
      {
        'LIST VAR ups1': [
          'BEGIN LIST VAR ups1',
          'VAR ups1 ups.status "OB LB"',
          'VAR ups1 ups.model "Back \\"UPS\\" 700"',
          'VAR ups1 battery.charge "9"',
          'END LIST VAR ups1',
          '',
        ].join('\n'),
        'LIST UPS': 'BEGIN LIST UPS\nUPS ups1 "first"\r\nUPS ups2 "second"\nEND LIST UPS\n',
        'GET VAR ups1 battery.charge': 'VAR ups1 battery.charge "9"\n',
        'GET VAR ups1 ups.load': 'ERR DATA-STALE\n',
        LOGOUT: 'OK Goodbye\n',
      },
      (socket) => {
        const write = socket.write.bind(socket);
        socket.write = ((chunk: string) => {
          chunks++;
          return write(chunk);
        }) as typeof socket.write;
      },
    ));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reassembles lists, quoted values and errors sent one byte per write', async () => {
    await withNut({ host: '127.0.0.1', port, timeoutMs: 5000 }, async (c) => {
      expect(await c.listVar('ups1')).toEqual({ 'ups.status': 'OB LB', 'ups.model': 'Back "UPS" 700', 'battery.charge': '9' });
      expect(await c.listUps()).toEqual([
        { name: 'ups1', description: 'first' },
        { name: 'ups2', description: 'second' },
      ]);
      expect(await c.getVar('ups1', 'battery.charge')).toBe('9');
      await expect(c.getVar('ups1', 'ups.load')).rejects.toMatchObject({ code: 'DATA-STALE' });
    });
    expect(chunks).toBeGreaterThan(100);
  });

  it('a request that gets no answer times out and closes the connection', async () => {
    const client = await NutClient.connect({ host: '127.0.0.1', port, timeoutMs: 300 });
    const started = Date.now();
    await expect(client.getVar('ups1', 'never.answered')).rejects.toBeInstanceOf(NutTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(client.closed).toBe(true);
    await expect(client.listUps()).rejects.toBeInstanceOf(Error);
    client.close();
  });
});
