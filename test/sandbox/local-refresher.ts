import { randomBytes } from 'node:crypto';
import { invokeBundle, type Invocation, type InvokeOptions, type SynthesizedFunction } from './bundle.js';
import { ImsPeer, type ImsRequest } from './ims-peer.js';
import { SecretsManagerEmulator, type EmulatorCall } from './secrets-manager-emulator.js';
import type { RotationFunction } from './secrets-manager-rotation.js';
import type { JwtIntegration, OAuthIntegration } from './test-credentials.js';
import type { TestCertificate } from './test-tls.js';

/** One run of the bundle and what it did to the outside world. */
export interface Run extends Invocation {
  readonly imsRequests: readonly ImsRequest[];
  readonly secretsManagerCalls: readonly EmulatorCall[];
}

/**
 * Per-invocation overrides: the function timeout, environment variables over the wiring below, and
 * another synthesized function (its bundle and environment) to run with the same wiring.
 */
export type RunOptions = Partial<Pick<InvokeOptions, 'env' | 'timeoutSeconds'>> & { readonly fn?: SynthesizedFunction };

/** The secrets' names, as the emulator creates them; the template passes their ARNs. */
export const SECRET_NAMES = { credentials: 'ims/credentials', token: 'ims/token' } as const;

/**
 * The synthesized refresher wired to a Secrets Manager emulator and an IMS test peer, both on
 * 127.0.0.1, as the sandbox and the end-to-end tests run it. The two secrets start as the stack
 * creates them (a random placeholder, not JSON); the credentials JSON is then put in the
 * credentials secret as an admin would, and the peer knows the integration.
 */
export class LocalRefresher {
  private constructor(
    private readonly fn: SynthesizedFunction,
    readonly emulator: SecretsManagerEmulator,
    readonly peer: ImsPeer,
    /** ARNs, as the template passes them (`Ref` of a secret). */
    readonly credentialsSecretId: string,
    readonly tokenSecretId: string,
  ) {}

  /**
   * Starts both doubles (speaking HTTPS with `tls`; the emulator's `RotateSecret` invoking
   * `rotation`) and stores `credentials`; the peer registers `integration` (an OAuth client at the
   * I/O Management API's `console` ids, its secrets with `console.uuids`).
   */
  static async start(
    fn: SynthesizedFunction,
    credentials: { readonly json: string; readonly integration: JwtIntegration | OAuthIntegration },
    options: {
      readonly tls?: TestCertificate;
      readonly rotation?: RotationFunction;
      readonly console?: Parameters<ImsPeer['register']>[1];
    } = {},
  ): Promise<LocalRefresher> {
    const [emulator, peer] = await Promise.all([SecretsManagerEmulator.start(options), ImsPeer.start(options)]);
    peer.register(credentials.integration, options.console);
    const placeholder = () => randomBytes(24).toString('base64');
    const credentialsSecretId = emulator.create(SECRET_NAMES.credentials, placeholder());
    emulator.put(credentialsSecretId, credentials.json);
    const tokenSecretId = emulator.create(SECRET_NAMES.token, placeholder());
    return new LocalRefresher(fn, emulator, peer, credentialsSecretId, tokenSecretId);
  }

  /**
   * Puts `json` in the credentials secret as an admin uploading would: it becomes AWSCURRENT and
   * the version before it AWSPREVIOUS. Returns the new version's id.
   */
  putCredentials(json: string): string {
    return this.emulator.put(this.credentialsSecretId, json);
  }

  /** Invokes the bundle once with `event`, as the schedule or an operator would. */
  async invoke(event: unknown = {}, options: RunOptions = {}): Promise<Run> {
    const imsMark = this.peer.requests.length;
    const secretsMark = this.emulator.calls.length;
    const invocation = await invokeBundle(options.fn ?? this.fn, {
      event,
      env: {
        CREDENTIALS_SECRET_ID: this.credentialsSecretId,
        TOKEN_SECRET_ID: this.tokenSecretId,
        IMS_BASE_URL: this.peer.url,
        ...this.emulator.env(),
        ...options.env,
      },
      timeoutSeconds: options.timeoutSeconds,
    });
    return {
      ...invocation,
      imsRequests: this.peer.requests.slice(imsMark),
      secretsManagerCalls: this.emulator.calls.slice(secretsMark),
    };
  }

  /** Stops both doubles. */
  async close(): Promise<void> {
    await Promise.all([this.emulator.close(), this.peer.close()]);
  }
}
