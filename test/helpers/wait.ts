/** Poll `fn` every 50 ms until it returns something truthy; fail naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface EventuallyOptions {
  /** Poll interval (default 250 ms: each poll of an integration test usually runs a CLI or birdc). */
  everyMs?: number;
  /** State worth reading when it times out (an agent's log tail, BIRD's log, routes). */
  context?: () => string;
}

/**
 * Like `until` for conditions read from processes that may not answer yet:
 * a throwing `fn` counts as "not yet", and on timeout the last error and the
 * `context` are part of the failure, so a red test says what it saw.
 */
export async function eventually<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 40_000,
  opts: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last ? `: ${(last as Error).message}` : '';
      let ctx = '';
      try {
        ctx = opts.context ? `\n${opts.context()}` : '';
      } catch (err) {
        ctx = `\n(context unavailable: ${(err as Error).message})`;
      }
      throw new Error(`timed out waiting for ${what}${why}${ctx}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
  }
}
