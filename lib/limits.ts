/**
 * The AWS limits that a synthesized template meets only at deploy time, when CloudFormation
 * calls the services, and the longest value a template's references can resolve to, so that
 * synth can check them first. docs/design.md ("Deploy limits") says where each is checked.
 */
import { CfnOutput, CfnResource, Stack, Stage, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The limits: characters, or bytes where the service counts bytes. */
export const LIMITS = {
  /** CloudWatch: an alarm's name. */
  alarmName: 255,
  /** CloudWatch: an alarm's description. */
  alarmDescription: 1024,
  /** Lambda: the function's environment, every key and value, in bytes (4 KB). */
  environment: 4096,
  /** Secrets Manager: a secret's name (of `A-Z a-z 0-9 /_+=.@-`). */
  secretName: 512,
  /** Secrets Manager: a secret's resource policy. */
  secretPolicy: 20_480,
  /** CloudWatch: the alarms of one alarm status widget (at least one). */
  alarmsPerWidget: 100,
  /** CloudWatch: a dashboard's body, in bytes (1 MB, counted as 1,000,000 like CDK counts templates). */
  dashboardBody: 1_000_000,
  /** CloudFormation: a template, uploaded through S3, in bytes (1 MB, as CDK counts it). */
  template: 1_000_000,
  /** CloudFormation: the resources of one stack. */
  resources: 500,
  /** CloudFormation: the outputs of one stack. */
  outputs: 200,
} as const;

/** Secrets Manager: a character of a secret's name (`LIMITS.secretName` at most). */
export const SECRET_NAME_CHAR = /[A-Za-z0-9/_+=.@-]/;

/**
 * Ids that CDK gives children of every stack, looking them up first: a construct of ours with
 * one of these ids silently replaces CDK's (`BootstrapVersion` drops the bootstrap version check).
 */
export const CDK_STACK_CHILD_IDS: readonly string[] = [
  'BootstrapVersion',
  'CheckBootstrapVersion',
  'CDKMetadata',
  'Exports',
];

/** The longest each pseudo parameter resolves to: partition "aws-us-gov", regions like "us-isof-south-1", with room. */
const PSEUDO_PARAMETERS: Readonly<Record<string, number>> = {
  'AWS::Partition': 10,
  'AWS::Region': 20,
  'AWS::AccountId': 12,
  'AWS::URLSuffix': 20,
  'AWS::StackName': 128,
  'AWS::NoValue': 0,
};

/** A reference we cannot bound (a parameter, another resource type): the longest ARN AWS documents. */
const UNKNOWN = 2048;

const x = (length: number) => 'x'.repeat(length);
const arn = (service: string, resource: string, region = x(20)) =>
  `arn:${x(10)}:${service}:${region}:${x(12)}:${resource}`;

/** A resource type whose references we bound: its name's property and maximum, and what `Ref` and attributes return. */
interface Named {
  /** The L1 property of its name; without one, CloudFormation always generates it. */
  readonly nameProperty?: string;
  readonly maxName: number;
  readonly ref: (name: string) => string;
  readonly attributes?: Readonly<Record<string, (name: string) => string>>;
}

const NAMED: Readonly<Record<string, Named>> = {
  'AWS::SecretsManager::Secret': {
    nameProperty: 'name',
    maxName: LIMITS.secretName,
    ref: (name) => arn('secretsmanager', `secret:${name}-${x(6)}`),
  },
  'AWS::Logs::LogGroup': {
    nameProperty: 'logGroupName',
    maxName: 512,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('logs', `log-group:${name}:*`) },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'functionName',
    maxName: 64,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('lambda', `function:${name}`) },
  },
  'AWS::SQS::Queue': {
    nameProperty: 'queueName',
    maxName: 80,
    ref: (name) => `https://sqs.${x(20)}.${x(20)}/${x(12)}/${name}`,
    attributes: { Arn: (name) => arn('sqs', name), QueueName: (name) => name },
  },
  'AWS::IAM::Role': {
    nameProperty: 'roleName',
    maxName: 64,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('iam', `role/${name}`, '') },
  },
  'AWS::KMS::Key': { maxName: 36, ref: (id) => id, attributes: { Arn: (id) => arn('kms', `key/${id}`) } },
};

/**
 * Measures values of `stack` (anything a CDK property holds, tokens included) at the longest
 * they can resolve to: every reference replaced by as many "x" characters as the longest value
 * CloudFormation can give it. A name we set counts as set; a generated one as CloudFormation
 * generates it (stack name, logical id and 13 random characters, cut to the service's maximum).
 */
export class LongestValues {
  private resources: Map<string, CfnResource> | undefined;

  constructor(private readonly stack: Stack) {}

  /** `value` in its longest form. */
  form(value: unknown): unknown {
    return this.widest(this.stack.resolve(value));
  }

  /** The length of `value`'s longest form: a string's characters, or the bytes of anything else as compact JSON. */
  length(value: unknown): number {
    const form = this.form(value);
    return typeof form === 'string' ? form.length : Buffer.byteLength(JSON.stringify(form) ?? '');
  }

  private widest(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((item) => this.widest(item));
    if (node === null || typeof node !== 'object') return node;
    const entries: [string, unknown][] = Object.entries(node);
    const [key, argument] = entries[0] ?? ['', undefined];
    if (entries.length === 1 && (key === 'Ref' || key.startsWith('Fn::'))) return this.intrinsic(key, argument);
    return Object.fromEntries(entries.map(([name, item]) => [name, this.widest(item)]));
  }

  /** The longest string one intrinsic function can resolve to. */
  private intrinsic(key: string, argument: unknown): string {
    const text = (node: unknown) => String(this.widest(node));
    const longest = (nodes: unknown[]) => nodes.map(text).reduce((a, b) => (b.length > a.length ? b : a), '');
    const args = Array.isArray(argument) ? argument : [argument];
    switch (key) {
      case 'Ref':
        return this.reference(String(argument));
      case 'Fn::GetAtt':
        return this.reference(String(args[0]), String(args[1]));
      case 'Fn::Join':
        return (args[1] as unknown[]).map(text).join(String(args[0]));
      case 'Fn::Select': {
        // Of a list, its longest item; of a split string, at most the whole string.
        const list = args[1] as Record<string, unknown[]> | unknown[];
        return longest(Array.isArray(list) ? list : [list['Fn::Split']?.[1]]);
      }
      case 'Fn::ImportValue':
        return this.imported(text(argument));
      default:
        return x(UNKNOWN);
    }
  }

  /** The longest value of `Ref` (without `attribute`) or `Fn::GetAtt` of `id`. */
  private reference(id: string, attribute?: string): string {
    const { stack } = this;
    if (attribute === undefined && id in PSEUDO_PARAMETERS) return x(PSEUDO_PARAMETERS[id]);
    this.resources ??= new Map(
      stack.node
        .findAll()
        .filter((child) => child instanceof CfnResource)
        .map((resource) => [stack.resolve(resource.logicalId) as string, resource]),
    );
    const resource = this.resources.get(id);
    const named = resource && NAMED[resource.cfnResourceType];
    const shape = named && (attribute === undefined ? named.ref : named.attributes?.[attribute]);
    if (!named || !shape) return x(UNKNOWN);
    const given = named.nameProperty && (resource as unknown as Record<string, unknown>)[named.nameProperty];
    if (typeof given === 'string' && !Token.isUnresolved(given)) return shape(given);
    const stackName = Token.isUnresolved(stack.stackName) ? 128 : stack.stackName.length;
    return shape(x(Math.min(named.maxName, stackName + id.length + 15)));
  }

  /** The longest value another stack of the app exports under `name`. */
  private imported(name: string): string {
    const outputs = (Stage.of(this.stack) ?? this.stack).node.findAll().filter((child) => child instanceof CfnOutput);
    const output = outputs.find(
      (candidate) => candidate.exportName !== undefined && Stack.of(candidate).resolve(candidate.exportName) === name,
    );
    return output ? String(new LongestValues(Stack.of(output)).form(output.value)) : x(UNKNOWN);
  }
}

/** Every L1 resource of `type` under `scope` (the scope included). */
export function resourcesOf<T extends CfnResource>(scope: IConstruct, type: new (...args: never[]) => T): T[] {
  return scope.node.findAll().filter((child): child is T => child instanceof type);
}
