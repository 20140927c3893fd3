/**
 * Readiness and liveness for Kubernetes probes, with every failing check
 * named and explained — what calico-node's `-bird-ready` never says.
 */
import type { StatusSnapshot } from './snapshot.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ReadinessOptions {
  /** Seconds after start during which unestablished peers do not fail readiness. */
  gracePeriod: number;
}

export function readiness(snap: StatusSnapshot, opts: ReadinessOptions): Check[] {
  const checks: Check[] = [];
  const ds = snap.datastore;
  checks.push({
    name: 'datastore',
    ok: ds.synced,
    detail: ds.synced
      ? ds.connected
        ? `synced at revision ${ds.revision}`
        : `synced at revision ${ds.revision}, disconnected since ${new Date(ds.since).toISOString()} (state held)`
      : `not synced yet${ds.lastError ? `: ${ds.lastError}` : ''}`,
  });

  const inGrace = snap.now - snap.startedAt < opts.gracePeriod * 1000;
  // Without its own Node resource the node has no address or AS: no speaker
  // runs, so "0 peers down" must not read as ready.
  const nodeProblem = snap.node.problem;
  checks.push({
    name: 'node',
    ok: nodeProblem === undefined || (inGrace && ds.synced === false),
    detail:
      nodeProblem === undefined
        ? `node ${snap.node.name} is ${snap.node.ipv4 ?? snap.node.ipv6 ?? '?'}, AS ${snap.node.asNumber ?? '?'}`
        : `${nodeProblem}: no BGP speaker runs` + (inGrace && !ds.synced ? ` — within the ${opts.gracePeriod}s start-up grace period` : ''),
  });
  if (snap.listener?.error) {
    checks.push({ name: 'listen', ok: false, detail: `${snap.listener.error}: peers cannot connect to this node` });
  }

  // A session the operator disabled (`agent peers disable`) is down on purpose: named, not failed.
  const disabled = snap.peers.filter((p) => p.disabled);
  const down = snap.peers.filter((p) => p.bgpState !== 'Established' && !p.disabled);
  const peersOk = down.length === 0 || inGrace;
  const disabledWords = disabled.length ? `; ${disabled.length} disabled by the operator: ${disabled.map((p) => p.address).join(', ')}` : '';
  checks.push({
    name: 'bgp',
    ok: peersOk,
    detail:
      down.length === 0
        ? `${snap.peers.length - disabled.length} peer(s) Established${disabledWords}`
        : `${down.length} of ${snap.peers.length} peer(s) not Established: ` +
          down.map((p) => `${p.address} ${p.bgpState}${p.lastError ? ` (${p.lastError})` : ''}`).join('; ') +
          (inGrace ? ` — within the ${opts.gracePeriod}s start-up grace period` : '') +
          disabledWords,
  });

  const k = snap.kernel;
  const kernelOk = !k.enabled || (k.failed.length === 0 && !k.tunnelMissing);
  checks.push({
    name: 'routes',
    ok: kernelOk,
    detail: !k.enabled
      ? `not programming routes${k.note ? `: ${k.note}` : ''}`
      : k.tunnelMissing
        ? k.tunnelMissing
        : k.failed.length
          ? `${k.failed.length} route(s) failed to program: ` + k.failed.slice(0, 5).map((f) => `${f.route}: ${f.error}`).join('; ')
          : `${k.routes} route(s) programmed`,
  });
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n') + '\n';
}

/**
 * The kernel programmer's reconcile loop is alive when it ran within three
 * scan periods (it runs at least once per `scan time`, 2 s as BIRD's kernel
 * protocol, and after every change). A dead loop learns routes and programs
 * none of them (issue 15), so liveness and status both say so.
 */
export function kernelLoopCheck(snap: StatusSnapshot): Check | undefined {
  const k = snap.kernel;
  if (!k.enabled) return undefined;
  const limitMs = Math.max(3 * (k.scanIntervalMs ?? 2000), 10_000);
  if (k.lastLoopAt === undefined) {
    const sinceStart = snap.now - snap.startedAt;
    return {
      name: 'kernel',
      ok: sinceStart < limitMs,
      detail: `reconcile loop has not run since the agent started ${(sinceStart / 1000).toFixed(1)} s ago`,
    };
  }
  const age = snap.now - k.lastLoopAt;
  return {
    name: 'kernel',
    ok: age < limitMs,
    detail: `reconcile loop ran ${(age / 1000).toFixed(1)} s ago` + (age < limitMs ? '' : ` (expected every ${(k.scanIntervalMs ?? 2000) / 1000} s): routes are not being programmed`),
  };
}
