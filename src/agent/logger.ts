/**
 * Logging: pino, JSON lines by default (what log collectors want), readable
 * through pino-pretty when stderr is a terminal. The level can be changed
 * while running through the control socket (`agent log-level debug`).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * pino writes its own "level" first and then the caller's fields as they are,
 * so a field named `level` (`log.info({ previous, level })` in `agent log-level`
 * did this) gave the line a second "level" key: JSON parsers keep the last one,
 * and log collectors read the level as "debug" text instead of 30 (issue 23).
 * The caller's field is kept, renamed `levelName`, so every line has exactly one.
 */
export function withoutLevelField(fields: Record<string, unknown>): Record<string, unknown> {
  if (!Object.prototype.hasOwnProperty.call(fields, 'level')) return fields;
  const { level, ...rest } = fields;
  return { ...rest, levelName: level };
}

export function createLogger(level: string, opts: { pretty?: boolean; destination?: number } = {}): Logger {
  const pretty = opts.pretty ?? (process.stderr.isTTY === true && process.env.AGENT_LOG_FORMAT !== 'json');
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { log: withoutLevelField } };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, pino.destination({ fd: opts.destination ?? 2, sync: false }));
}

/** A logger that drops everything, for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
