import type { IConstruct } from 'constructs';

/**
 * A prop (or a `grantRead` grantee) that the construct refuses, thrown at construction or synth.
 * Like aws-cdk's `ValidationError(message, scope)`, it carries where it came from, so an app can
 * tell a configuration problem from a bug by class (never by parsing the message) and map the
 * construct back to its source. The message names the prop in backticks and never quotes a secret.
 */
export class ImsTokenRefresherError extends Error {
  /** The prop that was refused, without backticks (e.g. `schedule`), or `grantRead` for its grantee. */
  readonly prop: string;

  /** The construct path (`scope.node.path`) of the construct that refused it. */
  readonly path: string;

  constructor(message: string, scope: IConstruct, prop: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImsTokenRefresherError';
    this.prop = prop;
    this.path = scope.node.path;
  }
}
