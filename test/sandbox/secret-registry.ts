/**
 * Values that must never appear in any log: private keys, client secrets, JWTs, access tokens.
 * Test support code registers them as it creates them; the leak guard (a vitest setup file)
 * scans every test file's output for them. Kept apart from the guard so that code outside
 * vitest (the sandbox) can use the same generators.
 */
export const registeredSecrets = new Set<string>();

/** Registers values to scan for; short values are ignored (they would match by chance). */
export function registerSecret(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 12) registeredSecrets.add(value);
}

/** How many registered secrets occur in `text` (a count, so the values themselves never travel). */
export function countSecrets(text: string): number {
  return [...registeredSecrets].filter((secret) => text.includes(secret)).length;
}

/** Throws if `text` holds any registered secret; the message gives the count, never a value. */
export function assertNoSecrets(text: string): void {
  const leaked = countSecrets(text);
  if (leaked > 0) throw new Error(`${leaked} secret value(s) appeared in log output (values withheld)`);
}
