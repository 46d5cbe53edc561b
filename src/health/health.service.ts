/** One dependency's state as readiness reports it. */
export interface ComponentHealth {
  status: 'up' | 'down' | 'disabled';
  latencyMs: number | null;
}

export type ComponentName = 'database' | 'cache' | 'assistant';

/** A probe must answer within its own time limit and never throw: a failure is `down`. */
export type HealthProbe = () => Promise<ComponentHealth>;

export interface Readiness {
  status: 'ready' | 'degraded' | 'unavailable';
  checks: Record<ComponentName, ComponentHealth>;
}

export const disabledProbe: HealthProbe = async () => ({ status: 'disabled', latencyMs: null });

/**
 * Wraps a check that resolves its latency (or rejects) into a probe bounded by `timeoutMs`,
 * so a hanging dependency answers `down` in time instead of hanging readiness.
 */
export function timedProbe(check: () => Promise<number | void>, timeoutMs: number): HealthProbe {
  return async () => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('health check timed out')), timeoutMs);
      });
      const measured = await Promise.race([check(), timeout]);
      const latency = typeof measured === 'number' ? measured : performance.now() - started;
      return { status: 'up', latencyMs: Math.round(latency * 100) / 100 };
    } catch {
      return { status: 'down', latencyMs: null };
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Readiness: a database outage makes the service unavailable (503); a cache or assistant
 * outage only degrades it (answers still flow, uncached or as errors that refund).
 */
export class HealthService {
  constructor(private readonly probes: Record<ComponentName, HealthProbe>) {}

  async readiness(): Promise<Readiness> {
    const [database, cache, assistant] = await Promise.all([
      this.probes.database(),
      this.probes.cache(),
      this.probes.assistant(),
    ]);
    const status = database.status === 'down' ? 'unavailable' : cache.status === 'down' || assistant.status === 'down' ? 'degraded' : 'ready';
    return { status, checks: { database, cache, assistant } };
  }
}
