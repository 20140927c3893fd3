/**
 * The one logger interface every part is handed (pino's Logger satisfies it):
 * structured fields first, then the message, as pino takes them. A part that
 * needs fewer levels names them with `Pick<Log, ...>`, so a test's fake need
 * not implement the rest. Injected like the clock: no module logs on its own.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Drops everything: the default where nobody asked to hear. */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
