/**
 * Writing the lab's Calico resources into etcd. The lab uses the agent's own
 * `agent datastore apply` (calicoctl apply's counterpart) when the built CLI
 * has it; until then it writes the same resources with etcdctl at the keys
 * Calico's etcdv3 backend uses (resources.ts), and says so.
 */
import { Netns } from '../testbed/netns.js';
import { agentCli, agentHasCommand } from './agent-node.js';
import { ETCD_LOCAL, etcdTxn } from './etcd-node.js';
import type { LabPlan } from './plan.js';
import { toEtcdKeyValues, toYaml, type Resource } from './resources.js';

export type WriterKind = 'agent datastore apply' | 'etcdctl';

/** `required`: the lab was asked to test the agent (--speaker agent), so the etcdctl fallback is refused. */
export function pickWriter(repo: string, required = false): WriterKind {
  if (agentHasCommand(repo, ['datastore', 'apply'])) return 'agent datastore apply';
  if (required) throw new Error(`the built CLI (${agentCli(repo)}) has no \`agent datastore apply\`; build it (npm run build) or use --speaker auto`);
  return 'etcdctl';
}

export function writeResources(plan: LabPlan, repo: string, writer: WriterKind, resources: Resource[]): string {
  if (writer === 'agent datastore apply') {
    // Inside the etcd namespace: etcd listens on its loopback there too.
    return new Netns(plan.etcd.ns).exec(
      process.execPath,
      [agentCli(repo), 'datastore', 'apply', '-f', '-', '--etcd-endpoints', ETCD_LOCAL],
      { input: toYaml(resources) },
    );
  }
  etcdTxn(plan, toEtcdKeyValues(resources).map(([k, v]) => ({ put: [k, v] as [string, string] })));
  return '';
}
