/**
 * Running commands and namespaces for the benchmark (its own copy, so that the
 * benchmark builds and runs whatever state src/ is in).
 */
import { execFileSync } from 'node:child_process';

/** Run a command, returning stdout; throws with stderr in the message. */
export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export function ip(args: string[], opts?: { input?: string; allowFail?: boolean }): string {
  return sh('ip', args, opts);
}

export class Netns {
  constructor(readonly name: string) {}
  exec(cmd: string, args: string[], opts?: { input?: string; allowFail?: boolean }): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }
  ip(args: string[], opts?: { input?: string; allowFail?: boolean }): string {
    return sh('ip', ['-n', this.name, ...args], opts);
  }
}
