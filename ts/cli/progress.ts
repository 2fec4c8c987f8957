// What the CLI shows while a playbook runs: one progress line (play, task N of M, hosts done and
// failed) on stderr, rewritten in place on a terminal and one line per task otherwise, plus a
// line per host failure. It reads the stored events (ts/ops/follow.ts), as any other follower of
// the operation would; --verbose shows the stored log instead.
import type { Db } from '../db/index.js';
import { followOperation, type Operation, type OperationEvent } from '../ops/index.js';
import { terminalText } from './output.js';

export interface ProgressOutput {
  /** Progress and failure lines (stderr). */
  write: (text: string) => void;
  /** Rewrite one line in place (a terminal) instead of printing a line per step. */
  tty: boolean;
  columns?: number;
}

/** The state of one run as its events tell it, and the line that shows it. */
export class Progress {
  private play: string | null = null;
  private task: string | null = null;
  private taskIndex: number | null = null;
  private taskCount: number | null = null;
  private readonly done = new Set<string>();
  private readonly failed = new Set<string>();
  private retry: string | null = null;

  constructor(private readonly operationId: number) {}

  /** Take one event; returns a line to print above the progress line (a host failure), if any. */
  apply(event: OperationEvent): string | undefined {
    switch (event.type) {
      case 'play_start':
        this.play = event.play;
        this.task = null;
        this.taskIndex = null;
        this.taskCount = event.taskCount;
        this.done.clear();
        break;
      case 'task_start':
      case 'handler_start':
        this.task = event.type === 'handler_start' ? `handler ${event.task ?? ''}` : event.task;
        this.taskIndex = event.taskIndex;
        this.taskCount = event.taskCount ?? this.taskCount;
        this.done.clear();
        this.retry = null;
        break;
      case 'retry':
        this.retry = `${event.host ?? '?'} attempt ${event.attempt ?? '?'} failed, retrying`;
        break;
      case 'host_result':
        if (event.host) this.done.add(event.host);
        this.retry = null;
        if ((event.status === 'failed' || event.status === 'unreachable') && event.host) {
          this.failed.add(event.host);
          return `${event.host} ${event.status}${event.task ? ` in ${event.task}` : ''}: ${event.message ?? ''}`;
        }
        break;
      case 'recap':
        this.task = null;
        break;
    }
    return undefined;
  }

  inTask(): boolean {
    return this.task !== null;
  }

  line(): string {
    const parts = [`operation ${this.operationId}`];
    if (this.play !== null) parts.push(`play ${this.play}`);
    if (this.task !== null) {
      const position = this.taskIndex !== null ? `task ${this.taskIndex}${this.taskCount ? ` of ${this.taskCount}` : ''}` : 'task';
      parts.push(`${position}: ${this.task}`);
    }
    parts.push(`hosts ${this.done.size} done, ${this.failed.size} failed`);
    if (this.retry) parts.push(this.retry);
    return parts.join(' · ');
  }
}

/** Draws a run's progress from its events as they arrive. */
export class ProgressView {
  private readonly progress: Progress;
  private shown = false;

  constructor(
    operationId: number,
    private readonly out: ProgressOutput,
  ) {
    this.progress = new Progress(operationId);
  }

  event(event: OperationEvent): void {
    // Without a terminal, one line per task once it is over, with how its hosts fared.
    const stepEnds = event.type === 'play_start' || event.type === 'task_start' || event.type === 'handler_start' || event.type === 'recap';
    if (!this.out.tty && stepEnds && this.progress.inTask()) this.out.write(`${this.text()}\n`);
    const note = this.progress.apply(event);
    if (note !== undefined) {
      this.clear();
      this.out.write(`${terminalText(note, { oneLine: true })}\n`);
    }
    if (this.out.tty) this.draw();
  }

  /** The run ended: take the progress line away (without a terminal: say where it stopped, if in a task). */
  end(): void {
    this.clear();
    if (!this.out.tty && this.progress.inTask()) this.out.write(`${this.text()}\n`);
  }

  private text(): string {
    return terminalText(this.progress.line(), { oneLine: true });
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const text = this.text();
    this.out.write(`\r\u001b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) this.out.write('\r\u001b[K');
    this.shown = false;
  }
}

export interface FollowDisplay {
  /** Print the stored log as it grows (to stdout) instead of the progress line. */
  verbose: boolean;
  progress: ProgressOutput;
  log: (text: string) => void;
  signal?: AbortSignal;
}

/** Show operation id until it ends; returns its final record (undefined when signal stopped it first). */
export async function showOperation(db: Db, id: number, display: FollowDisplay): Promise<Operation | undefined> {
  const view = display.verbose ? undefined : new ProgressView(id, display.progress);
  try {
    for await (const item of followOperation(db, id, display.signal ? { signal: display.signal } : {})) {
      if (item.type === 'event') view?.event(item.event);
      else if (item.type === 'log') {
        if (display.verbose) display.log(terminalText(item.text));
      } else return item.operation;
    }
    return undefined;
  } finally {
    view?.end();
  }
}

/** Progress and failure lines to this process's stderr. */
export const stderrProgress = (): ProgressOutput => ({
  write: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
  ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
});
