/**
 * `agent run`: the per-node agent in the foreground (it is the process; no
 * wrapper that outlives or restarts it). SIGTERM / SIGINT stop it with
 * graceful restart, so peers keep our routes and the kernel keeps its routes.
 */
import type { Argv, CommandModule } from 'yargs';
import { Agent } from '../../agent/agent.js';
import { AgentAlreadyRunningError } from '../../agent/control.js';
import { ConfigError, loadConfig, type ConfigFlags } from '../../agent/config.js';
import { createLogger } from '../../agent/logger.js';
import { Datastore } from '../../datastore/datastore.js';
import type { KernelBackend } from '../../kernel/backend.js';
import { checkFileLimit } from '../../agent/limits.js';
import { KERNEL_BACKEND_OPTION, openKernelBackend } from './kernel-backend.js';

type RunArgs = ConfigFlags & { gracefulStop: boolean; kernelBackend: string };

interface RunOption {
  type: 'string' | 'boolean';
  describe: string;
  default?: string | boolean;
  choices?: readonly string[];
}

/**
 * `agent run`'s options, one table for both parsers: yargs (`agent run
 * --help`, errors, every other command) and `parseRunArgs`, the fast path
 * `agent run` itself takes (see main.ts).
 */
export const RUN_OPTIONS: Readonly<Record<string, RunOption>> = {
  'node-name': { type: 'string', describe: 'This node\'s name (NODENAME; default: hostname)' },
  ip: { type: 'string', describe: 'Node IPv4, a.b.c.d[/len] or "autodetect" (IP)' },
  ip6: { type: 'string', describe: 'Node IPv6 (IP6)' },
  as: { type: 'string', describe: 'This node\'s AS number (AS)' },
  'router-id': { type: 'string', describe: 'BGP router id, an IPv4 address or "hash" (CALICO_ROUTER_ID)' },
  'etcd-endpoints': { type: 'string', describe: 'Comma-separated etcd URLs (ETCD_ENDPOINTS)' },
  'control-socket': { type: 'string', describe: 'Control socket path (AGENT_CONTROL_SOCKET; default /var/run/calico/bgp-agent.ctl)' },
  'pid-file': { type: 'string', describe: 'Write the pid here (AGENT_PID_FILE)' },
  'log-level': { type: 'string', describe: 'fatal, error, warn, info, debug, trace (LOG_LEVEL; default info)' },
  metrics: { type: 'boolean', describe: 'Serve Prometheus metrics on the default port 9095 (AGENT_METRICS_ENABLED=true)' },
  'metrics-port': { type: 'string', describe: 'Serve Prometheus metrics on this port (AGENT_METRICS_PORT)' },
  'metrics-address': { type: 'string', describe: 'Bind address for metrics (AGENT_METRICS_ADDRESS; default the node IP, else 127.0.0.1)' },
  'metrics-host': { type: 'string', describe: 'Older name of --metrics-address' },
  'listen-port': { type: 'string', describe: 'Override BGPConfiguration listenPort' },
  'program-routes': { type: 'boolean', describe: 'Program kernel routes (--no-program-routes: a pure BGP speaker, e.g. a dedicated route reflector)' },
  'register-node': { type: 'boolean', describe: 'Create/update this node\'s Node resource at start (default true)' },
  'ready-grace-period': { type: 'string', describe: 'Seconds after start before unestablished peers fail readiness (default 30)' },
  'restart-hold-time': { type: 'string', describe: 'Seconds to keep routes found at start while peers resend theirs (default 120)' },
  'manage-tunnel': { type: 'boolean', describe: 'Set tunl0\'s address (Node ipv4IPIPTunnelAddr) and MTU, bring it up (AGENT_MANAGE_TUNNEL)' },
  'tunnel-mtu': { type: 'string', describe: 'MTU for tunl0 with --manage-tunnel (default 1440)' },
  'graceful-stop': { type: 'boolean', default: true, describe: 'On SIGTERM, stop with graceful restart (peers keep our routes)' },
  'kernel-backend': KERNEL_BACKEND_OPTION,
};

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parse `agent run`'s arguments (after `run`) without yargs, from the same
 * table: `--name value`, `--name=value`, `--flag`, `--no-flag`,
 * `--flag=true|false`. Anything else (help, version, an unknown option, a
 * positional, a bad choice) returns null, and the caller hands the command
 * line to yargs, which answers it as before. Why: yargs and its string
 * helpers stay in the heap of a daemon that never parses again, ~6 MB of its
 * RSS at rest (bench/profile-session/idle.sh).
 */
export function parseRunArgs(argv: readonly string[]): RunArgs | null {
  const out: Record<string, string | boolean> = {};
  for (const [name, o] of Object.entries(RUN_OPTIONS)) if (o.default !== undefined) out[camel(name)] = o.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') return null;
    const eq = a.indexOf('=');
    let name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    let value: string | boolean | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    let o = RUN_OPTIONS[name];
    if (!o && name.startsWith('no-') && RUN_OPTIONS[name.slice(3)]?.type === 'boolean' && value === undefined) {
      name = name.slice(3);
      o = RUN_OPTIONS[name];
      value = false;
    }
    if (!o) return null;
    if (o.type === 'boolean') {
      if (value === undefined) value = true;
      else if (value === 'true' || value === 'false') value = value === 'true';
      else if (typeof value !== 'boolean') return null;
    } else if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return null;
      value = next;
      i++;
    }
    if (o.choices && !o.choices.includes(String(value))) return null;
    out[camel(name)] = value;
  }
  return out as unknown as RunArgs;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run the per-node agent (configured like calico-node: NODENAME, IP, AS, CALICO_ROUTER_ID, ETCD_*)',
  builder: (y) => {
    for (const [name, o] of Object.entries(RUN_OPTIONS)) {
      y.option(name, { type: o.type, describe: o.describe, ...(o.default !== undefined ? { default: o.default } : {}), ...(o.choices ? { choices: [...o.choices] } : {}) });
    }
    // Passwords have no flag: a flag's value would show in `ps` to every user of the host.
    y.epilog(
      'TCP MD5 passwords (RFC 2385):\n' +
        '  BGP_SECRETS_DIR       where Secrets named by BGPPeer spec.password / BGPConfiguration nodeMeshPassword\n' +
        '                        secretKeyRefs are mounted: <dir>/<secret>/<key> (default /etc/calico/bgp-secrets)\n' +
        '  AGENT_MESH_PASSWORD   fallback password for every mesh session (wins over nodeMeshPassword)\n' +
        '  AGENT_PEER_PASSWORDS  fallback "bgppeer-name=password,..." (wins over a BGPPeer\'s secretKeyRef)',
    );
    return y as unknown as Argv<RunArgs>;
  },
  handler: (args) => runAgent(args),
};

/** `agent run` once its arguments are parsed (by yargs or by parseRunArgs). */
export async function runAgent(args: RunArgs): Promise<void> {
  let config;
  try {
    config = loadConfig(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agent: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  checkFileLimit(log);
  const datastore = new Datastore({
    etcd: config.etcd,
    nodeName: config.nodeName,
    overrides: {
      asNumber: config.asNumber,
      routerId: config.routerId,
      meshPassword: config.meshPassword,
      peerPasswords: config.peerPasswords,
    },
    logger: log.child({ component: 'datastore' }),
  });
  const agent = new Agent(config, {
    logger: log,
    datastore: {
      start: () => datastore.start(),
      stop: () => datastore.stop(),
      onDiff: (fn) => void datastore.on('diff', fn),
      status: () => datastore.status(),
      registerNode: async (n) => void (await datastore.registerNode(n)),
    },
    // Loaded when the agent asks for one (never with --no-program-routes):
    // the netlink backend brings a native addon and its parser library.
    kernelBackend: (): Promise<KernelBackend> =>
      openKernelBackend(args.kernelBackend, (err) => log.warn({ err: err.message }, 'netlink unavailable; falling back to ip -batch')),
    // BIRD's kernel `learn`: the alien routes whose borrowed addresses are advertised.
    // A pure BGP speaker (--no-program-routes) leaves the kernel alone altogether.
    ...(config.programRoutes
      ? {
          alienRoutes: async () => {
            const { NetlinkAlienRoutes } = await import('../../kernel/netlink-alien-routes.js');
            const source = NetlinkAlienRoutes.open({ onError: (err) => log.warn({ err: err.message }, 'kernel route watch') });
            try {
              await source.start();
            } catch (err) {
              source.close();
              throw err;
            }
            return source;
          },
        }
      : {}),
  });
  try {
    await agent.start();
  } catch (err) {
    if (err instanceof AgentAlreadyRunningError) {
      process.stderr.write(`agent: ${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err }, 'agent failed to start');
    await agent.stop({ graceful: true }).catch(() => undefined);
    process.exit(1);
  }
  log.info({ node: config.nodeName, controlSocket: config.controlSocket }, 'agent running');
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal, graceful: args.gracefulStop }, 'stopping');
    agent.stop({ graceful: args.gracefulStop }).then(
      () => {
        log.info(config.programRoutes ? 'stopped; kernel routes left in place' : 'stopped');
        log.flush();
        setTimeout(() => process.exit(0), 50).unref();
      },
      (err: Error) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
