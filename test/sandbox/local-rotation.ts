import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { StepReport } from '../../lambda/rotation.js';
import {
  invokeBundle,
  logRecords,
  readTemplate,
  synthesizedFunctions,
  type Invocation,
  type SynthesizedFunction,
} from './bundle.js';
import { LocalRefresher } from './local-refresher.js';
import type { RotationEvent, RotationOutcome } from './secrets-manager-rotation.js';
import type { OAuthIntegration } from './test-credentials.js';

/** The ARN `RotateSecret` names as the rotation function (the emulator invokes the bundle whatever it is). */
const ROTATION_LAMBDA_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:rotation';

/** What the rotation function was invoked with (a step, or the scheduled retire check) and how it went. */
export interface RotationRun {
  readonly event: RotationEvent | { readonly retireCheck: true; readonly secretId: string };
  readonly invocation: Invocation;
}

/** The rotation function's log line of one run (never a secret), or nothing when it logged none. */
export function stepReport({ logs }: Invocation): Partial<StepReport> {
  return logRecords(logs).find((record) => 'step' in record) ?? {};
}

/**
 * The template's functions by handler, their secrets' `Ref`s resolved to `local`'s secrets when
 * given (the refresher's runs get them from LocalRefresher either way).
 */
function functionsOf(cdkOut: string, stack: string, local?: LocalRefresher): Map<string, SynthesizedFunction> {
  const resources = Object.values(readTemplate(cdkOut, stack).Resources);
  const variables = resources.find((r) => r.Properties.Handler === 'index.handler')!.Properties.Environment!.Variables!;
  const ref = (name: string) => (variables[name] as { Ref: string }).Ref;
  const refs = local
    ? { [ref('CREDENTIALS_SECRET_ID')]: local.credentialsSecretId, [ref('TOKEN_SECRET_ID')]: local.tokenSecretId }
    : {};
  return new Map(synthesizedFunctions(cdkOut, stack, refs).map((fn) => [fn.handler, fn]));
}

/**
 * A stack synthesized with `rotateClientSecret` run locally, as the rotation e2e and `npm run
 * sandbox -- --rotate` do: its refresher wired to the doubles (LocalRefresher), the peer holding the
 * OAuth credential at the Developer Console ids the template gives the rotation function, and the
 * emulator's `RotateSecret` invoking the bundle as `index.rotationHandler` with the template's
 * environment for each step. Every invocation of the rotation function goes to `onRun`; a failed one
 * then rejects, as a failed step does for Secrets Manager.
 */
export class LocalRotation {
  /** The rotation function as the template makes it: handler, timeout, environment. */
  private rotationFunction!: SynthesizedFunction;

  private constructor(
    readonly local: LocalRefresher,
    readonly integration: OAuthIntegration,
    private readonly onRun: (run: RotationRun) => void,
  ) {}

  /**
   * Starts the doubles for the stack `stack` in `cdkOut` and stores `credentials` (`uuids`, parallel
   * to its secrets, are theirs at the peer; generated unless given).
   */
  static async start(
    cdkOut: string,
    stack: string,
    credentials: { readonly json: string; readonly integration: OAuthIntegration },
    options: { readonly uuids?: readonly string[]; readonly onRun?: (run: RotationRun) => void } = {},
  ): Promise<LocalRotation> {
    let rotation: LocalRotation | undefined;
    const functions = functionsOf(cdkOut, stack);
    const { ADOBE_ORG_ID: orgId, ADOBE_CREDENTIAL_ID: credentialId } =
      functions.get('index.rotationHandler')!.environment;
    const local = await LocalRefresher.start(functions.get('index.handler')!, credentials, {
      rotation: async (event) => {
        await rotation!.invoke(event);
      },
      console: { orgId, credentialId, uuids: options.uuids },
    });
    rotation = new LocalRotation(local, credentials.integration, options.onRun ?? (() => undefined));
    rotation.rotationFunction = functionsOf(cdkOut, stack, local).get('index.rotationHandler')!;
    return rotation;
  }

  get peer() {
    return this.local.peer;
  }

  get emulator() {
    return this.local.emulator;
  }

  /** `RotateSecret` as the stack's `RotationSchedule` (`immediately: false`) or `ims-token credentials rotate` sends it, and the rotation's outcome. */
  async rotate(options: { immediately?: boolean } = {}): Promise<RotationOutcome> {
    await this.emulator.client().send(
      new RotateSecretCommand({
        SecretId: this.local.credentialsSecretId,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: options.immediately ?? true,
      }),
    );
    return this.emulator.rotation(this.local.credentialsSecretId);
  }

  /** The scheduled grace check, as its schedule invokes the rotation function. */
  async retireCheck(): Promise<Invocation> {
    return this.invoke({ retireCheck: true, secretId: this.local.credentialsSecretId });
  }

  /** How long the previous secret must have gone unused before the retire check deletes it (the template's). */
  get retireAfterHours(): number {
    return Number(this.rotationFunction.environment.RETIRE_AFTER_HOURS);
  }

  /** Adobe's secrets of the credential, as the peer holds them. */
  adobeSecrets() {
    return this.peer.credentials.get(this.integration.clientId)!.secrets;
  }

  /** One invocation as Lambda runs it: the template's environment, the doubles' addresses. */
  private async invoke(event: RotationRun['event']): Promise<Invocation> {
    const invocation = await invokeBundle(this.rotationFunction, {
      event,
      env: { ...this.emulator.env(), IMS_BASE_URL: this.peer.url, ADOBE_API_BASE_URL: this.peer.url },
    });
    this.onRun({ event, invocation });
    if (invocation.error) throw new Error(`${invocation.error.code}: ${invocation.error.errorMessage}`);
    return invocation;
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
