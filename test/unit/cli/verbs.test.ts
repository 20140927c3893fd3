/**
 * The `agent` command line of issue 23's verbs, run as an operator runs it
 * (the built CLI, `npm test` builds first): help lists every verb, `status
 * --json` without an agent still prints JSON, `version`, one
 * `--kernel-backend` for `run` and `routes flush`, and the probes' commands
 * load no BGP code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import yargs from 'yargs';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_OPTIONS } from '../../../src/cli/commands/run.js';
import { routesFlushCommand } from '../../../src/cli/commands/routes-flush.js';
import { KERNEL_BACKEND_OPTION } from '../../../src/cli/commands/kernel-backend.js';
import { buildCommit } from '../../../src/version.js';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'h1-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const agent = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, AGENT_CONTROL_SOCKET: join(dir, 'none.ctl') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
/** Help text with yargs' wrapping undone. */
const help = (...args: string[]) => agent(...args, '--help').out.replace(/\s+/g, ' ');

describe('help lists the verbs', () => {
  it('agent --help, agent peers --help, agent routes --help', () => {
    const top = help();
    for (const verb of ['peers', 'routes', 'version']) expect(top).toMatch(new RegExp(` agent ${verb} [A-Z]`));
    expect(top).toMatch(/reset <peer> \[--soft\]`, `disable <peer>`, `enable <peer>`/);
    expect(top).toMatch(/`agent routes for <address>`/);
    const peers = help('peers');
    expect(peers).toMatch(/agent peers reset <peer> +Reset a session: NOTIFICATION Cease 4/);
    expect(peers).toMatch(/agent peers disable <peer> +Take a session down \(Cease 2/);
    expect(peers).toMatch(/agent peers enable <peer>/);
    expect(help('peers', 'reset')).toMatch(/--soft +Soft reset \(RFC 2918 ROUTE-REFRESH/);
    const routes = help('routes');
    expect(routes).toMatch(/agent routes for <address> +The route a packet to this address follows/);
    expect(routes).toMatch(/agent routes flush/);
  });
});

describe('--json without a running agent', () => {
  it('status --json prints a JSON error on stdout and the message on stderr, exit 1', () => {
    const r = agent('status', '--json');
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.out) as { error: string };
    expect(parsed.error).toMatch(/^Calico process is not running: no agent answers on .*none\.ctl \(no control socket there\)$/);
    expect(r.err.trim()).toBe(parsed.error);
  });

  it('peers --json does the same; without --json stdout stays empty', () => {
    expect(JSON.parse(agent('peers', '--json').out)).toHaveProperty('error');
    const plain = agent('status');
    expect(plain.code).toBe(1);
    expect(plain.out).toBe('');
    expect(plain.err).toMatch(/Calico process is not running/);
  });
});

describe('agent version', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  it('prints the package version, the commit build_info reports, and the node version; --version says the same', () => {
    expect(JSON.parse(agent('version', '--json').out)).toEqual({ version: pkg.version, commit: buildCommit(), node: process.version });
    const text = agent('version').out.split('\n');
    expect(text[0]).toBe(`agent ${pkg.version}`);
    expect(text[1]).toBe(`commit ${buildCommit()}`);
    expect(text[1]).toMatch(/^commit ([0-9a-f]{7,40}|unknown)$/);
    expect(text[2]).toBe(`node ${process.version}`);
    expect(agent('--version').out).toBe(agent('version').out);
  });
});

describe('--kernel-backend', () => {
  it('is one definition: run and routes flush take exactly the same values', () => {
    expect(RUN_OPTIONS['kernel-backend']).toBe(KERNEL_BACKEND_OPTION);
    let seen: Record<string, unknown> = {};
    const parse = (argv: string[]) =>
      yargs(argv).strict().exitProcess(false).fail((msg) => { throw new Error(msg); })
        .command({ ...routesFlushCommand, handler: (a: Record<string, unknown>) => void (seen = a) } as never).parseSync();
    parse(['flush', '--kernel-backend', 'ip-batch']);
    expect(seen['kernel-backend']).toBe('ip-batch');
    expect(() => parse(['flush', '--kernel-backend', 'ip'])).toThrow(/Invalid values/);
    expect(help('routes', 'flush')).toMatch(/--kernel-backend [^[]*\[string\] \[choices: "netlink", "ip-batch"\] \[default: "netlink"\]/);
    expect(help('run')).toMatch(/--kernel-backend [^[]*\[string\] \[choices: "netlink", "ip-batch"\] \[default: "netlink"\]/);
  });
});

/** The modules a file loads when it runs: static imports only (dynamic import() is loaded on demand), type-only imports left out. */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gms)) {
    staticImports(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

describe('the probes stay light', () => {
  it('status, ready, live, peers and version load nothing of the BGP stack, the datastore or the kernel', () => {
    for (const cmd of ['status', 'probes', 'inspect', 'version']) {
      const loaded = [...staticImports(join(REPO, 'src/cli/commands', `${cmd}.ts`))].map((f) => f.slice(REPO.length + 1));
      expect(loaded.filter((f) => /^src\/(bgp|kernel|datastore|bfd)\//.test(f)), cmd).toEqual([]);
      if (cmd !== 'version') expect(loaded).toContain('src/agent/control.ts'); // the walk does follow imports
    }
  });
});
