/**
 * A lab node running the agent: the one place that knows how `agent run`,
 * `agent status` and `agent ready` are invoked, so a change to the CLI is a
 * change here only.
 *
 * The agent runs inside the node's namespace as calico-node would run on a
 * host (`ip netns exec <ns> node dist/src/cli/main.js run ...`), detached,
 * logging to <state>/<node>/agent.log.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sh } from '../testbed/netns.js';
import { isAlive, startDaemon, tail, type Daemon } from './daemon.js';
import type { LabNode, LabPlan } from './plan.js';

export interface AgentFiles {
  home: string;
  socket: string;
  pid: string;
  log: string;
}

export function agentFiles(dir: string, node: LabNode): AgentFiles {
  const home = join(dir, node.name);
  return { home, socket: join(home, 'agent.sock'), pid: join(home, 'agent.pid'), log: join(home, 'agent.log') };
}

/** The agent CLI, built by `npm run build` / scripts/setup.sh. */
export function agentCli(repo: string): string {
  return join(repo, 'dist', 'src', 'cli', 'main.js');
}

/**
 * True when the built CLI has `agent <cmd...>`: the parent's `--help` lists it
 * (yargs prints generic help, exit 0, for `--help` after an unknown command).
 */
export function agentHasCommand(repo: string, cmd: string[]): boolean {
  try {
    const help = sh(process.execPath, [agentCli(repo), ...cmd.slice(0, -1), '--help']);
    return help.split('\n').some((l) => l.trim().startsWith(`agent ${cmd.join(' ')}`));
  } catch {
    return false;
  }
}

export function agentRunArgs(plan: LabPlan, node: LabNode, files: AgentFiles): string[] {
  return [
    'run',
    '--node-name', node.name,
    '--ip', `${node.address}/${node.prefixLen}`,
    ...(node.address6 && plan.ipv6 ? ['--ip6', `${node.address6}/${plan.ipv6.prefixLen}`] : []),
    '--etcd-endpoints', plan.etcd.clientUrl,
    '--control-socket', files.socket,
    '--pid-file', files.pid,
    '--log-level', 'info',
  ];
}

export async function startAgent(
  plan: LabPlan,
  node: LabNode,
  dir: string,
  repo: string,
  onSpawn: (d: Daemon) => void,
  timeoutMs = 15_000,
): Promise<Daemon> {
  const f = agentFiles(dir, node);
  mkdirSync(f.home, { recursive: true });
  const d = startDaemon(`agent ${node.name}`, node.ns, process.execPath, [agentCli(repo), ...agentRunArgs(plan, node, f)], f.log);
  onSpawn(d); // recorded before waiting, so `down` finds it even if start-up fails
  // Started once its control socket answers `agent status`.
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(d.pid)) throw new Error(`the agent exited at start:\n${tail(f.log)}`);
    try {
      sh(process.execPath, [agentCli(repo), 'status', '--control-socket', f.socket]);
      return d;
    } catch {
      await sleep(150);
    }
  }
  throw new Error(`the agent's control socket ${f.socket} did not answer within ${timeoutMs / 1000} s`);
}

/** `agent status --json` (the snapshot); "" when it fails. */
export function agentStatusJson(dir: string, node: LabNode, repo: string): string {
  try {
    return sh(process.execPath, [agentCli(repo), 'status', '--json', '--control-socket', agentFiles(dir, node).socket]);
  } catch {
    return '';
  }
}

/** `agent status` (calicoctl node status form); a failure is returned as text, not thrown. */
export function agentStatus(dir: string, node: LabNode, repo: string): string {
  try {
    return sh(process.execPath, [agentCli(repo), 'status', '--control-socket', agentFiles(dir, node).socket]).trimEnd();
  } catch (err) {
    return `agent status failed: ${(err as Error).message}`;
  }
}
