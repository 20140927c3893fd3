/**
 * `agent datastore apply|get|delete`: calicoctl-like access to Calico's etcd
 * datastore (see src/datastore/admin.ts for the IPAM forms).
 */
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { stringify } from 'yaml';
import { applyManifests, deleteResource, getResources, ipamNameHint, manifestLabel, parseManifests, resolveKind, type Manifest, type StoredResource } from '../../datastore/admin.js';
import { createEtcdClient, etcdConfigFromEnv, type EtcdConfig } from '../../datastore/etcd-config.js';

interface EtcdArgs {
  'etcd-endpoints'?: string;
  'etcd-ca-cert-file'?: string;
  'etcd-cert-file'?: string;
  'etcd-key-file'?: string;
}

function etcdOptions<T>(y: Argv<T>): Argv<T & EtcdArgs> {
  return y
    .option('etcd-endpoints', { type: 'string', describe: 'comma list of etcd URLs [env ETCD_ENDPOINTS, default http://127.0.0.1:2379]' })
    .option('etcd-ca-cert-file', { type: 'string', describe: 'CA certificate [env ETCD_CA_CERT_FILE]' })
    .option('etcd-cert-file', { type: 'string', describe: 'client certificate [env ETCD_CERT_FILE]' })
    .option('etcd-key-file', { type: 'string', describe: 'client key [env ETCD_KEY_FILE]' }) as Argv<T & EtcdArgs>;
}

function configFrom(argv: EtcdArgs): EtcdConfig {
  const overrides: Partial<EtcdConfig> = {};
  if (argv['etcd-endpoints']) overrides.endpoints = argv['etcd-endpoints'].split(',').map((s) => s.trim()).filter(Boolean);
  if (argv['etcd-ca-cert-file']) overrides.caCertFile = argv['etcd-ca-cert-file'];
  if (argv['etcd-cert-file']) overrides.certFile = argv['etcd-cert-file'];
  if (argv['etcd-key-file']) overrides.keyFile = argv['etcd-key-file'];
  return etcdConfigFromEnv(process.env, overrides);
}

/**
 * etcd's gRPC errors in operator words: which endpoints, and what went wrong
 * (unreachable, timed out, refused credentials), not the client's prose.
 */
export function etcdWords(err: unknown, endpoints: string[]): string {
  const e = err as { code?: number; details?: string; message?: string };
  const where = `etcd at ${endpoints.join(', ')}`;
  const msg = e.message ?? String(err);
  const cause = /ECONNREFUSED/.test(msg) ? 'connection refused' : /ENOTFOUND|EAI_AGAIN/.test(msg) ? 'host not found' : /ETIMEDOUT|EHOSTUNREACH/.test(msg) ? 'no route or timed out' : undefined;
  switch (e.code) {
    case 14:
      return `${where} is unreachable${cause ? ` (${cause})` : ''}`;
    case 4:
      return `${where} did not answer in time`;
    case 16:
    case 7:
      return `${where} refused our credentials (ETCD_USERNAME / ETCD_PASSWORD or the client certificate)`;
    default:
      return cause ? `${where} is unreachable (${cause})` : msg.replace(/^\d+ [A-Z_]+: /, '');
  }
}

/** Run `fn` with an etcd client, every failure (configuration or etcd) as one line and exit status 1. */
async function withClient(argv: EtcdArgs, what: string, fn: (client: ReturnType<typeof createEtcdClient>) => Promise<void>): Promise<void> {
  let config: EtcdConfig;
  try {
    config = configFrom(argv);
  } catch (err) {
    return fail((err as Error).message);
  }
  const client = createEtcdClient(config);
  try {
    await fn(client);
  } catch (err) {
    fail(`${what} failed: ${etcdWords(err, config.endpoints)}`);
  } finally {
    client.close();
  }
}

function fail(msg: string): void {
  process.stderr.write(`${msg}\n`);
  process.exitCode = 1;
}

const IPAM_HELP = `
Besides Node, BGPConfiguration, BGPPeer and IPPool (projectcalico.org/v3, as
calicoctl writes them), two IPAM kinds are accepted and written exactly where
Calico keeps them:

  kind: IPAMBlock        -> /calico/ipam/v2/assignment/ipv4/block/<a.b.c.d-len>
  spec: {cidr: 10.8.94.64/26, affinity: "host:node-a"}      (allocations optional)

  kind: BlockAffinity    -> /calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>
  spec: {node: node-a, cidr: 10.8.94.64/26, state: confirmed}  (pending | pendingDeletion)

Several documents (---), a JSON array, or kind: List with items are accepted.
Every resource is validated first; if any is invalid, nothing is written.`;

interface ApplyArgs extends EtcdArgs {
  filename: string;
}

const apply: CommandModule<object, ApplyArgs> = {
  command: 'apply',
  describe: 'create or replace resources from a YAML/JSON file (- for stdin)',
  builder: (y) =>
    etcdOptions(y)
      .option('filename', { alias: 'f', type: 'string', demandOption: true, describe: 'file, or - for stdin' })
      .epilogue(IPAM_HELP) as unknown as Argv<ApplyArgs>,
  handler: async (argv) => {
    let text: string;
    try {
      text = readFileSync(argv.filename === '-' ? 0 : argv.filename, 'utf8');
    } catch (err) {
      return fail(`cannot read ${argv.filename}: ${(err as Error).message}`);
    }
    let manifests;
    try {
      manifests = parseManifests(text);
    } catch (err) {
      return fail(`${argv.filename}: ${(err as Error).message}`);
    }
    await withClient(argv, 'apply', async (client) => {
      const r = await applyManifests(client, manifests);
      if (r.errors.length) return fail(`nothing applied; ${r.errors.length} problem(s):\n${r.errors.map((e) => `  ${e}`).join('\n')}`);
      process.stdout.write(`Successfully applied ${r.applied.length} resource(s): ${r.applied.join(', ')}\n`);
    });
  },
};

interface GetArgs extends EtcdArgs {
  kind: string;
  name?: string;
  output: 'table' | 'wide' | 'json' | 'yaml';
}

function tableRow(r: StoredResource): string[] {
  const s = r.spec as Record<string, unknown>;
  const bgp = (s.bgp ?? {}) as Record<string, unknown>;
  switch (r.kind) {
    case 'Node':
      return [String(r.metadata.name), String(bgp.ipv4Address ?? ''), String(bgp.asNumber ?? ''), String(bgp.routeReflectorClusterID ?? '')];
    case 'BGPPeer':
      return [String(r.metadata.name), String(s.peerIP ?? s.peerSelector ?? ''), String(s.node ?? s.nodeSelector ?? '(global)'), String(s.asNumber ?? '')];
    case 'IPPool':
      return [String(r.metadata.name), String(s.cidr ?? ''), String(s.ipipMode ?? 'Never'), String(s.disableBGPExport ?? false)];
    case 'IPAMBlock':
      return [String(r.metadata.name), String(s.cidr ?? ''), String(s.affinity ?? '')];
    case 'BlockAffinity':
      return [String(r.metadata.name), String(s.node), String(s.cidr), String(s.state)];
    default:
      return [String(r.metadata.name), JSON.stringify(s)];
  }
}

const HEADERS: Record<string, string[]> = {
  Node: ['NAME', 'IPV4ADDRESS', 'ASN', 'RRCLUSTERID'],
  BGPPeer: ['NAME', 'PEER', 'NODE', 'ASN'],
  IPPool: ['NAME', 'CIDR', 'IPIPMODE', 'DISABLEBGPEXPORT'],
  IPAMBlock: ['NAME', 'CIDR', 'AFFINITY'],
  BlockAffinity: ['NAME', 'NODE', 'CIDR', 'STATE'],
  BGPConfiguration: ['NAME', 'SPEC'],
};

export function formatTable(kind: string, rows: StoredResource[], wide = false): string {
  const header = [...(HEADERS[kind] ?? ['NAME']), ...(wide ? ['SPEC'] : [])];
  const all = [header, ...rows.map((r) => [...tableRow(r), ...(wide ? [JSON.stringify(r.spec)] : [])])];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()).join('\n') + '\n';
}

const get: CommandModule<object, GetArgs> = {
  command: 'get <kind> [name]',
  describe: 'show resources: nodes, bgpconfigurations, bgppeers, ippools, ipamblocks, blockaffinities',
  builder: (y) =>
    etcdOptions(y)
      .positional('kind', { type: 'string', demandOption: true })
      .positional('name', { type: 'string' })
      .option('output', { alias: 'o', choices: ['table', 'wide', 'json', 'yaml'] as const, default: 'table' as const }) as unknown as Argv<GetArgs>,
  handler: async (argv) => {
    let kind;
    try {
      kind = resolveKind(argv.kind);
    } catch (err) {
      return fail((err as Error).message);
    }
    await withClient(argv, 'get', async (client) => {
      const rows = await getResources(client, kind, argv.name);
      if (argv.name !== undefined && rows.length === 0) {
        const hint = ipamNameHint(kind, argv.name);
        return fail(`${kind} "${argv.name}" not found${hint ? ` (${hint})` : ''}`);
      }
      const single = argv.name !== undefined && rows.length === 1;
      const doc = single ? rows[0] : { apiVersion: 'projectcalico.org/v3', kind: 'List', items: rows };
      if (argv.output === 'json') process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      else if (argv.output === 'yaml') process.stdout.write(stringify(doc));
      else process.stdout.write(formatTable(kind, rows, argv.output === 'wide'));
    });
  },
};

interface DeleteArgs extends EtcdArgs {
  kind?: string;
  name?: string;
  filename?: string;
}

/** What to delete: the positional kind and name, or every resource of a file (as calicoctl delete -f). */
function deleteTargets(argv: DeleteArgs): { kind: string; name: string; label: string }[] {
  if (argv.filename !== undefined) {
    const manifests: Manifest[] = parseManifests(readFileSync(argv.filename === '-' ? 0 : argv.filename, 'utf8'));
    return manifests.map((m) => {
      const label = manifestLabel(m);
      return { kind: m.kind, name: label.slice(label.indexOf('/') + 1), label };
    });
  }
  if (!argv.kind || !argv.name) throw new Error('give <kind> <name>, or -f <file>');
  return [{ kind: argv.kind, name: argv.name, label: `${argv.kind}/${argv.name}` }];
}

const del: CommandModule<object, DeleteArgs> = {
  command: 'delete [kind] [name]',
  describe: 'delete resources by kind and name, or those of a file (-f); IPAM names as `get` prints them',
  builder: (y) =>
    etcdOptions(y)
      .positional('kind', { type: 'string' })
      .positional('name', { type: 'string' })
      .option('filename', { alias: 'f', type: 'string', describe: 'delete the resources this file names (- for stdin)' }) as unknown as Argv<DeleteArgs>,
  handler: async (argv) => {
    let targets;
    try {
      targets = deleteTargets(argv).map((t) => ({ ...t, kind: resolveKind(t.kind) }));
    } catch (err) {
      return fail((err as Error).message);
    }
    await withClient(argv, 'delete', async (client) => {
      for (const t of targets) {
        const n = await deleteResource(client, t.kind, t.name);
        if (!n) {
          const hint = ipamNameHint(t.kind, t.name);
          fail(`${t.kind} "${t.name}" not found${hint ? ` (${hint})` : ''}`);
          continue;
        }
        process.stdout.write(`Deleted ${t.kind} ${t.name}\n`);
      }
    });
  },
};

export const datastoreApply = apply;
export const datastoreGet = get;
export const datastoreDelete = del;

export const datastoreCommand: CommandModule = {
  command: 'datastore <command>',
  describe: "read and write Calico resources and IPAM in etcd (calicoctl's apply/get/delete)",
  builder: (y) =>
    y
      .command(apply as unknown as CommandModule)
      .command(get as unknown as CommandModule)
      .command(del as unknown as CommandModule)
      .demandCommand(1),
  handler: () => undefined,
};
