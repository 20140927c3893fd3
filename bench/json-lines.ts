import type { ChildProcess } from 'node:child_process';

export type JsonEvent = Record<string, unknown>;

/**
 * The JSON lines a benchmark's child process prints on stdout, collected as
 * they arrive (other lines are ignored); its stderr is passed through with
 * `stderrPrefix`.
 */
export function jsonLines(proc: ChildProcess, stderrPrefix = ''): JsonEvent[] {
  const events: JsonEvent[] = [];
  let rest = '';
  proc.stdout?.on('data', (d: Buffer) => {
    rest += d.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        events.push(JSON.parse(p) as JsonEvent);
      } catch {
        /* not ours */
      }
    }
  });
  proc.stderr?.on('data', (d: Buffer) => process.stderr.write(stderrPrefix + d.toString()));
  return events;
}
