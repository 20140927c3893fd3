/**
 * Progress for the lab: each step prints what it is doing and how long it
 * took; a step that fails is reported by name with the files to look at.
 */

export class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly lookAt: string[],
  ) {
    super(`step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }

  /** The message a person reads: what failed, why, and where to look. */
  explain(): string {
    const lines = [`lab: ${this.message}`];
    if (this.lookAt.length > 0) {
      lines.push('look at:');
      for (const l of this.lookAt) lines.push(`  ${l}`);
    }
    return lines.join('\n');
  }
}

export type Write = (line: string) => void;

export class Progress {
  private n = 0;

  constructor(
    readonly total: number,
    private readonly write: Write = (l) => process.stdout.write(`${l}\n`),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Run one step. `lookAt` names the logs and files that explain a failure
   * (a function, so it can name files the step itself created).
   */
  async step<T>(name: string, lookAt: string[] | (() => string[]), fn: (note: Write) => Promise<T> | T): Promise<T> {
    this.n++;
    const t0 = this.now();
    this.write(`[${this.n}/${this.total}] ${name} ...`);
    try {
      const result = await fn((l) => this.write(`      ${l}`));
      this.write(`[${this.n}/${this.total}] ${name}: done in ${secs(this.now() - t0)}`);
      return result;
    } catch (err) {
      if (err instanceof StepError) throw err;
      throw new StepError(name, err, typeof lookAt === 'function' ? lookAt() : lookAt);
    }
  }

  line(text: string): void {
    this.write(text);
  }
}

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
