/**
 * `f()` as a promise: a synchronous throw becomes its rejection, as inside an async function, without
 * the async function's extra promises (on Node 20 every promise runs AsyncLocalStorage's hooks, and the
 * send path calls a few of these per message). Node 20 has no `Promise.try`.
 */
export function promiseTry<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    const value = f();
    return value instanceof Promise ? value : Promise.resolve(value);
  } catch (err) {
    return Promise.reject(err);
  }
}
