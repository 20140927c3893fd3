/** `agent version`: what runs here, for bug reports (as `calicoctl version`, `birdc show status`). */
import type { CommandModule } from 'yargs';
import { VERSION, buildCommit } from '../../version.js';

/** The commit is the one build_info reports (src/version.ts: the image's COMMIT file, else .git), "unknown" when neither says. */
export function versionInfo(): { version: string; commit: string; node: string } {
  return { version: VERSION, commit: buildCommit(), node: process.version };
}

export function printVersion(json: boolean): void {
  const v = versionInfo();
  process.stdout.write(json ? JSON.stringify(v) + '\n' : `agent ${v.version}\ncommit ${v.commit}\nnode ${v.node}\n`);
}

export const versionCommand: CommandModule<object, { json: boolean }> = {
  command: 'version',
  describe: 'The agent\'s version, the commit it was built from (when known) and the Node.js version',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print it as JSON' }) as never,
  handler: (args) => printVersion(args.json),
};
