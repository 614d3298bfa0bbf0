/** Polls `condition` until it holds; throws when it has not within `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, { timeoutMs = 20_000, everyMs = 50 } = {}): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
