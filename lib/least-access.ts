/**
 * Least access for the refresher's secrets and keys: the resource-policy deny that keeps all but
 * named readers out (`restrictCredentialsReaders`, `restrictTokenReaders`), the principal rules it
 * depends on, and the KMS grants that go through Secrets Manager only.
 */
import { ArnFormat, Fn, Lazy, RemovalPolicy, Resource, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ACCOUNT_ID } from '../common/rules.js';
import { ImsTokenRefresherError } from './errors.js';
import { secretId } from './secret-refs.js';

/**
 * Who may still read a secret whose resource policy denies `secretsmanager:GetSecretValue` to
 * everyone else: IAM roles and users by `aws:PrincipalArn` (a role's sessions carry the role's
 * ARN, path included), and other accounts by `aws:PrincipalAccount`.
 */
export class Readers {
  private readonly arns: string[] = [];
  private readonly accounts: string[] = [];

  /** `setting` is the prop that asked for the restriction (e.g. `restrictTokenReaders`), named in errors. */
  constructor(
    private readonly scope: Construct,
    private readonly setting: string,
  ) {}

  /** Exempts the refresher's own role, whose ARN is always fixed. */
  addRefresher(role: iam.IRole): void {
    if (!this.arns.includes(role.roleArn)) this.arns.push(role.roleArn);
  }

  /**
   * Exempts `principal`, or throws an `ImsTokenRefresherError` naming `source` (the prop or method
   * that gave it) and `scope` (the construct that gave it; default: the one that asked for the
   * restriction) when the policy cannot name it.
   */
  add(principal: iam.IPrincipal, source: string, options: { thisAccountOnly?: boolean; scope?: Construct } = {}): void {
    const scope = options.scope ?? this.scope;
    const refuse = (why: string) =>
      // eslint-disable-next-line @typescript-eslint/no-base-to-string, @typescript-eslint/restrict-template-expressions -- CDK principals print themselves
      new ImsTokenRefresherError(`\`${source}\`: ${principal} ${why}`, scope, source);
    const setting = `\`${this.setting}\``;
    const stackAccount = Stack.of(this.scope).account;
    const account = wholeAccount(principal);
    if (account !== undefined) {
      if (options.thisAccountOnly) throw refuse('is a whole account; name IAM roles or users');
      // An account id cannot be told from an environment-agnostic stack's account: only a match is refused.
      const comparison = Token.compareStrings(account, stackAccount);
      const same = comparison === TokenComparison.SAME || comparison === TokenComparison.BOTH_UNRESOLVED;
      if (same || principal instanceof iam.AccountRootPrincipal) {
        throw refuse(`is this whole account, which would undo ${setting}; name IAM roles or users`);
      }
      if (!this.accounts.includes(account)) this.accounts.push(account);
      return;
    }
    const arn = principalArn(principal);
    if (arn === undefined) {
      throw refuse(
        `has no fixed IAM role or user ARN, so ${setting} cannot exempt it from its deny: ` +
          'give the read to an IAM role or user (for a workload, its execution or task role; import roles with ' +
          '`Role.fromRoleArn` and the full ARN, path included)',
      );
    }
    const arnAccount = Token.isUnresolved(arn) ? principal.principalAccount : arn.split(':')[4];
    const otherAccount = arnAccount && Token.compareStrings(arnAccount, stackAccount) === TokenComparison.DIFFERENT;
    if (options.thisAccountOnly && otherAccount) {
      throw new ImsTokenRefresherError(
        `\`${source}\`: ${arn} is in another account; name principals of this account`,
        scope,
        source,
      );
    }
    if (!this.arns.includes(arn)) this.arns.push(arn);
  }

  /**
   * Denies `secretsmanager:GetSecretValue` to any principal that matches neither list (the keys of
   * one condition are ANDed). A request without the keys (anonymous, an AWS service) is denied.
   * The lists are read at synth, so principals added later count.
   */
  denyOthers(sid: string): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['*'],
      conditions: {
        StringNotEquals: {
          'aws:PrincipalArn': Lazy.list({ produce: () => this.arns }),
          'aws:PrincipalAccount': Lazy.list({ produce: () => this.accounts }, { omitEmpty: true }),
        },
      },
    });
  }
}

/** How the refreshers of one app use one credentials secret: who used it first, and its readers when restricted. */
interface CredentialsSecretUse {
  readonly first: Construct;
  /** The readers of its one resource-policy deny, `undefined` when it is not restricted. */
  readonly readers: Readers | undefined;
}

/** The credentials secrets of each app (by its root construct), by `secretKey`. */
const credentialsSecretUses = new WeakMap<Construct, Map<unknown, CredentialsSecretUse>>();

/**
 * Records that the refresher `scope`, whose functions' roles are `roles` (the refresher's, and the
 * rotation function's with `rotateClientSecret`), reads `secret`; given a `restriction`, denies
 * reading it to all but those roles and `credentialsReaders` (principals of this account):
 * what `restrictCredentialsReaders` does. Refreshers sharing a secret share its one deny, which exempts
 * them all; a secret that one restricts and another does not, or that two stacks would restrict
 * (each with its own policy), throws an `ImsTokenRefresherError` naming both refreshers.
 */
export function useCredentialsSecret(
  scope: Construct,
  secret: secretsmanager.ISecret,
  roles: readonly iam.IRole[],
  restriction: { credentialsReaders: iam.IPrincipal[] } | undefined,
): void {
  const uses = credentialsSecretUses.get(scope.node.root) ?? new Map<unknown, CredentialsSecretUse>();
  credentialsSecretUses.set(scope.node.root, uses);
  const key = secretKey(secret);
  const use = uses.get(key) ?? { first: scope, readers: restriction && restrictedReaders(scope, secret) };
  uses.set(key, use);
  refuseConflict(scope, secret, use, restriction !== undefined);
  if (!restriction || !use.readers) return;
  for (const role of roles) use.readers.addRefresher(role);
  for (const reader of restriction.credentialsReaders) {
    use.readers.add(reader, 'credentialsReaders', { thisAccountOnly: true, scope });
  }
}

/**
 * What identifies a secret across imports: its account, region and name when the name is known at
 * synth (`fromSecretNameV2` and `fromSecretCompleteArn` of one secret agree; an environment-agnostic
 * stack's account and region are the same tokens in every stack), else the object.
 */
function secretKey(secret: secretsmanager.ISecret): unknown {
  if (Token.isUnresolved(secret.secretName)) return secret;
  return [secret.env.account, secret.env.region, secret.secretName].join(':');
}

/**
 * The readers of a new deny on `secret`'s resource policy, which the refresher `scope` asked for.
 * The policy is the first sharing refresher's `CredentialsPolicy`, where each refresher kept its own
 * before policies were shared, so a deployed stack keeps it in place. The policy of a secret from
 * outside the app is retained when removed from the stack: when a token that shares it goes and the
 * policy moves to another refresher, CloudFormation would otherwise delete it after writing the new
 * one, leaving the secret with no policy at all.
 */
function restrictedReaders(scope: Construct, secret: secretsmanager.ISecret): Readers {
  const readers = new Readers(scope, 'restrictCredentialsReaders');
  const policy = addToSecretPolicy(
    scope,
    'CredentialsPolicy',
    secret,
    readers.denyOthers('OnlyRefresherAndCredentialsReaders'),
  );
  if (!Resource.isOwnedResource(secret)) policy.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return readers;
}

/** Throws when the refresher `scope` cannot share `secret` as `use` has it (see `useCredentialsSecret`). */
function refuseConflict(
  scope: Construct,
  secret: secretsmanager.ISecret,
  use: CredentialsSecretUse,
  restrict: boolean,
): void {
  if (use.first === scope) return;
  const both = `${scope.node.path} and ${use.first.node.path}`;
  const name = Token.isUnresolved(secret.secretName) ? '' : ` ${secret.secretName}`;
  let problem: string | undefined;
  if (restrict !== (use.readers !== undefined)) {
    problem =
      `${both} share the credentials secret${name}, but only one of them restricts its readers: its resource ` +
      'policy would lock the other refresher out; set `restrictCredentialsReaders` the same on both';
  } else if (restrict && !Resource.isOwnedResource(secret) && Stack.of(scope) !== Stack.of(use.first)) {
    problem =
      `${both} restrict the readers of the credentials secret${name} from two stacks: a secret has one resource ` +
      "policy, so each stack would replace the other's; keep the tokens that share it in one stack";
  }
  if (problem)
    throw new ImsTokenRefresherError(`\`restrictCredentialsReaders\`: ${problem}`, scope, 'restrictCredentialsReaders');
}

/**
 * Denies reading the token secret to all but the refresher's `role`, `tokenReaders`,
 * `crossAccountReaders` and, later, whoever the construct's `grantRead` adds to the returned
 * readers: what `restrictTokenReaders` does.
 */
export function restrictTokenReaders(
  scope: Construct,
  secret: secretsmanager.ISecret,
  role: iam.IRole,
  options: { tokenReaders: iam.IPrincipal[]; crossAccountReaders: iam.IPrincipal[] },
): Readers {
  const readers = new Readers(scope, 'restrictTokenReaders');
  readers.addRefresher(role);
  for (const reader of options.tokenReaders) readers.add(reader, 'tokenReaders', { thisAccountOnly: true });
  for (const reader of options.crossAccountReaders) readers.add(reader, 'crossAccountReaders');
  // Lazy lists: principals given grantRead after the constructor count too.
  addToSecretPolicy(scope, 'TokenPolicy', secret, readers.denyOthers('OnlyGrantedTokenReaders'));
  return readers;
}

/**
 * Adds the key policy statement Control Tower's CT.KMS.PR.3 asks for: only AWS services (Secrets
 * Manager, SNS) may create grants on `key`, never a principal directly.
 */
export function denyGrantsToOthers(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}

/**
 * Lets `role` write new versions of `secret` (the refresher the token secret, the rotation function
 * the credentials secret): `PutSecretValue` and `UpdateSecretVersionStage` (the compare-and-swap
 * that makes a version current) on that secret only (the built-in `grantWrite` would add
 * `secretsmanager:UpdateSecret`, which can change the description and the KMS key: too broad),
 * and the key use that needs, through Secrets Manager.
 */
export function grantWriteVersions(
  role: iam.IRole,
  secret: secretsmanager.ISecret,
  encryptionKey: kms.IKey | undefined,
  replicas: secretsmanager.ReplicaRegion[],
): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      // The complete ARN, or the partial one with the suffix wildcard (as `grantRead` does).
      resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    }),
  );
  // PutSecretValue with a customer-managed key needs GenerateDataKey (Decrypt came with grantRead);
  // propagating the version to a replica with its own key needs GenerateDataKey and Encrypt there.
  if (encryptionKey) grantKeyUse(encryptionKey, Stack.of(secret).region, role, 'kms:GenerateDataKey');
  for (const replica of replicas) replicaKeyGrant(replica, role, 'kms:GenerateDataKey', 'kms:Encrypt');
}

/**
 * `secret.grantRead(grantee)`, and `kms:Decrypt` through Secrets Manager on the secret's key
 * whatever its origin: for a key imported by ARN, CDK's own grant adds nothing (see `grantKeyUse`).
 */
export function grantSecretRead(secret: secretsmanager.ISecret, grantee: iam.IGrantable): iam.Grant {
  const grant = secret.grantRead(grantee);
  const key = secret.encryptionKey;
  if (!key || Resource.isOwnedResource(key)) return grant;
  return grant.combine(grantKeyUse(key, Stack.of(secret).region, grantee, 'kms:Decrypt'));
}

/**
 * Lets `grantee` use `key` through Secrets Manager in `region` only (`kms:ViaService`). A key of
 * this app takes the grant in its key policy (CDK's `grant`); an imported key's policy cannot
 * change here, and CDK then adds nothing at all, so the grant goes to the grantee's IAM policy
 * (a key policy that defers to IAM, as the default does, then allows it).
 */
function grantKeyUse(key: kms.IKey, region: string, grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
  if (Resource.isOwnedResource(key)) return key.grant(viaSecretsManager(region, grantee.grantPrincipal), ...actions);
  return iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
  });
}

/**
 * Lets `grantee` read the replicas of `tokenSecret` and decrypt them with their own keys: IAM
 * statements on the replicas' ARNs, added to `grant`.
 */
export function grantReplicaReads(
  grant: iam.Grant,
  grantee: iam.IGrantable,
  tokenSecret: secretsmanager.ISecret,
  replicas: secretsmanager.ReplicaRegion[],
): iam.Grant {
  if (replicas.length === 0) return grant;
  const stack = Stack.of(tokenSecret);
  // A replica's ARN is the primary's with its region: same account, name and suffix.
  const nameWithSuffix = Fn.select(6, Fn.split(':', tokenSecret.secretArn));
  const replicaArns = replicas.map((replica) =>
    stack.formatArn({
      service: 'secretsmanager',
      region: replica.region,
      resource: 'secret',
      resourceName: nameWithSuffix,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  );
  for (const replica of replicas) replicaKeyGrant(replica, grantee, 'kms:Decrypt');
  const actions = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
  return grant.combine(iam.Grant.addToPrincipal({ grantee, actions, resourceArns: replicaArns }));
}

/** `principal`, when it acts through Secrets Manager in `region` (the `kms:ViaService` condition). */
function viaSecretsManager(region: string, principal: iam.IPrincipal): kms.ViaServicePrincipal {
  return new kms.ViaServicePrincipal(`secretsmanager.${region}.amazonaws.com`, principal);
}

/**
 * Lets `grantee` use a replica's own key through Secrets Manager in the replica's region. The key
 * lives in another region, so it is imported and its policy cannot change here: the grant goes
 * to the grantee's IAM policy (a default key policy defers to IAM).
 */
function replicaKeyGrant(replica: secretsmanager.ReplicaRegion, grantee: iam.IGrantable, ...actions: string[]): void {
  if (replica.encryptionKey) grantKeyUse(replica.encryptionKey, replica.region, grantee, ...actions);
}

/** The account id when `principal` stands for a whole account (`AccountPrincipal`, a root ARN). */
function wholeAccount(principal: iam.IPrincipal): string | undefined {
  if (principal instanceof iam.AccountPrincipal) return String(principal.accountId);
  if (!(principal instanceof iam.ArnPrincipal) || Token.isUnresolved(principal.arn)) return undefined;
  const account = /^arn:[\w-]+:iam::([^:]*):root$/.exec(principal.arn)?.[1];
  return account !== undefined && ACCOUNT_ID.test(account) ? account : undefined;
}

/** The `aws:PrincipalArn` of `principal`'s requests: a role's or user's ARN; undefined for anything else. */
function principalArn(principal: iam.IPrincipal): string | undefined {
  if ('roleArn' in principal && typeof principal.roleArn === 'string') return principal.roleArn;
  if ('userArn' in principal && typeof principal.userArn === 'string') return principal.userArn;
  if (!(principal instanceof iam.ArnPrincipal) || principal instanceof iam.AccountPrincipal) return undefined;
  if (Token.isUnresolved(principal.arn)) return principal.arn;
  // An assumed-role session, a root or a federated ARN is never a request's aws:PrincipalArn of a role or user.
  const account = /^arn:[\w-]+:iam::([^:]*):(?:role|user)\//.exec(principal.arn)?.[1];
  return account !== undefined && ACCOUNT_ID.test(account) ? principal.arn : undefined;
}

/**
 * Adds `statement` to `secret`'s resource policy, and returns that policy: the one CDK keeps for a
 * secret defined in this app, else a new one, which replaces the secret's policy (a secret has one).
 */
function addToSecretPolicy(
  scope: Construct,
  id: string,
  secret: secretsmanager.ISecret,
  statement: iam.PolicyStatement,
): secretsmanager.CfnResourcePolicy {
  const { statementAdded, policyDependable } = secret.addToResourcePolicy(statement);
  const policy = statementAdded
    ? ((policyDependable as Construct).node.defaultChild as secretsmanager.CfnResourcePolicy)
    : new secretsmanager.CfnResourcePolicy(scope, id, {
        secretId: secretId(secret),
        resourcePolicy: new iam.PolicyDocument({ statements: [statement] }),
      });
  // CloudFormation's default, stated: the deploy fails should the policy ever allow broad access.
  policy.blockPublicPolicy = true;
  return policy;
}
