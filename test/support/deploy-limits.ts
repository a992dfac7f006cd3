/**
 * What a synthesized template must satisfy to deploy that a schema linter (cfn-lint) cannot see:
 * lengths of values built with `Fn::Join`/`Fn::Sub` once CloudFormation resolves them, sizes that
 * add up over several properties or resources, and quotas of whole templates. Every value is
 * measured at its longest: each pseudo parameter, `Ref` and `Fn::GetAtt` is replaced by the
 * longest string it can resolve to, so a template that passes here passes in any account,
 * region and partition, whatever physical names CloudFormation generates.
 */

/** A CloudFormation template as JSON, as far as these checks read it. */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
  readonly Outputs?: Readonly<Record<string, unknown>>;
  readonly Parameters?: Readonly<Record<string, CfnParameter>>;
  readonly Mappings?: Readonly<Record<string, unknown>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Rules?: Readonly<Record<string, unknown>>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
}

export interface CfnParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly MaxLength?: number;
}

/** One synthesized template: its name (the stack's), its JSON text as written, and that text parsed. */
export interface SynthesizedTemplate {
  readonly name: string;
  readonly text: string;
  readonly template: CfnTemplate;
}

/** A value the resolver cannot bound (an intrinsic function or reference it does not model). */
export class UnresolvableError extends Error {
  override readonly name = 'UnresolvableError';
}

/**
 * The limits checked, each with where AWS documents it. Characters unless the name says bytes;
 * "1 MB" is read as 1,000,000 bytes, the stricter reading.
 */
export const LIMITS = {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  alarmName: 255,
  alarmDescription: 1024,
  // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html ("4 KB, for all
  // environment variables associated with the function, in aggregate")
  lambdaEnvironmentBytes: 4096,
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
  secretResourcePolicy: 20_480,
  // https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html (32 KB)
  keyPolicyBytes: 32_768,
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: the sum of a
  // role's inline policies, white space not counted; a managed policy each.
  roleInlinePolicies: 10_240,
  managedPolicy: 6144,
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
  // (an alarm widget's "alarms": 1-100 ARNs) and
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
  dashboardBodyBytes: 1_000_000,
  dashboardWidgets: 500,
  alarmsPerAlarmWidget: 100,
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
  // (the template body in S3, as the CDK CLI uploads it)
  templateBytes: 1_000_000,
  resources: 500,
  outputs: 200,
  parameters: 200,
  mappings: 200,
} as const;

/**
 * The longest value of each pseudo parameter. Regions: ap-southeast-7, eusc-de-east-1 and
 * us-isob-east-1 have 14 characters; partitions: aws-us-gov has 10; URL suffixes:
 * csp.hci.ic.gov has 14. Stack names: 128 (CreateStack's StackName).
 */
export const PSEUDO_PARAMETER_MAX: Readonly<Record<string, number>> = {
  'AWS::AccountId': 12,
  'AWS::Partition': 10,
  'AWS::Region': 14,
  'AWS::StackName': 128,
  'AWS::URLSuffix': 14,
  // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>
  'AWS::StackId': 'arn::cloudformation:::stack//'.length + 10 + 14 + 12 + 128 + 36,
};

const fill = (length: number) => 'x'.repeat(length);
const [PARTITION, REGION, ACCOUNT, URL_SUFFIX] = [
  'AWS::Partition',
  'AWS::Region',
  'AWS::AccountId',
  'AWS::URLSuffix',
].map((name) => fill(PSEUDO_PARAMETER_MAX[name]));
const arn = (service: string, resource: string, regional = true) =>
  `arn:${PARTITION}:${service}:${regional ? REGION : ''}:${ACCOUNT}:${resource}`;

/** A physical name CloudFormation generates: `<stack>-<logical id>-<13 random>`, cut to the type's maximum. */
const stackScopedName = (logicalId: string) => PSEUDO_PARAMETER_MAX['AWS::StackName'] + logicalId.length + 15;

/**
 * How a resource type's `Ref` and attributes resolve, given its physical name: the property
 * that sets the name, the longest name the service allows, and the length of a generated one.
 */
interface TypeModel {
  readonly nameProperty?: string;
  readonly maxName: number;
  readonly generatedName?: (logicalId: string) => number;
  readonly ref: (name: string) => string;
  readonly attributes: Readonly<Record<string, (name: string) => string>>;
}

const secretArn = (name: string) => arn('secretsmanager', `secret:${name}-${fill(6)}`);
const queueUrl = (name: string) => `https://sqs.${REGION}.${URL_SUFFIX}/${ACCOUNT}/${name}`;
const topicArn = (name: string) => arn('sns', name);
const KEY_ID = 36; // a UUID

const TYPES: Readonly<Record<string, TypeModel>> = {
  'AWS::SecretsManager::Secret': {
    nameProperty: 'Name',
    maxName: 512,
    // "CloudFormationCreatedSecret-a1b2c3d4e5f6": the logical id and 12 random characters
    // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_secret.html).
    generatedName: (logicalId) => logicalId.length + 13,
    ref: secretArn,
    attributes: { Id: secretArn },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    maxName: 64,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('lambda', `function:${name}`) },
  },
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    maxName: 64,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('iam', `role/${name}`, false), RoleId: () => fill(128) },
  },
  'AWS::Logs::LogGroup': {
    nameProperty: 'LogGroupName',
    maxName: 512,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('logs', `log-group:${name}:*`) },
  },
  'AWS::SQS::Queue': {
    nameProperty: 'QueueName',
    maxName: 80,
    ref: queueUrl,
    attributes: { Arn: (name) => arn('sqs', name), QueueName: (name) => name, QueueUrl: queueUrl },
  },
  'AWS::SNS::Topic': {
    nameProperty: 'TopicName',
    maxName: 256,
    ref: topicArn,
    attributes: { TopicArn: topicArn, TopicName: (name) => name },
  },
  'AWS::KMS::Key': {
    maxName: KEY_ID,
    generatedName: () => KEY_ID,
    ref: (id) => id,
    attributes: { Arn: (id) => arn('kms', `key/${id}`), KeyId: (id) => id },
  },
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    maxName: 64,
    ref: (name) => name,
    // rule/<bus>/<name> on a custom bus: 256 for the bus name.
    attributes: { Arn: (name) => arn('events', `rule/${fill(256)}/${name}`) },
  },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    maxName: 255,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('cloudwatch', `alarm:${name}`) },
  },
  'AWS::Scheduler::Schedule': {
    nameProperty: 'Name',
    maxName: 64,
    ref: (name) => name,
    attributes: { Arn: (name) => arn('scheduler', `schedule/${fill(64)}/${name}`) },
  },
};

const INTRINSICS = new Set(['Ref', 'Condition']);
const isIntrinsic = (value: Record<string, unknown>) => {
  const keys = Object.keys(value);
  return keys.length === 1 && (INTRINSICS.has(keys[0]) || keys[0].startsWith('Fn::'));
};

/**
 * Resolves a template's values as CloudFormation would, every reference at its longest. The
 * filler is `x`, so a resolved JSON string (a dashboard body) still parses.
 */
export class MaxLengthResolver {
  constructor(private readonly template: CfnTemplate) {}

  /** `value` with every intrinsic function in it resolved to its longest result. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (typeof value !== 'object' || value === null) return value;
    const record = value as Record<string, unknown>;
    if (!isIntrinsic(record)) {
      return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, this.resolve(item)]));
    }
    const [[fn, argument]] = Object.entries(record);
    return this.intrinsic(fn, argument);
  }

  /** `value` resolved, as the string CloudFormation passes on. */
  text(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new UnresolvableError(`not a string: ${JSON.stringify(value)}`);
  }

  private intrinsic(fn: string, argument: unknown): unknown {
    switch (fn) {
      case 'Ref':
        return this.ref(argument as string);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof argument === 'string' ? argument.split('.') : (argument as string[]);
        return this.getAtt(id, attribute);
      }
      case 'Fn::Join': {
        const [separator, items] = argument as [string, unknown];
        const resolved = this.resolve(items);
        if (!Array.isArray(resolved)) throw new UnresolvableError(`Fn::Join of ${JSON.stringify(items)}`);
        return resolved.map((item) => this.text(item)).join(separator);
      }
      case 'Fn::Sub':
        return this.sub(argument);
      case 'Fn::If': {
        const [, whenTrue, whenFalse] = argument as unknown[];
        const [a, b] = [this.resolve(whenTrue), this.resolve(whenFalse)];
        return JSON.stringify(a ?? '').length >= JSON.stringify(b ?? '').length ? a : b;
      }
      case 'Fn::Select': {
        const [index, items] = argument as [number | string, unknown];
        const resolved = this.resolve(items);
        if (!Array.isArray(resolved)) throw new UnresolvableError(`Fn::Select from ${JSON.stringify(items)}`);
        return resolved[Number(index)];
      }
      default:
        throw new UnresolvableError(`${fn} is not modelled`);
    }
  }

  private ref(name: string): string {
    const pseudo = PSEUDO_PARAMETER_MAX[name];
    if (pseudo !== undefined) return fill(pseudo);
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (parameter.MaxLength === undefined) throw new UnresolvableError(`parameter ${name} has no MaxLength`);
      return fill(parameter.MaxLength);
    }
    const { model, name: physical } = this.physical(name);
    return model.ref(physical);
  }

  private getAtt(id: string, attribute: string): string {
    const { model, name, type } = this.physical(id);
    const resolve = model.attributes[attribute];
    if (!resolve) throw new UnresolvableError(`Fn::GetAtt ${type}.${attribute} is not modelled`);
    return resolve(name);
  }

  /** The resource `id`'s model and its physical name at its longest: as set, or as CloudFormation generates it. */
  private physical(id: string): { model: TypeModel; name: string; type: string } {
    const resource = this.template.Resources?.[id];
    if (!resource) throw new UnresolvableError(`no resource or parameter ${id}`);
    const model = TYPES[resource.Type];
    if (!model) throw new UnresolvableError(`Ref to ${resource.Type} is not modelled`);
    const set = model.nameProperty === undefined ? undefined : resource.Properties?.[model.nameProperty];
    const name =
      set === undefined ? fill(Math.min(model.maxName, (model.generatedName ?? stackScopedName)(id))) : this.text(set);
    return { model, name, type: resource.Type };
  }

  private sub(argument: unknown): string {
    const [body, variables = {}] = (typeof argument === 'string' ? [argument] : argument) as [
      string,
      Record<string, unknown>?,
    ];
    return body.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (Object.hasOwn(variables, name)) return this.text(variables[name]);
      const [id, attribute] = name.split('.');
      return attribute === undefined || PSEUDO_PARAMETER_MAX[name] !== undefined
        ? this.ref(name)
        : this.getAtt(id, attribute);
    });
  }
}

/** One way a template breaks a limit, in a line: where, how long at most, and the limit. */
const over = (where: string, what: string, length: number, max: number, unit = 'characters') =>
  `${where}: ${what} is up to ${length.toLocaleString('en-US')} ${unit}, over the limit of ${max.toLocaleString('en-US')}`;

type Resources = readonly (readonly [string, CfnResource])[];
const ofType = (resources: Resources, type: string) => resources.filter(([, resource]) => resource.Type === type);
const minified = (resolver: MaxLengthResolver, policy: unknown) => {
  const resolved = resolver.resolve(policy);
  return typeof resolved === 'string' ? resolved.replace(/\s+/g, '') : JSON.stringify(resolved);
};
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function alarmProblems(resources: Resources, resolver: MaxLengthResolver): string[] {
  return ofType(resources, 'AWS::CloudWatch::Alarm').flatMap(([id, { Properties: p = {} }]) =>
    (
      [
        ['AlarmName', LIMITS.alarmName],
        ['AlarmDescription', LIMITS.alarmDescription],
      ] as const
    ).flatMap(([key, max]) => {
      const length = p[key] === undefined ? 0 : resolver.text(p[key]).length;
      return length > max ? [over(`Resources.${id}.${key}`, 'the alarm text', length, max)] : [];
    }),
  );
}

function environmentProblems(resources: Resources, resolver: MaxLengthResolver): string[] {
  return ofType(resources, 'AWS::Lambda::Function').flatMap(([id, { Properties: p = {} }]) => {
    const variables = (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const size = Object.entries(variables).reduce(
      (sum, [key, value]) => sum + bytes(key) + bytes(resolver.text(value)),
      0,
    );
    const max = LIMITS.lambdaEnvironmentBytes;
    return size > max
      ? [over(`Resources.${id}.Environment`, 'the environment (keys and values)', size, max, 'bytes')]
      : [];
  });
}

function policyProblems(resources: Resources, resolver: MaxLengthResolver): string[] {
  const single = (type: string, key: string, max: number, what: string, measure = (text: string) => text.length) =>
    ofType(resources, type).flatMap(([id, { Properties: p = {} }]) => {
      const length = measure(minified(resolver, p[key]));
      return length > max ? [over(`Resources.${id}.${key}`, what, length, max)] : [];
    });
  return [
    ...single(
      'AWS::SecretsManager::ResourcePolicy',
      'ResourcePolicy',
      LIMITS.secretResourcePolicy,
      'the secret policy',
    ),
    ...single('AWS::KMS::Key', 'KeyPolicy', LIMITS.keyPolicyBytes, 'the key policy (bytes)', bytes),
    ...single('AWS::IAM::ManagedPolicy', 'PolicyDocument', LIMITS.managedPolicy, 'the managed policy'),
    ...roleInlinePolicyProblems(resources, resolver),
  ];
}

/** The sum of a role's inline policies: its own `Policies` and every `AWS::IAM::Policy` attached to it. */
function roleInlinePolicyProblems(resources: Resources, resolver: MaxLengthResolver): string[] {
  const attached = ofType(resources, 'AWS::IAM::Policy');
  return ofType(resources, 'AWS::IAM::Role').flatMap(([id, { Properties: p = {} }]) => {
    const own = ((p.Policies ?? []) as { PolicyDocument: unknown }[]).map((policy) => policy.PolicyDocument);
    const others = attached
      .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles ?? []).includes(JSON.stringify({ Ref: id })))
      .map(([, policy]) => policy.Properties?.PolicyDocument);
    const length = [...own, ...others].reduce((sum: number, document) => sum + minified(resolver, document).length, 0);
    const max = LIMITS.roleInlinePolicies;
    return length > max ? [over(`Resources.${id}`, "the role's inline policies together", length, max)] : [];
  });
}

interface DashboardBody {
  readonly widgets?: readonly { readonly type?: string; readonly properties?: { readonly alarms?: unknown[] } }[];
}

function dashboardProblems(resources: Resources, resolver: MaxLengthResolver): string[] {
  return ofType(resources, 'AWS::CloudWatch::Dashboard').flatMap(([id, { Properties: p = {} }]) => {
    const where = `Resources.${id}.DashboardBody`;
    const body = resolver.text(p.DashboardBody);
    const { widgets = [] } = JSON.parse(body) as DashboardBody;
    const alarmWidgets = widgets.filter((widget) => widget.type === 'alarm');
    return [
      ...(bytes(body) > LIMITS.dashboardBodyBytes
        ? [over(where, 'the dashboard body', bytes(body), LIMITS.dashboardBodyBytes, 'bytes')]
        : []),
      ...(widgets.length > LIMITS.dashboardWidgets
        ? [`${where}: ${widgets.length} widgets, over the limit of ${LIMITS.dashboardWidgets}`]
        : []),
      ...alarmWidgets.flatMap(({ properties }, index) => {
        const count = properties?.alarms?.length ?? 0;
        return count >= 1 && count <= LIMITS.alarmsPerAlarmWidget
          ? []
          : [
              `${where}: alarm widget ${index + 1} has ${count} alarms; 1 to ${LIMITS.alarmsPerAlarmWidget} are allowed`,
            ];
      }),
    ];
  });
}

function quotaProblems({ text, template }: SynthesizedTemplate): string[] {
  const counts = [
    ['resources', template.Resources, LIMITS.resources],
    ['outputs', template.Outputs, LIMITS.outputs],
    ['parameters', template.Parameters, LIMITS.parameters],
    ['mappings', template.Mappings, LIMITS.mappings],
  ] as const;
  return [
    ...(bytes(text) > LIMITS.templateBytes
      ? [over('template', 'the file', bytes(text), LIMITS.templateBytes, 'bytes')]
      : []),
    ...counts.flatMap(([what, section, max]) => {
      const count = Object.keys(section ?? {}).length;
      return count > max ? [`template: ${count} ${what}, over the limit of ${max}`] : [];
    }),
  ];
}

/** CDK's own logical ids: what each must be where the CDK put it. */
const CDK_OWN: Readonly<Record<string, { section: keyof CfnTemplate; is: (value: unknown) => boolean }>> = {
  BootstrapVersion: {
    section: 'Parameters',
    is: (value) => String((value as CfnParameter).Default).startsWith('/cdk-bootstrap/'),
  },
  CheckBootstrapVersion: {
    section: 'Rules',
    is: (value) => JSON.stringify(value).includes('{"Ref":"BootstrapVersion"}'),
  },
  CDKMetadata: { section: 'Resources', is: (value) => (value as CfnResource).Type === 'AWS::CDK::Metadata' },
};

const SECTIONS = ['Resources', 'Outputs', 'Parameters', 'Mappings', 'Conditions', 'Rules'] as const;

/**
 * No logical id of the template's own may take one the CDK uses, and the CDK's bootstrap
 * version check must be there (a construct named `BootstrapVersion` makes the CDK leave it out).
 */
function reservedIdProblems(template: CfnTemplate): string[] {
  const taken = SECTIONS.flatMap((section) =>
    Object.entries(template[section] ?? {}).flatMap(([id, value]) => {
      const own = CDK_OWN[id];
      return own && !(own.section === section && own.is(value))
        ? [`${section}.${id}: takes a logical id the CDK uses for its own`]
        : [];
    }),
  );
  const check = (['BootstrapVersion', 'CheckBootstrapVersion'] as const).filter(
    (id) => template[CDK_OWN[id].section]?.[id] === undefined,
  );
  return [
    ...taken,
    ...check.map((id) => `${CDK_OWN[id].section}.${id}: missing, so the CDK's bootstrap version check is gone`),
  ];
}

/** Every way one template breaks a limit above, one line each; none when it deploys as far as these limits go. */
export function templateProblems(synthesized: SynthesizedTemplate): string[] {
  const resolver = new MaxLengthResolver(synthesized.template);
  const resources = Object.entries(synthesized.template.Resources ?? {});
  return [
    ...quotaProblems(synthesized),
    ...reservedIdProblems(synthesized.template),
    ...alarmProblems(resources, resolver),
    ...environmentProblems(resources, resolver),
    ...policyProblems(resources, resolver),
    ...dashboardProblems(resources, resolver),
  ].map((line) => `${synthesized.name}: ${line}`);
}

/**
 * A secret has one resource policy: two `AWS::SecretsManager::ResourcePolicy` for one secret,
 * in one template or in two of one app, replace each other. A secret by name or ARN is the same
 * secret in any template; one by `Ref` only within its template.
 */
export function sharedSecretPolicyProblems(templates: readonly SynthesizedTemplate[]): string[] {
  const holders = new Map<string, string[]>();
  for (const { name, template } of templates) {
    for (const [id, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::SecretsManager::ResourcePolicy') continue;
      const secret = JSON.stringify(resource.Properties?.SecretId);
      const key = /"(?:Ref":"(?!AWS::)|Fn::GetAtt)/.test(secret) ? `${name} ${secret}` : secret;
      holders.set(key, [...(holders.get(key) ?? []), `${name}: Resources.${id}`]);
    }
  }
  return [...holders.values()]
    .filter((policies) => policies.length > 1)
    .map((policies) => `one secret, ${policies.length} resource policies (a secret has one): ${policies.join(', ')}`);
}
