/**
 * The configuration as the CDK app uses it once `parseAppConfig` (load.ts) has checked it. Plain
 * interfaces with mutable array types, so that jsii could carry them to other languages; the keys
 * and their rules are in fields.ts, which `satisfies` keeps in step with these.
 */

/** The keys that may be set for the whole app and overridden by a token. */
export interface SharedConfig {
  /** An existing SNS topic the alarms notify; a token's own replaces the app's `alarmTopicArn` and `alarmEmail`. */
  readonly alarmTopicArn?: string;
  /** An email address the alarms notify through a topic the stack creates; a token's own replaces the app's. */
  readonly alarmEmail?: string;
  /** Reserve one concurrent execution for the function (default true). */
  readonly reservedConcurrency?: boolean;
  /** Days the function's logs are kept, one of CloudWatch Logs' values (default 365). */
  readonly logRetentionDays?: number;
  /**
   * `"retain"` (default) keeps the created credentials secret, the log group and the created KMS
   * keys when the token or stack is removed; `"destroy"` deletes them with it.
   */
  readonly removalPolicy?: 'retain' | 'destroy';
  /** The VPC and subnets the function runs in, and optionally its security groups (default: none created but its own). */
  readonly vpc?: VpcConfig;
  /** `"create"` an interface endpoint for Secrets Manager in the VPC (one per VPC), or `"existing"`; needs `vpc`. */
  readonly secretsManagerEndpoint?: 'create' | 'existing';
  /** A forward proxy for the function's HTTPS, `http://host:port`, without credentials. */
  readonly httpsProxy?: string;
  /** Host names or domain suffixes reached without the proxy; needs `httpsProxy`. */
  readonly noProxy?: string[];
  /** Name or complete ARN of a secret with the proxy's `{"username", "password"}`; needs `httpsProxy`. */
  readonly proxyCredentialsSecret?: string;
  /** Call AWS through FIPS endpoints (US, Canada and GovCloud regions; default false). */
  readonly fips?: boolean;
  /** Rotate the OAuth client secret automatically (default off; OAuth Server-to-Server credentials only). */
  readonly rotateClientSecret?: RotationConfig;
}

/** Automatic rotation of an OAuth Server-to-Server client secret through Adobe's I/O Management API. */
export interface RotationConfig {
  /** Days between rotations (range: `ROTATION_EVERY_DAYS` in common/rules.ts). */
  readonly everyDays: number;
  /** The numeric Developer Console org id, for flat OAuth credentials (a project download carries it). */
  readonly orgId?: string;
  /** The Developer Console credential id, for flat OAuth credentials (a project download carries it). */
  readonly credentialId?: string;
  /**
   * Hours the previous secret must have gone unused before it is deleted ahead of the next rotation
   * (range and default: `RETIRE_AFTER_HOURS` in common/rules.ts).
   */
  readonly retireAfterHours?: number;
}

/** Where the function runs: a VPC by id, the subnets of it to use, and optionally its own security groups. */
export interface VpcConfig {
  /** The VPC's id, `vpc-…`. */
  readonly vpcId: string;
  /** Subnets of that VPC, `subnet-…`; a created Secrets Manager endpoint takes them too (one per Availability Zone). */
  readonly subnetIds: string[];
  /** Security groups for the function, `sg-…`, used as they are (default: one created, HTTPS out only). */
  readonly securityGroupIds?: string[];
}

/** One token to keep fresh, as written in `cdk.json` context or the config file (keys: `TOKEN_FIELDS`). */
export interface TokenConfig extends SharedConfig {
  /** Unique name: letters, digits and hyphens; the construct id (metrics: `service` = `<stack>/<name>`). */
  readonly name: string;
  /** `"create"` for a new credentials secret, or the name or complete ARN of an existing one. */
  readonly credentialsSecret: string;
  /** Minutes between runs of the function (default 60). */
  readonly scheduleMinutes?: number;
  /** Renew when this share of the token's life or less is left, between 0 and 1 (default 0.5). */
  readonly refreshThreshold?: number;
  /** Send IMS requests to this https URL (a proxy) instead of the credentials' `imsEndpoint`. */
  readonly imsBaseUrl?: string;
  /** Send Adobe I/O Management API requests (client secret rotation) to this https URL instead of https://api.adobe.io. */
  readonly adobeApiBaseUrl?: string;
  /** `"jwt"` or `"oauth"`: pin the credentials kind instead of detecting it at each run. */
  readonly credentialsType?: 'jwt' | 'oauth';
  /** The `name` or `id` of one OAuth Server-to-Server credential in a Developer Console project download. */
  readonly credentialName?: string;
  /**
   * Days before the credentials' certificate expires at which its alarm fires
   * (range and default: `CREDENTIALS_EXPIRY_WARNING_DAYS` in common/rules.ts).
   */
  readonly credentialsExpiryWarning?: number;
  /** The token secret's name (default: one CloudFormation generates). */
  readonly tokenSecretName?: string;
  /** `"create"` for a new customer-managed KMS key, or the ARN of an existing one. */
  readonly encryptionKey?: string;
  /** 12-digit account ids or IAM principal ARNs of other accounts that may read the token. */
  readonly crossAccountReaders?: string[];
  /** Regions the token secret is replicated to. */
  readonly replicaRegions?: string[];
  /**
   * Deny reading the credentials secret to all but the refresher and `credentialsReaders`
   * (default: true for "create").
   */
  readonly restrictCredentialsReaders?: boolean;
  /** IAM role or user ARNs of this account that may still read the credentials secret: break-glass roles. */
  readonly credentialsReaders?: string[];
  /**
   * Deny reading the token secret to all but the refresher, `crossAccountReaders` and `tokenReaders`
   * (default false).
   */
  readonly restrictTokenReaders?: boolean;
  /** IAM role or user ARNs of this account that may read the token under `restrictTokenReaders`. */
  readonly tokenReaders?: string[];
  /**
   * The stack this token belongs to; about 23 tokens fit in one (CloudFormation's quotas; synth
   * says when one is full).
   */
  readonly stack?: string;
}

/** A whole configuration file (or cdk.json context), validated and with defaults applied. */
export interface AppConfig extends SharedConfig {
  /** Each token with the app's shared keys applied (a token's own alarm key replaces both of the app's). */
  readonly tokens: TokenConfig[];
  /** One CloudWatch dashboard for all tokens, in the first stack (default true). */
  readonly dashboard: boolean;
}

/** A JSON Schema (draft-07) fragment. */
export type JsonSchema = { readonly [keyword: string]: unknown };
