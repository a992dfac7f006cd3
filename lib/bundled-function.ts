/**
 * What every function of this package is made of: the pre-bundled code (lib/asset.ts) on Node.js
 * 24 and arm64, JSON logs into a log group of its own, a role of its own that may write only
 * there, and its place in the network (lib/network.ts). The refresher and the rotation function
 * differ only in their handler, timeout, environment and invocation settings.
 */
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { refresherAsset } from './asset.js';
import type { FunctionPlacement } from './network.js';

/** How one function of the package differs from another. */
export interface BundledFunctionOptions {
  /** The bundle's export: `index.handler` (the refresher) or `index.rotationHandler`. */
  readonly handler: 'index.handler' | 'index.rotationHandler';
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Where it runs, given its role (which gets the network-interface actions a VPC needs). */
  readonly place: (role: iam.IRole) => FunctionPlacement | undefined;
  /** Concurrency and asynchronous invocation: each function chooses its own. */
  readonly invocation: Pick<
    lambda.FunctionProps,
    'reservedConcurrentExecutions' | 'retryAttempts' | 'maxEventAge' | 'onFailure'
  >;
}

/**
 * A function of the bundle in `scope`, with ids `<prefix>Function`, `<prefix>Role` and
 * `<prefix>Logs` (the refresher's prefix is empty: its deployed resources keep their ids).
 */
export function bundledFunction(
  scope: Construct,
  prefix: '' | 'Rotation',
  options: BundledFunctionOptions,
): { fn: lambda.Function; role: iam.Role; logGroup: logs.LogGroup; placement: FunctionPlacement | undefined } {
  const retention = options.logRetention;
  const logGroup = new logs.LogGroup(scope, `${prefix}Logs`, { retention, removalPolicy: options.removalPolicy });
  acknowledgeLogRules(logGroup, retention);
  // Our own role instead of AWSLambdaBasicExecutionRole: logs for this group only, nothing else.
  const role = new iam.Role(scope, `${prefix}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  const placement = options.place(role);
  const fn = new lambda.Function(scope, `${prefix}Function`, {
    ...placement,
    code: lambda.Code.fromAsset(refresherAsset()),
    handler: options.handler,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 128,
    timeout: options.timeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    ...options.invocation,
    // Stack traces point into lambda/*.ts, not the minified bundle.
    environment: { ...options.environment, NODE_OPTIONS: '--enable-source-maps' },
  });
  if (!placement) {
    Validations.of(fn).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'the function calls only public endpoints (Adobe IMS and APIs, Secrets Manager) and reaches nothing private: a ' +
        'VPC would add a NAT gateway or interface endpoints (from about $16 a month) and no protection; `vpc` puts it in one',
    });
  }
  return { fn, role, logGroup, placement };
}

/** Control Tower's log group rules (cdk-validator-cfnguard) that these log groups need not meet, with the reasons. */
function acknowledgeLogRules(logGroup: logs.LogGroup, retention: logs.RetentionDays): void {
  Validations.of(logGroup).acknowledge({
    id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
    reason:
      'no secret reaches these logs (every line passes the redaction boundary, tested) and CloudWatch Logs encrypts ' +
      'them at rest; a customer-managed key would cost $1 a month each',
  });
  if (retention < logs.RetentionDays.ONE_YEAR) {
    Validations.of(logGroup).acknowledge({
      id: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
      reason: `\`logRetention\` keeps these logs ${retention} days, by choice`,
    });
  }
}
