/** `agent run`'s fast argument parser agrees with yargs on the same option table, and hands yargs what it cannot answer. */
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { parseRunArgs, RUN_OPTIONS, runCommand } from '../../../src/cli/commands/run.js';

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** What yargs makes of `agent run <argv>`, reduced to the table's options. */
function viaYargs(argv: string[]): Record<string, unknown> {
  let seen: Record<string, unknown> = {};
  yargs(['run', ...argv])
    .strict()
    .command({ ...runCommand, handler: (a: Record<string, unknown>) => void (seen = a) } as never)
    .parseSync();
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(RUN_OPTIONS)) if (seen[camel(name)] !== undefined) out[camel(name)] = seen[camel(name)];
  return out;
}

describe('parseRunArgs', () => {
  const lines: string[][] = [
    [],
    ['--no-program-routes', '--control-socket', '/tmp/x.ctl', '--listen-port', '1179'],
    ['--node-name=n1', '--ip', '10.0.0.1/24', '--as', '64513', '--log-level', 'debug'],
    ['--program-routes', '--graceful-stop=false', '--kernel-backend', 'ip-batch', '--metrics-port', '9091'],
    ['--no-graceful-stop', '--register-node=false', '--manage-tunnel', '--tunnel-mtu', '1400', '--router-id', 'hash'],
    ['--etcd-endpoints', 'http://a:2379,http://b:2379', '--ready-grace-period', '5', '--restart-hold-time', '60', '--pid-file', '/run/p'],
  ];
  for (const argv of lines) {
    it(`reads ${argv.join(' ') || '(no options)'} as yargs does`, () => {
      expect(parseRunArgs(argv)).toEqual(viaYargs(argv));
    });
  }

  it('leaves help, version, unknown options, positionals, missing values and bad choices to yargs', () => {
    for (const argv of [['--help'], ['-h'], ['--version'], ['--nodename', 'x'], ['extra'], ['--ip'], ['--ip', '--as', '1'], ['--kernel-backend', 'iproute'], ['--program-routes=yes']]) {
      expect(parseRunArgs(argv)).toBeNull();
    }
  });
});
