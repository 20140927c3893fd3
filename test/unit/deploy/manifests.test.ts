/**
 * deploy/: every manifest parsed and checked for what running the agent for
 * real depends on — the image's entry point is the `agent` CLI, probes call
 * `agent ready` / `agent live`, the pod has the host network and NET_ADMIN,
 * every environment variable set is one the agent reads, the example Calico
 * resources pass the agent's own validation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { manifestToKeyValue, parseManifests } from '../../../src/datastore/admin.js';
import { decodeKv } from '../../../src/datastore/model/resources.js';
import { liveCommand, readyCommand } from '../../../src/cli/commands/probes.js';
import { spawnSync } from 'node:child_process';
import { autodetectAddress } from '../../../src/agent/autodetection.js';
import { DEFAULT_METRICS_PORT } from '../../../src/agent/config.js';

const repo = resolve(__dirname, '../../..');
const deploy = join(repo, 'deploy');
const read = (p: string) => readFileSync(join(deploy, p), 'utf8');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const tsconfig = JSON.parse(readFileSync(join(repo, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };

/** The agent CLI as built: package.json's bin.agent, e.g. dist/src/cli/main.js. */
const cliPath = pkg.bin.agent;

/**
 * Environment variables the agent reads, found in its configuration sources
 * (calico-node's names: NODENAME, IP, ETCD_*, ... and the agent's AGENT_*).
 */
function envNamesTheAgentReads(): Set<string> {
  const names = new Set<string>();
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
    }
  };
  for (const d of ['src/agent', 'src/datastore', 'src/cli']) walk(join(repo, d));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    for (const m of text.matchAll(/pick\([^,()]*, '([A-Z][A-Z0-9_]+)'\)/g)) names.add(m[1]);
  }
  return names;
}

// ---- Dockerfile ----

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const sp = l.indexOf(' ');
      return { op: l.slice(0, sp).toUpperCase(), args: l.slice(sp + 1).trim() };
    });
}

describe('deploy/Dockerfile', () => {
  const ins = parseDockerfile(read('Dockerfile'));
  const froms = ins.filter((i) => i.op === 'FROM');
  const finalStage = ins.slice(ins.lastIndexOf(froms[froms.length - 1]));

  it('is multi-stage on node:20-slim', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f.args.split(/\s+/)[0]).toBe('node:20-slim');
    // The runtime stage takes the build's output, not the sources or dev dependencies.
    const copies = finalStage.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.every((c) => c.startsWith('--from='))).toBe(true);
    expect(copies.some((c) => / \/src\/node_modules /.test(` ${c} `) || c.includes('/src/node_modules'))).toBe(true);
    expect(ins.some((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args))).toBe(true);
  });

  it('builds with tsc into the outDir package.json points the agent bin at', () => {
    expect(cliPath.startsWith(`${tsconfig.compilerOptions.outDir}/`)).toBe(true);
    expect(ins.some((i) => i.op === 'RUN' && /tsc -p tsconfig\.json/.test(i.args))).toBe(true);
    expect(finalStage.some((i) => i.op === 'COPY' && i.args.includes(`/src/${tsconfig.compilerOptions.outDir}/src`))).toBe(true);
  });

  it('has the agent CLI as entry point, running `agent run`', () => {
    const entry = finalStage.filter((i) => i.op === 'ENTRYPOINT').at(-1);
    const cmd = finalStage.filter((i) => i.op === 'CMD').at(-1);
    expect(entry).toBeDefined();
    const argv = JSON.parse(entry!.args) as string[]; // exec form: signals reach the agent itself
    expect(JSON.parse(cmd!.args)).toEqual(['run']);
    if (argv[0] === 'agent') {
      // `agent` must be a link to the built CLI.
      const link = finalStage.find((i) => i.op === 'RUN' && /ln -s \S+ \/usr\/local\/bin\/agent/.test(i.args));
      expect(link?.args).toMatch(new RegExp(`ln -s \\S*/${cliPath.replace(/[./]/g, '\\$&')} /usr/local/bin/agent`));
    } else {
      expect(argv[0]).toBe('node');
      expect(argv[1]).toMatch(new RegExp(`${cliPath.replace(/[./]/g, '\\$&')}$`));
    }
  });

  it('is tagged with package.json\'s version, the image the DaemonSet runs (issue 23)', () => {
    const text = read('Dockerfile');
    const tag = /docker build [^\n]*-t (\S+) \./.exec(text)?.[1];
    expect(tag).toBe(`calico-bgp-agent:${pkg.version}`);
    const label = finalStage.find((i) => i.op === 'LABEL')?.args ?? '';
    expect(/org\.opencontainers\.image\.version="([^"]+)"/.exec(label)?.[1]).toBe(pkg.version);
    const ds = parseAllDocuments(read('kubernetes/daemonset.yaml')).map((d) => d.toJS() as Record<string, any>).find((d) => d.kind === 'DaemonSet'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(ds?.spec.template.spec.containers[0].image).toBe(tag);
  });

  it('writes the COMMIT build argument where build_info reads it (the package root, beside package.json)', () => {
    const workdir = finalStage.filter((i) => i.op === 'WORKDIR').at(-1)?.args;
    expect(finalStage.some((i) => i.op === 'COPY' && i.args === '--from=build /src/package.json ./')).toBe(true);
    expect(workdir).toBeTruthy();
    expect(finalStage.some((i) => i.op === 'ARG' && /^COMMIT\b/.test(i.args))).toBe(true);
    expect(finalStage.some((i) => i.op === 'RUN' && /echo "\$COMMIT" > COMMIT/.test(i.args))).toBe(true);
  });

  it('sets only environment variables the agent reads', () => {
    const known = envNamesTheAgentReads();
    const set = finalStage.filter((i) => i.op === 'ENV').map((i) => i.args.split(/[= ]/)[0]);
    for (const name of set.filter((n) => n !== 'NODE_ENV')) expect(known, name).toContain(name);
  });
});

// ---- Kubernetes ----

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('deploy/kubernetes/daemonset.yaml', () => {
  // YAML 1.1, as Kubernetes reads manifests: `defaultMode: 0400` is octal there.
  const docs = parseAllDocuments(read('kubernetes/daemonset.yaml'), { version: '1.1' }).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  const pod = ds?.spec?.template?.spec as Obj;
  const agent = (pod?.containers as Obj[])?.find((c) => c.name === 'agent') as Obj;

  it('is a DaemonSet whose selector matches its pods', () => {
    expect(ds.apiVersion).toBe('apps/v1');
    expect(ds.metadata.name).toBeTruthy();
    expect(ds.metadata.namespace).toBe('kube-system');
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
    expect(agent.image).toBeTruthy();
    expect(agent.args).toEqual(['run']);
  });

  it('runs on the host network with NET_ADMIN, tolerating every taint', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(agent.securityContext.capabilities.add).toContain('NET_ADMIN');
    expect(pod.tolerations.some((t: Obj) => t.operator === 'Exists' && t.effect === 'NoSchedule')).toBe(true);
  });

  it('probes with `agent ready` and `agent live`, commands the CLI has', () => {
    expect(agent.readinessProbe.exec.command).toEqual(['agent', 'ready']);
    expect(agent.livenessProbe.exec.command).toEqual(['agent', 'live']);
    expect(readyCommand.command).toBe('ready');
    expect(liveCommand.command).toBe('live');
  });

  it('waits long enough on termination for a graceful restart (Calico restart time 120 s)', () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
  });

  it('reads calico-node\'s own calico-config ConfigMap and calico-etcd-secrets Secret, as calico-etcd.yaml does (issue 23)', () => {
    const env = new Map((agent.env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('NODENAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(env.get('IP')?.value).toBe('autodetect');
    // calico-node's variables from calico-config's keys: nothing of the agent's own to fill in.
    for (const [name, key] of [['ETCD_ENDPOINTS', 'etcd_endpoints'], ['ETCD_CA_CERT_FILE', 'etcd_ca'], ['ETCD_CERT_FILE', 'etcd_cert'], ['ETCD_KEY_FILE', 'etcd_key']]) {
      expect(env.get(name)?.valueFrom?.configMapKeyRef, name).toEqual({ name: 'calico-config', key });
    }
    // calico-config's TLS paths point under /calico-secrets: the Secret is mounted there.
    const vol = (pod.volumes as Obj[]).find((v) => v.secret?.secretName === 'calico-etcd-secrets');
    expect(vol?.secret.defaultMode).toBe(0o400);
    const mount = (agent.volumeMounts as Obj[]).find((m) => m.name === vol?.name);
    expect(mount).toMatchObject({ mountPath: '/calico-secrets', readOnly: true });
    // No ConfigMap or Secret of its own to fill in before applying.
    expect(docs.filter((d) => d.kind !== 'DaemonSet').map((d) => `${d.kind}/${d.metadata?.name}`)).toEqual([]);
  });

  it('autodetects the node address by an IP_AUTODETECTION_METHOD the agent accepts (issue 23)', () => {
    const method = (agent.env as Obj[]).find((e) => e.name === 'IP_AUTODETECTION_METHOD')?.value as string;
    expect(method).toBe('first-found');
    const eth0 = [{ address: '10.0.1.2', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '', internal: false, cidr: '10.0.1.2/24' }];
    expect(autodetectAddress(method, 4, 'IP_AUTODETECTION_METHOD', { interfaces: () => ({ eth0 }) })).toMatchObject({ address: '10.0.1.2' });
  });

  it('serves metrics on the default port at the pod (= node) address, where its scrape annotations point, not on 9901', () => {
    const env = new Map((agent.env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('AGENT_METRICS_ENABLED')?.value).toBe('true');
    expect(env.has('AGENT_METRICS_PORT')).toBe(false); // the default, DEFAULT_METRICS_PORT
    expect(env.get('AGENT_METRICS_ADDRESS')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect((agent.ports as Obj[]).find((p) => p.name === 'metrics')?.containerPort).toBe(DEFAULT_METRICS_PORT);
    expect(ds.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(DEFAULT_METRICS_PORT));
    expect(read('kubernetes/daemonset.yaml')).not.toMatch(/^\s*[^#\s].*\b9901\b/m);
  });

  it('mounts BGP password Secrets at BGP_SECRETS_DIR/<secret name>, read-only and optional (issue 20)', () => {
    const dir = (agent.env as Obj[]).find((e) => e.name === 'BGP_SECRETS_DIR')?.value as string;
    expect(dir).toBe('/etc/calico/bgp-secrets');
    const mounts = (agent.volumeMounts as Obj[]).filter((m) => (m.mountPath as string).startsWith(`${dir}/`));
    expect(mounts.length).toBeGreaterThan(0);
    for (const m of mounts) {
      const vol = (pod.volumes as Obj[]).find((v) => v.name === m.name);
      expect(m.readOnly).toBe(true);
      expect(vol?.secret?.optional).toBe(true);
      expect(m.mountPath).toBe(`${dir}/${vol?.secret?.secretName}`);
    }
  });

  it('sets only environment variables the agent reads', () => {
    const known = envNamesTheAgentReads();
    expect(known.size).toBeGreaterThan(5);
    for (const e of agent.env as Obj[]) expect(known, e.name).toContain(e.name);
  });

  it('shares the control socket directory with the host, where AGENT_CONTROL_SOCKET points', () => {
    const sock = (agent.env as Obj[]).find((e) => e.name === 'AGENT_CONTROL_SOCKET')?.value as string;
    const mount = (agent.volumeMounts as Obj[]).find((m) => sock.startsWith(`${m.mountPath}/`));
    expect(mount).toBeDefined();
    const vol = (pod.volumes as Obj[]).find((v) => v.name === mount!.name);
    expect(vol?.hostPath?.path).toBe(mount!.mountPath);
  });
});

// ---- systemd ----

function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#') || l.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) {
      section = new Map();
      out.set(s[1], section);
      continue;
    }
    const eq = l.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit-file line: ${l}`);
    const k = l.slice(0, eq).trim();
    section.set(k, [...(section.get(k) ?? []), l.slice(eq + 1).trim()]);
  }
  return out;
}

describe('deploy/systemd/calico-bgp-agent.service', () => {
  const unit = parseUnit(read('systemd/calico-bgp-agent.service'));
  const svc = unit.get('Service')!;
  const one = (k: string) => svc.get(k)?.at(-1);

  it('runs the `agent` command it installs, linked to the built CLI, restarting always (issue 23)', () => {
    expect(unit.get('Unit')?.get('Description')).toBeDefined();
    const [bin, verb] = one('ExecStart')!.split(/\s+/);
    expect(verb).toBe('run');
    expect(bin).toBe('/usr/local/bin/agent');
    // The install steps in its header make that command a link to package.json's bin.agent.
    const text = read('systemd/calico-bgp-agent.service');
    const link = new RegExp(`ln -sf? (\\S+)/${cliPath.replace(/[./]/g, '\\$&')} ${bin.replace(/[./]/g, '\\$&')}`).exec(text);
    expect(link, 'ln -s <root>/<bin.agent> /usr/local/bin/agent').not.toBeNull();
    expect(text).toContain(`chmod +x ${link![1]}/${cliPath}`);
    expect(one('Restart')).toBe('always');
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('does not restart after a configuration error: RestartPreventExitStatus is the status `agent run` exits with for one', () => {
    expect(one('RestartPreventExitStatus')?.split(/\s+/)).toContain('2');
    const r = spawnSync(process.execPath, [join(repo, cliPath), 'run'], { env: { ...process.env, NODENAME: 'Not_A_Node_Name' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toMatch(/configuration error: NODENAME/);
    expect(r.status).toBe(2);
  });

  it('has CAP_NET_ADMIN, many file descriptors and time for a graceful stop', () => {
    expect(one('AmbientCapabilities')?.split(/\s+/)).toContain('CAP_NET_ADMIN');
    expect(one('CapabilityBoundingSet')?.split(/\s+/)).toContain('CAP_NET_ADMIN');
    expect(Number(one('LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThanOrEqual(120);
  });

  it('reads an environment file of variables the agent reads', () => {
    expect(one('EnvironmentFile')).toBe('/etc/calico/bgp-agent.env');
    const known = envNamesTheAgentReads();
    const lines = read('systemd/bgp-agent.env').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(known, l).toContain(l.split('=')[0]);
  });
});

// ---- example resources ----

describe('deploy/examples', () => {
  const files = readdirSync(join(deploy, 'examples')).filter((f) => f.endsWith('.yaml'));

  it('has the resources a cluster needs', () => {
    const kinds = new Set(files.flatMap((f) => parseManifests(read(`examples/${f}`)).map((m) => m.kind)));
    for (const k of ['BGPConfiguration', 'Node', 'IPPool', 'BGPPeer', 'IPAMBlock', 'BlockAffinity']) expect(kinds).toContain(k);
  });

  for (const f of files) {
    it(`${f} passes the agent's own validation`, () => {
      const manifests = parseManifests(read(`examples/${f}`));
      expect(manifests.length).toBeGreaterThan(0);
      for (const m of manifests) {
        expect(m.apiVersion).toBe('projectcalico.org/v3');
        const kv = manifestToKeyValue(m);
        expect(kv.key.startsWith('/calico/')).toBe(true);
        expect(decodeKv(kv.key, kv.value), kv.label).toBeDefined();
      }
    });
  }
});
