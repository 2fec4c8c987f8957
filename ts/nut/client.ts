// A client for upsd's network protocol (RFC 9271) over node:net: one request at a time on one
// connection, each with a time limit. Replies are read line by line from a buffer, so a reply
// split across TCP reads (or one byte per read) is put back together; a list is read until its
// END LIST line.
import { connect, type Socket } from 'node:net';
import { NutConnectionError, NutError, NutProtocolError, NutTimeoutError } from './errors.js';
import { commandLine, splitWords } from './protocol.js';

export const NUT_DEFAULT_PORT = 3493;
export const NUT_DEFAULT_TIMEOUT_MS = 5000;

export interface NutClientOptions {
  host: string;
  port?: number;
  /** Time limit for connecting and for each request (default 5 s). */
  timeoutMs?: number;
}

export interface NutUps {
  name: string;
  description: string;
}

export type NutVars = Record<string, string>;

export class NutClient {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private broken: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
    readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(new NutConnectionError(`connection to upsd at ${this.where} failed: ${error.message}`, error.code)));
    socket.on('close', () => this.fail(new NutConnectionError(`upsd at ${this.where} closed the connection`)));
  }

  get where(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Open a connection; rejects with NutConnectionError or NutTimeoutError. */
  static connect(options: NutClientOptions): Promise<NutClient> {
    const port = options.port ?? NUT_DEFAULT_PORT;
    const timeoutMs = options.timeoutMs ?? NUT_DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new NutTimeoutError(`a connection to ${options.host}:${port}`, timeoutMs));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new NutClient(socket, options.host, port, timeoutMs));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NutConnectionError(`cannot connect to upsd at ${options.host}:${port}: ${error.message}`, error.code));
      });
    });
  }

  get closed(): boolean {
    return this.broken !== undefined;
  }

  /** `LIST UPS`: the UPSes this upsd serves. */
  listUps(): Promise<NutUps[]> {
    return this.request(['LIST', 'UPS'], 'LIST UPS', async () =>
      (await this.readList('UPS', [])).map((words) => ({ name: words[1] ?? '', description: words[2] ?? '' })),
    );
  }

  /** `LIST VAR <ups>`: every variable of one UPS. */
  listVar(ups: string): Promise<NutVars> {
    return this.request(['LIST', 'VAR', ups], `LIST VAR ${ups}`, async () => {
      const vars: NutVars = {};
      for (const words of await this.readList('VAR', [ups])) vars[words[2] ?? ''] = words[3] ?? '';
      return vars;
    });
  }

  /** `GET VAR <ups> <name>`: one variable. */
  getVar(ups: string, name: string): Promise<string> {
    const what = `GET VAR ${ups} ${name}`;
    return this.request(['GET', 'VAR', ups, name], what, async () => {
      const words = splitWords(await this.readReply(what));
      if (words[0] !== 'VAR' || words[1] !== ups || words[2] !== name) throw new NutProtocolError(`unexpected reply to ${what}: ${words.join(' ')}`);
      return words[3] ?? '';
    });
  }

  /**
   * Log in to a UPS as upsmon does (USERNAME, PASSWORD, LOGIN): proves the account exists with
   * upsmon rights. The password never appears in an error message.
   */
  async login(ups: string, user: string, password: string): Promise<void> {
    await this.request(['USERNAME', user], `USERNAME ${user}`, () => this.readOk(`USERNAME ${user}`));
    await this.request(['PASSWORD', password], 'PASSWORD', () => this.readOk('PASSWORD'));
    await this.request(['LOGIN', ups], `LOGIN ${ups}`, () => this.readOk(`LOGIN ${ups}`));
  }

  /** `LOGOUT`, then close. Never throws: the connection is gone either way. */
  async logout(): Promise<void> {
    if (this.broken) return this.close();
    try {
      await this.request(['LOGOUT'], 'LOGOUT', async () => {
        const words = splitWords(await this.readReply('LOGOUT'));
        if (words[0] !== 'OK') throw new NutProtocolError(`unexpected reply to LOGOUT: ${words.join(' ')}`);
      });
    } catch {
      // closing anyway
    }
    this.close();
  }

  close(): void {
    this.fail(new NutConnectionError(`connection to upsd at ${this.where} was closed`));
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let cut: number;
    while ((cut = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, cut).replace(/\r$/, '');
      this.buffer = this.buffer.slice(cut + 1);
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = undefined;
        waiter.resolve(line);
      } else {
        this.lines.push(line);
      }
    }
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  private nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** One request at a time; a request that runs out of time closes the connection (its reply would come later, out of step). */
  private request<T>(words: string[], what: string, read: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.broken) throw this.broken;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new NutTimeoutError(what, this.timeoutMs));
          this.fail(new NutTimeoutError(what, this.timeoutMs));
          this.socket.destroy();
        }, this.timeoutMs);
      });
      try {
        this.socket.write(commandLine(words));
        return await Promise.race([read(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The next line, with `ERR <CODE>` turned into a NutError. */
  private async readReply(what: string): Promise<string> {
    const line = await this.nextLine();
    if (line.startsWith('ERR ')) {
      const [, code = '', ...rest] = splitWords(line);
      throw new NutError(code, what, rest.join(' '));
    }
    return line;
  }

  private async readOk(what: string): Promise<void> {
    const words = splitWords(await this.readReply(what));
    if (words[0] !== 'OK') throw new NutProtocolError(`unexpected reply to ${what}: ${words.join(' ')}`);
  }

  /** `BEGIN LIST <type> <args>` … `END LIST <type> <args>`: the item lines, split into words. */
  private async readList(type: string, args: string[]): Promise<string[][]> {
    const what = ['LIST', type, ...args].join(' ');
    const head = splitWords(await this.readReply(what));
    const expected = ['LIST', type, ...args];
    const matches = (words: string[], first: string): boolean => words[0] === first && expected.every((w, i) => words[i + 1] === w);
    if (!matches(head, 'BEGIN')) throw new NutProtocolError(`unexpected reply to ${what}: ${head.join(' ')}`);
    const items: string[][] = [];
    for (;;) {
      const words = splitWords(await this.nextLine());
      if (matches(words, 'END')) return items;
      if (words[0] !== type) throw new NutProtocolError(`unexpected line in the reply to ${what}: ${words.join(' ')}`);
      items.push(words);
    }
  }
}

/** Connect, do one thing, log out. */
export async function withNut<T>(options: NutClientOptions, fn: (client: NutClient) => Promise<T>): Promise<T> {
  const client = await NutClient.connect(options);
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}
