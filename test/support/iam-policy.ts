/**
 * A small evaluator of IAM policies, for exactly the statements this project emits, so the
 * least-access resource policies are proven without AWS. It follows IAM's documented evaluation
 * logic: an explicit Deny in any policy wins; else, within one account, an Allow in the identity
 * policy or the resource policy allows; across accounts both must allow; an anonymous request
 * (no `aws:PrincipalArn`) only the resource policy can allow; else the request is implicitly
 * denied. It knows `*` and `?` wildcards in actions and resources, `Principal` "*" or
 * `{ AWS: … }`, and the condition operators `StringEquals` and `StringNotEquals`. Anything else
 * (NotAction, NotPrincipal, other operators) throws instead of guessing. It takes the request
 * context as given: `aws:PrincipalArn` is the role's ARN (path included) for its sessions.
 */

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | { readonly AWS: string | readonly string[] };
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface Request {
  readonly action: string;
  readonly resource: string;
  /** The account that owns `resource`. */
  readonly resourceAccount: string;
  /** The request context: `aws:PrincipalArn` and `aws:PrincipalAccount`, both absent for an anonymous request. */
  readonly context: Readonly<Record<string, string | undefined>>;
}

export type Decision = 'allowed' | 'explicitly denied' | 'implicitly denied';

/** Whether `request` is allowed by the caller's `identity` statements and the resource's `resource` statements. */
export function evaluate(
  policies: { identity: readonly Statement[]; resource: readonly Statement[] },
  request: Request,
): Decision {
  for (const statement of policies.identity) {
    if (statement.Principal !== undefined) throw new Error('an identity policy statement has no Principal');
  }
  const applies = (statement: Statement, inResourcePolicy: boolean) =>
    known(statement) &&
    matchesAny(statement.Action, request.action, true) &&
    matchesAny(statement.Resource, request.resource, false) &&
    (!inResourcePolicy || principalMatches(statement, request.context)) &&
    conditionsHold(statement.Condition ?? {}, request.context);
  const identity = policies.identity.filter((statement) => applies(statement, false));
  const resource = policies.resource.filter((statement) => applies(statement, true));
  if ([...identity, ...resource].some((statement) => statement.Effect === 'Deny')) return 'explicitly denied';
  const byIdentity = identity.some((statement) => statement.Effect === 'Allow');
  const byResource = resource.some((statement) => statement.Effect === 'Allow');
  const anonymous = request.context['aws:PrincipalArn'] === undefined;
  const sameAccount = request.context['aws:PrincipalAccount'] === request.resourceAccount;
  const allowed = anonymous ? byResource : sameAccount ? byIdentity || byResource : byIdentity && byResource;
  return allowed ? 'allowed' : 'implicitly denied';
}

/** Throws on what this evaluator does not model; true otherwise. */
function known(statement: Statement): true {
  const keys = Object.keys(statement).filter(
    (key) => !['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'].includes(key),
  );
  if (keys.length > 0) throw new Error(`not modelled: ${keys.join(', ')}`);
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
    throw new Error(`not an effect: ${String(statement.Effect)}`);
  return true;
}

function matchesAny(patterns: string | readonly string[], value: string, ignoreCase: boolean): boolean {
  return [patterns].flat().some((pattern) => {
    if (typeof pattern !== 'string') throw new Error(`unresolved value in a policy: ${JSON.stringify(pattern)}`);
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
  });
}

/** `*` is everyone, anonymous too; an ARN is that role or user; an account's root ARN is any principal of the account. */
function principalMatches(statement: Statement, context: Request['context']): boolean {
  if (statement.Principal === undefined) throw new Error('a resource policy statement needs a Principal');
  if (statement.Principal === '*') return true;
  const arn = context['aws:PrincipalArn'];
  const account = context['aws:PrincipalAccount'];
  return [statement.Principal.AWS].flat().some((principal) => {
    if (principal === '*') return arn !== undefined;
    const root = /^arn:[\w-]+:iam::(\d{12}):root$/.exec(principal);
    return root ? root[1] === account : principal === arn;
  });
}

/** Every operator and every key in it must hold (they are ANDed); the values of one key are ORed. */
function conditionsHold(condition: NonNullable<Statement['Condition']>, context: Request['context']): boolean {
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      const values = [expected].flat();
      switch (operator) {
        case 'StringEquals':
          return actual !== undefined && values.includes(actual);
        case 'StringNotEquals':
          // A key missing from the request matches no value, so a negated operator holds.
          return actual === undefined || !values.includes(actual);
        default:
          throw new Error(`condition operator not modelled: ${operator}`);
      }
    }),
  );
}

/**
 * Replaces the CloudFormation intrinsics of a template fragment with deployed values: `Ref` and
 * `Fn::GetAtt` (…`Arn`) of a logical id by `physical[id]` (or a placeholder that matches nothing
 * real), `Fn::Join`, and the pseudo parameters `AWS::Partition` and `AWS::AccountId`.
 */
export function resolveIntrinsics(
  value: unknown,
  physical: Readonly<Record<string, string>>,
  account: string,
): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, physical, account));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first[0] === 'Ref') {
    const id = first[1] as string;
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::AccountId') return account;
    return physical[id] ?? `<${id}>`;
  }
  if (entries.length === 1 && first[0] === 'Fn::GetAtt') {
    const [id, attribute] = first[1] as [string, string];
    if (attribute !== 'Arn') throw new Error(`not modelled: Fn::GetAtt ${id}.${attribute}`);
    return physical[id] ?? `<${id}.Arn>`;
  }
  if (entries.length === 1 && first[0] === 'Fn::Join') {
    const [separator, parts] = first[1] as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, physical, account)).join(separator);
  }
  if (entries.some(([key]) => key.startsWith('Fn::')))
    throw new Error(`not modelled: ${entries.map(([key]) => key).join(', ')}`);
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, physical, account)]));
}
