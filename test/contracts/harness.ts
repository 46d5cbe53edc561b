import { afterAll, beforeAll, type TestContext } from 'vitest';

/**
 * The harness of a contract suite, made once before its tests and disposed after them. It is
 * filled in by `beforeAll`: read its fields inside tests and hooks, never at collection time.
 */
export function suiteHarness<H extends { dispose?(): Promise<void> }>(make: () => Promise<H>): H {
  const harness = {} as H;
  beforeAll(async () => {
    Object.assign(harness, await make());
  });
  afterAll(async () => {
    await harness.dispose?.();
  });
  return harness;
}

/**
 * Runs `check` against a second store over the same backend that cannot reach it, then closes
 * that store. Where the harness has none (an in-process backend: nothing to be unreachable),
 * the test is skipped.
 */
export async function whileUnreachable<S extends { close(): Promise<void> }>(ctx: TestContext, unreachable: (() => Promise<S>) | undefined, check: (down: S) => Promise<void>): Promise<void> {
  if (!unreachable) {
    ctx.skip();
    return;
  }
  const down = await unreachable();
  try {
    await check(down);
  } finally {
    await down.close();
  }
}
