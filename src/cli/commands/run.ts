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

type RunArgs = ConfigFlags & { gracefulStop: boolean; kernelBackend: string };

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run the per-node agent (configured like calico-node: NODENAME, IP, AS, CALICO_ROUTER_ID, ETCD_*)',
  builder: (y) =>
    y
      .option('node-name', { type: 'string', describe: 'This node\'s name (NODENAME; default: hostname)' })
      .option('ip', { type: 'string', describe: 'Node IPv4, a.b.c.d[/len] or "autodetect" (IP)' })
      .option('ip6', { type: 'string', describe: 'Node IPv6 (IP6)' })
      .option('as', { type: 'string', describe: 'This node\'s AS number (AS)' })
      .option('router-id', { type: 'string', describe: 'BGP router id, an IPv4 address or "hash" (CALICO_ROUTER_ID)' })
      .option('etcd-endpoints', { type: 'string', describe: 'Comma-separated etcd URLs (ETCD_ENDPOINTS)' })
      .option('control-socket', { type: 'string', describe: 'Control socket path (AGENT_CONTROL_SOCKET; default /var/run/calico/bgp-agent.ctl)' })
      .option('pid-file', { type: 'string', describe: 'Write the pid here (AGENT_PID_FILE)' })
      .option('log-level', { type: 'string', describe: 'fatal, error, warn, info, debug, trace (LOG_LEVEL; default info)' })
      .option('metrics-port', { type: 'string', describe: 'Serve Prometheus metrics on this port (AGENT_METRICS_PORT)' })
      .option('metrics-host', { type: 'string', describe: 'Bind address for metrics (default 0.0.0.0)' })
      .option('listen-port', { type: 'string', describe: 'Override BGPConfiguration listenPort' })
      .option('program-routes', { type: 'boolean', describe: 'Program kernel routes (--no-program-routes: a pure BGP speaker, e.g. a dedicated route reflector)' })
      .option('register-node', { type: 'boolean', describe: 'Create/update this node\'s Node resource at start (default true)' })
      .option('ready-grace-period', { type: 'string', describe: 'Seconds after start before unestablished peers fail readiness (default 30)' })
      .option('restart-hold-time', { type: 'string', describe: 'Seconds to keep routes found at start while peers resend theirs (default 120)' })
      .option('manage-tunnel', { type: 'boolean', describe: 'Set tunl0\'s address (Node ipv4IPIPTunnelAddr) and MTU, bring it up (AGENT_MANAGE_TUNNEL)' })
      .option('tunnel-mtu', { type: 'string', describe: 'MTU for tunl0 with --manage-tunnel (default 1440)' })
      .option('graceful-stop', { type: 'boolean', default: true, describe: 'On SIGTERM, stop with graceful restart (peers keep our routes)' })
      .option('kernel-backend', { choices: ['netlink', 'ip-batch'], default: 'netlink', describe: 'How routes are written' }) as unknown as Argv<RunArgs>,
  handler: async (args) => {
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
      kernelBackend: async (): Promise<KernelBackend> => {
        const { IpBatchBackend } = await import('../../kernel/ip-batch-backend.js');
        if (args.kernelBackend === 'ip-batch') return new IpBatchBackend();
        try {
          const { NetlinkBackend } = await import('../../kernel/netlink-backend.js');
          return await NetlinkBackend.open();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'netlink unavailable; falling back to ip -batch');
          return new IpBatchBackend();
        }
      },
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
  },
};
