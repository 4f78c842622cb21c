/**
 * Waits for `promise` to settle, at most `ms`: resolves true when it settled
 * in time (fulfilled or rejected), false when the time ran out; never
 * rejects. With `unref`, the wait alone does not keep the process alive.
 */
export function waitAtMost(
  promise: Promise<unknown>,
  ms: number,
  options: { readonly unref?: boolean } = {},
): Promise<boolean> {
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    if (options.unref === true) timer.unref();
    const settled = (): void => {
      clearTimeout(timer);
      done(true);
    };
    promise.then(settled, settled);
  });
}
