/** Polls `condition` until it holds; throws when it has not within `timeoutMs`, saying `what` was awaited. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, everyMs = 50, what = 'condition' } = {},
): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
