/** The CLI's own errors, besides the `RefresherError`s it shares with the refresher and the reader. */

/** A missing, unknown or conflicting option (exit 2). */
export class UsageError extends Error {}

/** A failure reported as one line with its code (exit 1). */
export class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An error as one phrase, `Name: message`, for the one line the CLI prints. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
