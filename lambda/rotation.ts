/**
 * The pure core of client secret rotation: Secrets Manager's four rotation steps and the scheduled
 * grace check, over ports (the secret store, IMS's `mint`, the I/O Management API, the clock).
 * Every step is idempotent, because Secrets Manager retries a failed step; `AWSCURRENT` is never
 * touched before `finishSecret`. docs/rotation.md "The rotation steps" is the protocol.
 * @see https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
 */
import {
  parseCredentials,
  withClientSecrets,
  type OAuthCredentials,
  type ParseOptions,
} from '../common/credentials.js';
import {
  ConfigurationError,
  CredentialsError,
  ImsError,
  RefresherError,
  RotationError,
  type RotationStep,
} from '../common/errors.js';
import { ROTATION_PENDING_STAGE, type SecretStore, type SecretVersion } from '../common/store.js';
import { expiresAtMs, trustedToken, type TokenRecord } from '../common/token.js';
import type { AdobeConsole, AdobeSession, ListedClientSecret } from './adobe-console.js';
import { clientSecretRefused } from './ims.js';

/** How far Adobe's clock, which stamps `last_used_at`, may be from ours. */
const ADOBE_CLOCK_SKEW_MS = 5 * 60_000;

/** Adobe shows the secret used at or after `time` (our clock), give or take the skew. */
const usedSince = (entry: ListedClientSecret, time: number) =>
  (entry.lastUsedAt ?? -Infinity) >= time - ADOBE_CLOCK_SKEW_MS;

/** What the rotation function knows besides the event (lambda/config.ts `readRotationConfig`). */
export interface RotationSettings {
  /** The refresher's token secret: read only, for the newest token (retireCheck). */
  readonly tokenSecretId: string;
  /** As the refresher's: with it, a non-Adobe `imsEndpoint` is accepted. */
  readonly imsBaseUrl?: string;
  readonly credentialName?: string;
  /** `ADOBE_ORG_ID` / `ADOBE_CREDENTIAL_ID`: for the simple OAuth shape; must match a project download's. */
  readonly orgId?: string;
  readonly credentialId?: string;
  /** How long the old secret's `last_used_at` must have stood still before retireCheck deletes it. */
  readonly retireAfterMs: number;
}

/** The outside world, injected. */
export interface RotationDeps {
  readonly store: SecretStore;
  /** An access token minted at IMS with `clientSecret` of `credentials` (one exchange; lambda/ims.ts). */
  readonly mint: (credentials: OAuthCredentials, clientSecret: string) => Promise<string>;
  /** The I/O Management API for one credential, called with a token that credential minted. */
  readonly adobe: (session: AdobeSession) => AdobeConsole;
  readonly now: () => number;
}

/** A Secrets Manager rotation step, or the scheduled grace check. */
export type RotationEvent =
  | {
      readonly step: Exclude<RotationStep, 'retireCheck'>;
      readonly secretId: string;
      /** `ClientRequestToken`: the pending version's `VersionId`. */
      readonly token: string;
    }
  | { readonly step: 'retireCheck'; readonly secretId: string };

/** The step's one log line (never a secret or token). */
export interface StepReport {
  readonly step: RotationStep;
  outcome: string;
  /** Why a step ended without doing its work (retireCheck, testSecret's set-up check), in a few words. */
  reason?: string;
  credentialsVersionId?: string;
  pendingVersionId?: string;
  readonly adobeRequestIds: string[];
  deletedUuid?: string;
  createdUuid?: string;
}

/** How a step ended: its report, and the error when it failed (the handler throws it, so Secrets Manager retries). */
export interface StepResult {
  readonly report: StepReport;
  readonly error?: RefresherError;
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
/** Secrets Manager's ClientRequestToken: 32-64 characters (a UUID in practice). */
const CLIENT_REQUEST_TOKEN = /^[A-Za-z0-9-]{32,64}$/;
const MAX_SECRET_ID_LENGTH = 2048;

/**
 * Reads Secrets Manager's rotation event `{ Step, SecretId, ClientRequestToken }` or the grace
 * check `{ "retireCheck": true, "secretId": "…" }`; anything else is `CONFIG_INVALID`.
 */
export function parseRotationEvent(event: unknown): RotationEvent {
  const fields = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
  if (fields.retireCheck === true) return { step: 'retireCheck', secretId: secretIdOf(fields.secretId, 'secretId') };
  const step = STEPS.find((name) => name === fields.Step);
  if (!step)
    throw new ConfigurationError(`event field "Step" must be one of ${STEPS.join(', ')} (or send "retireCheck": true)`);
  const token = fields.ClientRequestToken;
  if (typeof token !== 'string' || !CLIENT_REQUEST_TOKEN.test(token)) {
    throw new ConfigurationError('event field "ClientRequestToken" is not 32-64 letters, digits or hyphens');
  }
  return { step, secretId: secretIdOf(fields.SecretId, 'SecretId'), token };
}

function secretIdOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_SECRET_ID_LENGTH) {
    throw new ConfigurationError(`event field "${field}" is not a secret name or ARN`);
  }
  return value;
}

/** One step. Never throws: a failure comes back as `error`, with the report of what was done before it. */
export async function runRotation(
  settings: RotationSettings,
  event: RotationEvent,
  deps: RotationDeps,
): Promise<StepResult> {
  const report: StepReport = {
    step: event.step,
    outcome: 'failed',
    adobeRequestIds: [],
    ...('token' in event ? { pendingVersionId: event.token } : {}),
  };
  const step: Step = { settings, deps, report, secretId: event.secretId };
  try {
    if (event.step === 'createSecret') await createSecret(step, event.token);
    else if (event.step === 'setSecret') report.outcome = 'nothing-to-set';
    else if (event.step === 'testSecret') await testSecret(step, event.token);
    else if (event.step === 'finishSecret') await finishSecret(step, event.token);
    else await retireCheck(step);
    return { report };
  } catch (error) {
    report.outcome = 'failed';
    return { report, error: asRefresherError(event.step, error) };
  }
}

interface Step {
  readonly settings: RotationSettings;
  readonly deps: RotationDeps;
  readonly report: StepReport;
  readonly secretId: string;
}

/**
 * Does nothing when the version is already AWSCURRENT (the rotation run again after finishSecret);
 * reuses the pending version when it exists; otherwise finds the working secret W, makes room at
 * Adobe (deletes the secret that is not W, unless a guard refuses), creates N and stores [N, W] as
 * `AWSPENDING` at once: Adobe shows N's plaintext only in the create answer.
 */
async function createSecret(step: Step, token: string): Promise<void> {
  const { store } = step.deps;
  const existing = await store.read(step.secretId, { versionId: token });
  if (existing) {
    // finishSecret moved AWSCURRENT here (taking AWSPENDING off) and the rotation is run again: done.
    if (existing.stages?.includes('AWSCURRENT')) {
      step.report.outcome = 'already-current';
      return;
    }
    if (!existing.stages?.includes(ROTATION_PENDING_STAGE)) {
      throw new RotationError(
        'createSecret',
        `version "${token}" already exists and is not ${ROTATION_PENDING_STAGE}; start a new rotation`,
      );
    }
    step.report.outcome = 'reused';
    return;
  }
  const current = await readCurrent(step);
  const credentials = oauthCredentials(step, current);
  const session = await sessionFor(step, credentials);
  const adobe = step.deps.adobe(session.adobe);
  const listed = noted(step, await adobe.list()).secrets;
  const working = workingUuid(credentials, session.working, listed, session.mintedAt);
  // Adobe holds at most two, W among them: the other one goes, whether it is the orphan of a crashed
  // attempt (a uuid no version holds; on a first rotation, an unused one created after W) or the
  // previous working secret. Never W, so never the last one.
  const remove = listed.filter((entry) => entry.uuid !== working).map((entry) => entry.uuid);
  refuseIfAdobeContradicts(listed, working, remove, session.mintedAt);
  if (remove.length > 0) await refuseIfNewestTokenUses(step, current, credentials, remove);
  for (const uuid of remove) {
    noted(step, await adobe.delete(uuid));
    step.report.deletedUuid = uuid;
  }
  const made = noted(step, await adobe.create());
  // Adobe left the uuid out: the new entry of a second list (the only call allowed between create and store).
  const uuid = made.uuid ?? newEntry(noted(step, await adobe.list()).secrets, listed);
  step.report.createdUuid = uuid;
  const pending = withClientSecrets(
    current.value,
    [
      { secret: made.secret, uuid },
      { secret: credentials.clientSecrets[session.working], uuid: working },
    ],
    parseOptions(step.settings),
  );
  const { duplicate } = await written('createSecret', () =>
    store.stage(step.secretId, pending, token, { label: ROTATION_PENDING_STAGE }),
  );
  if (duplicate) {
    throw new RotationError('createSecret', `version "${token}" was written meanwhile with another value`);
  }
  step.report.outcome = 'created';
}

/**
 * Adobe's `last_used_at` can contradict the stored uuids: a secret about to be deleted used since this
 * step minted with W, and W's uuid not. Then the uuids do not match the secrets (one replaced by hand,
 * its uuid kept), and the delete would remove the secret that works. A lagging `last_used_at` shows
 * neither use, and a leaked secret used by someone else shows both: those go ahead.
 */
function refuseIfAdobeContradicts(
  listed: readonly ListedClientSecret[],
  working: string,
  remove: readonly string[],
  mintedAt: number,
): void {
  const usedSinceMint = (uuid: string) => {
    const entry = listed.find((candidate) => candidate.uuid === uuid);
    return entry !== undefined && usedSince(entry, mintedAt);
  };
  const used = remove.find(usedSinceMint);
  if (used === undefined || usedSinceMint(working)) return;
  throw new RotationError(
    'createSecret',
    `Adobe shows client secret ${used} used since this step minted with the working secret, whose stored uuid ` +
      `${working} it does not: Adobe is behind (Secrets Manager retries), or the credentials' uuids do not match ` +
      'their client secrets (a secret replaced by hand): correct or remove them, then rotate again',
    { transient: true },
  );
}

/**
 * Never deletes the secret the newest token was minted with: a token that names a secret about to go,
 * or, naming none, one minted from another credentials version (whose secret is unknown), fails the
 * step, transient: once the refresher has minted from the current version's first secret (at once
 * after an upload or a rotation, through the credentials-change rule, or a forced refresh after it
 * fell back), a retry goes ahead.
 */
async function refuseIfNewestTokenUses(
  step: Step,
  current: SecretVersion,
  credentials: OAuthCredentials,
  remove: readonly string[],
): Promise<void> {
  const now = step.deps.now();
  const newest = await newestToken(step);
  if (!newest || newest.client_id !== credentials.clientId || expiresAtMs(newest) <= now) return;
  const uuid = newest.client_secret_uuid;
  if (uuid === undefined ? newest.credentials_version_id === current.versionId : !remove.includes(uuid)) return;
  throw new RotationError(
    'createSecret',
    `the newest token was minted with ${uuid === undefined ? 'a secret of another credentials version' : `client secret ${uuid}`}, ` +
      'which Adobe would have to drop to make room: force a refresh (ims-token refresh --function <refresher>), then rotate again',
    { transient: true },
  );
}

/**
 * Mints with the pending version's new secret alone: a rejection fails the rotation, AWSCURRENT
 * untouched. A pending version without a value is Secrets Manager checking the set-up (a rotation
 * schedule created or changed without rotating: it runs testSecret alone against an empty
 * AWSPENDING version, see docs/rotation.md): nothing to test, and it succeeds, or every deploy
 * would fail. It cannot let an untested secret through: finishSecret refuses a version without one.
 */
async function testSecret(step: Step, token: string): Promise<void> {
  const pending = await readPending(step, token);
  if (!pending) {
    step.report.outcome = 'nothing-to-test';
    step.report.reason =
      (await step.deps.store.read(step.secretId))?.versionId === token
        ? `version "${token}" is already AWSCURRENT: a retry after finishSecret`
        : `no value in ${ROTATION_PENDING_STAGE} version "${token}": Secrets Manager's set-up check`;
    return;
  }
  const credentials = oauthCredentials(step, pending);
  try {
    await step.deps.mint(credentials, credentials.clientSecrets[0]);
  } catch (error) {
    if (!(error instanceof ImsError) || error.code !== 'IMS_REJECTED') throw error;
    throw new RotationError(
      'testSecret',
      `IMS rejected the new client secret (HTTP ${error.status ?? '?'} ${error.imsError ?? 'no IMS error code'}` +
        `${error.debugId ? `, X-Debug-Id ${error.debugId}` : ''}); AWSCURRENT is untouched`,
      { cause: error },
    );
  }
  step.report.outcome = 'tested';
}

/** Moves AWSCURRENT to the pending version (compare-and-swap on the version it leaves); a repeat changes nothing. */
async function finishSecret(step: Step, token: string): Promise<void> {
  const current = await step.deps.store.read(step.secretId);
  step.report.credentialsVersionId = current?.versionId;
  if (current?.versionId === token) {
    step.report.outcome = 'already-current';
    return;
  }
  if (!(await readPending(step, token))) {
    throw new RotationError('finishSecret', `there is no ${ROTATION_PENDING_STAGE} version "${token}" with a value`);
  }
  const moved = await written('finishSecret', () => step.deps.store.promote(step.secretId, token, current?.versionId));
  if (!moved) {
    throw new RotationError('finishSecret', 'AWSCURRENT moved while the step ran; Secrets Manager retries', {
      transient: true,
    });
  }
  step.report.outcome = 'finished';
}

/**
 * The grace check: deletes the second (old) secret at Adobe once its `last_used_at` (or
 * `created_at`, never used) is older than `retireAfterMs`, and only while the newest token was
 * minted from the current version's first secret, whose token it uses (no extra mint). The
 * credentials secret is not rewritten: a new version would make the refresher mint again.
 */
async function retireCheck(step: Step): Promise<void> {
  const end = (reason: string) => {
    step.report.outcome = 'kept';
    step.report.reason = reason;
  };
  const current = await readCurrent(step);
  const credentials = oauthCredentials(step, current);
  const uuids = credentials.clientSecretUuids ?? [];
  if (uuids.length < 2) return end('no second secret with a uuid');
  const newest = await newestToken(step);
  if (!newest || newest.credentials_version_id !== current.versionId || newest.client_secret_uuid !== uuids[0]) {
    return end("the newest token was not minted with the current version's first secret");
  }
  if (newest.client_id !== credentials.clientId) return end('the newest token is of another client id');
  if (expiresAtMs(newest) <= step.deps.now()) return end('the newest token has expired');
  const target = adobeTarget(step.settings, credentials);
  const adobe = step.deps.adobe({ accessToken: newest.access_token, clientId: credentials.clientId, ...target });
  const listed = noted(step, await adobe.list()).secrets;
  const [first, second] = [uuids[0], uuids[1]].map((uuid) => listed.find((entry) => entry.uuid === uuid));
  if (!first) return end('the first secret is not at Adobe');
  if (!second) return end('the second secret is no longer at Adobe');
  const lastActive = second.lastUsedAt ?? second.createdAt;
  // The refresher mints with the first: Adobe showing the second used later says the uuids do not match the secrets.
  if (lastActive > (first.lastUsedAt ?? first.createdAt))
    return end('Adobe shows the second secret used after the first');
  if (step.deps.now() - lastActive < step.settings.retireAfterMs) return end('the second secret was used recently');
  noted(step, await adobe.delete(second.uuid));
  step.report.deletedUuid = second.uuid;
  step.report.outcome = 'retired';
}

/** The refresher's newest token (the token secret's current version), if it holds one of ours. */
async function newestToken(step: Step): Promise<TokenRecord | undefined> {
  return trustedToken((await step.deps.store.read(step.settings.tokenSecretId))?.value, step.deps.now());
}

async function readCurrent(step: Step): Promise<SecretVersion> {
  const current = await step.deps.store.read(step.secretId);
  if (!current) throw new CredentialsError(`credentials secret "${step.secretId}" has no current value to rotate`);
  step.report.credentialsVersionId = current.versionId;
  return current;
}

/** The pending version `token`, or `undefined` when it has no value (or is not `AWSPENDING`). */
function readPending(step: Step, token: string): Promise<SecretVersion | undefined> {
  return step.deps.store.read(step.secretId, { versionId: token, versionStage: ROTATION_PENDING_STAGE });
}

function parseOptions(settings: RotationSettings): ParseOptions {
  return { allowAnyImsHost: settings.imsBaseUrl !== undefined, credentialName: settings.credentialName };
}

function oauthCredentials(step: Step, version: SecretVersion): OAuthCredentials {
  const credentials = parseCredentials(version.value, parseOptions(step.settings));
  if (credentials.type !== 'oauth') {
    throw new RotationError(
      step.report.step,
      'AEM service credentials have no client secret to rotate by API: their certificate is renewed in the AEM Developer Console',
    );
  }
  return credentials;
}

/** The org and credential ids: from a project download, or the configuration; both given, they must agree. */
function adobeTarget(
  settings: RotationSettings,
  credentials: OAuthCredentials,
): Pick<AdobeSession, 'orgId' | 'credentialId'> {
  const pick = (
    fromCredentials: string | undefined,
    configured: string | undefined,
    variable: string,
    field: string,
  ) => {
    if (fromCredentials !== undefined && configured !== undefined && fromCredentials !== configured) {
      throw new ConfigurationError(`${variable} differs from the credentials' "${field}"; remove it or correct it`);
    }
    const value = fromCredentials ?? configured;
    if (value === undefined) {
      throw new ConfigurationError(
        `${variable} is required with credentials that do not carry "${field}" (the simple OAuth shape)`,
      );
    }
    return value;
  };
  return {
    orgId: pick(credentials.orgId, settings.orgId, 'ADOBE_ORG_ID (rotateClientSecret.orgId)', 'project.org.id'),
    credentialId: pick(
      credentials.credentialId,
      settings.credentialId,
      'ADOBE_CREDENTIAL_ID (rotateClientSecret.credentialId)',
      'project.workspace.details.credentials[].id',
    ),
  };
}

/** A token minted with the credentials' secrets in order; the first that works is the working secret W (its index). */
async function sessionFor(
  step: Step,
  credentials: OAuthCredentials,
): Promise<{ adobe: AdobeSession; working: number; mintedAt: number }> {
  const target = adobeTarget(step.settings, credentials);
  for (let index = 0; ; index++) {
    try {
      const mintedAt = step.deps.now();
      const accessToken = await step.deps.mint(credentials, credentials.clientSecrets[index]);
      return { adobe: { accessToken, clientId: credentials.clientId, ...target }, working: index, mintedAt };
    } catch (error) {
      if (!clientSecretRefused(error) || index + 1 >= credentials.clientSecrets.length) throw error;
    }
  }
}

/**
 * W's uuid: the stored one (it must be at Adobe), or, on a first rotation (no uuids stored), the
 * only secret at Adobe or else the only one Adobe has seen used.
 */
function workingUuid(
  credentials: OAuthCredentials,
  working: number,
  listed: readonly ListedClientSecret[],
  mintedAt: number,
): string {
  if (listed.length > 2) {
    throw new RotationError(
      'createSecret',
      `Adobe lists ${listed.length} client secrets; a credential holds at most two`,
    );
  }
  const stored = credentials.clientSecretUuids?.[working];
  if (stored !== undefined) {
    if (listed.some((entry) => entry.uuid === stored)) return stored;
    throw new RotationError(
      'createSecret',
      `the working client secret's uuid "${stored}" is not among the credential's secrets at Adobe: the credentials' uuids are wrong; remove them and rotate again`,
    );
  }
  if (listed.length === 1) return listed[0].uuid;
  // Two at Adobe and no uuids: W is the one Adobe shows used by this step's own mint.
  const used = listed.filter((entry) => usedSince(entry, mintedAt));
  if (used.length === 1) return used[0].uuid;
  throw used.length === 0
    ? new RotationError(
        'createSecret',
        "Adobe shows neither client secret used by this step's mint yet, so the one in use is unknown; Secrets Manager retries",
        { transient: true },
      )
    : new RotationError(
        'createSecret',
        'both client secrets at Adobe were used just now and the credentials store no uuids, so the one in use is unknown: delete the unused secret in the Developer Console, then rotate again',
      );
}

/**
 * The one uuid in `after` that was not listed before the create. A deleted uuid counts as known: a
 * list that lags behind the delete must not make it the new secret's.
 */
function newEntry(after: readonly ListedClientSecret[], before: readonly ListedClientSecret[]): string {
  const known = new Set(before.map((entry) => entry.uuid));
  const added = after.filter((entry) => !known.has(entry.uuid));
  if (added.length !== 1) {
    throw new RotationError(
      'createSecret',
      `Adobe created a secret without its uuid, and listing again shows ${added.length} new ones; the next attempt deletes it`,
      { transient: true },
    );
  }
  return added[0].uuid;
}

/** Notes an Adobe answer's request id in the report; returns the answer. */
function noted<T extends { readonly requestId: string | undefined }>(step: Step, answer: T): T {
  if (answer.requestId) step.report.adobeRequestIds.push(answer.requestId);
  return answer;
}

/** A write to the credentials secret; its failure is the step's, with the store's reason and transience. */
async function written<T>(name: RotationStep, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const failure = asRefresherError(name, error);
    throw new RotationError(name, `could not write the credentials secret: ${failure.message}`, {
      transient: failure.transient,
      cause: error,
    });
  }
}

function asRefresherError(name: RotationStep, error: unknown): RefresherError {
  if (error instanceof RefresherError) return error;
  const kind = error instanceof Error ? error.name : typeof error;
  return new RotationError(name, `unexpected ${kind}`, { cause: error });
}
