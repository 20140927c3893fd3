import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

/**
 * Every subcommand of `agent`, in the order `agent --help` lists them, with
 * the names that select it and a loader. Loaders, not modules: `agent run`
 * is a long-lived daemon and pays for every module it loads for as long as
 * it runs (source text, compiled code and module records stay in the heap),
 * so it should not load `datastore`'s YAML parser and etcd admin code,
 * `decode`'s dump formatting or `routes flush`'s backends. Measured with
 * bench/profile-session/idle.sh: see the commit that introduced this table.
 */
export interface CommandEntry {
  names: readonly string[];
  load(): Promise<AnyCommand[]>;
}

export const commandTable: readonly CommandEntry[] = [
  { names: ['run'], load: async () => [(await import('./run.js')).runCommand] },
  { names: ['status'], load: async () => [(await import('./status.js')).statusCommand] },
  {
    names: ['ready', 'live'],
    load: async () => {
      const m = await import('./probes.js');
      return [m.readyCommand, m.liveCommand];
    },
  },
  {
    names: ['peers', 'log-level'],
    load: async () => {
      const m = await import('./inspect.js');
      return [m.peersCommand, m.logLevelCommand];
    },
  },
  { names: ['routes'], load: async () => [(await import('./routes.js')).routesCommand] },
  { names: ['datastore'], load: async () => [(await import('./datastore.js')).datastoreCommand] },
  { names: ['decode'], load: async () => [(await import('./decode.js')).decodeCommand] },
  { names: ['version'], load: async () => [(await import('./version.js')).versionCommand] },
];

/** Display order of `agent --help` (the table's order, with the two-command modules split as before). */
const ORDER = ['run', 'status', 'ready', 'live', 'peers', 'routes', 'log-level', 'datastore', 'decode', 'version'];

/**
 * The commands to register for this command line: only the one named by the
 * first positional argument when it names one (`agent run ...`,
 * `agent run --help`), every command otherwise (`agent --help`, a typo that
 * yargs should answer with a suggestion, no command at all).
 */
export async function commandsFor(argv: readonly string[]): Promise<AnyCommand[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const entry = first === undefined ? undefined : commandTable.find((e) => e.names.includes(first));
  if (entry) return entry.load();
  const all = (await Promise.all(commandTable.map((e) => e.load()))).flat();
  const name = (c: AnyCommand) => String(c.command).split(' ')[0];
  return all.sort((a, b) => ORDER.indexOf(name(a)) - ORDER.indexOf(name(b)));
}
