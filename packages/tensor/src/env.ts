/**
 * Environment variables, read so that the same code runs in Node and in a browser page,
 * where `process` does not exist and every variable reads as unset.
 * @module
 */

/** @internal The value of environment variable `name`, or `undefined` outside Node or when unset. */
export function envVar(name: string): string | undefined {
  // A bare `process` is a ReferenceError in a browser; bundlers do not define it for us.
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}
