/**
 * Logging: pino, JSON lines by default (what log collectors want), readable
 * through pino-pretty when stderr is a terminal. The level can be changed
 * while running through the control socket (`agent log-level debug`).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean; destination?: number } = {}): Logger {
  const pretty = opts.pretty ?? (process.stderr.isTTY === true && process.env.AGENT_LOG_FORMAT !== 'json');
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, pino.destination({ fd: opts.destination ?? 2, sync: false }));
}

/** A logger that drops everything, for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
