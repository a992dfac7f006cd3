/**
 * The rule combinators the configuration file is described with: each rule says a value's shape
 * once, as JSON Schema for editors and as a check whose problems read well to people. The keys of
 * the file and their rules are in `fields.ts`.
 */
import { ACCOUNT_ID } from '../../common/rules.js';
import type { JsonSchema } from './types.js';

/** One problem: `at` is the path below the value checked (`.key`, `[2]`), `message` what was expected. */
export interface Problem {
  readonly at: string;
  readonly message: string;
}

export interface Rule {
  readonly schema: JsonSchema;
  /** Every problem with `value`; none when it is valid. */
  check(value: unknown): Problem[];
  /** Whether `value` was evidently meant for this rule, so its own diagnosis beats a generic one. */
  claims?(value: unknown): boolean;
}

/** One key of an object: its rule and what the schema tells editors about it. */
export interface Field {
  readonly description: string;
  readonly rule: Rule;
  readonly required?: boolean;
  /** Applied when the key is absent, and shown by editors. */
  readonly default?: string;
  /** Another key that must be present with this one, and why (JSON Schema `dependencies`). */
  readonly needs?: { readonly key: string; readonly because: string };
}

export const problem = (message: string, at = ''): Problem => ({ at, message });
const under = (at: string, problems: Problem[]): Problem[] => problems.map((p) => ({ ...p, at: at + p.at }));
export const anchored = (pattern: RegExp) => new RegExp(`^(?:${pattern.source})$`);
/** The pattern inside an anchored `^…$` one, to compose into others. */
export const unanchored = (pattern: RegExp) => new RegExp(pattern.source.replace(/^\^/, '').replace(/\$$/, ''));
/** `.key`, or `["odd key"]` for a key that would not read as one word (one line per problem, always). */
export const keyPath = (key: string) => (/^[$\w-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string, matching `pattern` when one is given; else `message`. */
export function text(pattern: RegExp | undefined, message: string): Rule {
  const whole = pattern && anchored(pattern);
  return {
    schema: { type: 'string', ...(whole ? { pattern: whole.source } : {}) },
    check: (value) => (typeof value === 'string' && (!whole || whole.test(value)) ? [] : [problem(message)]),
  };
}

/** One of a few fixed words. */
export function word(...words: string[]): Rule {
  const expected = `must be ${words.map((w) => `"${w}"`).join(' or ')}`;
  return {
    schema: words.length === 1 ? { const: words[0] } : { enum: words },
    check: (value) => (words.includes(value as string) ? [] : [problem(expected)]),
  };
}

/** `rule`, except for the `reserved` words. */
export function except(rule: Rule, reserved: readonly string[]): Rule {
  return {
    schema: { ...rule.schema, not: { enum: reserved } },
    check: (value) => {
      const problems = rule.check(value);
      if (problems.length > 0 || !reserved.includes(value as string)) return problems;
      return [problem(`"${value as string}" is reserved; choose another`)];
    },
  };
}

/** A whole number of `unit`, at least `minimum` and, when given, at most `maximum`. */
export function wholeNumber(unit: string, minimum: number, maximum?: number): Rule {
  const range = maximum === undefined ? `at least ${minimum}` : `from ${minimum} to ${maximum}`;
  return {
    schema: { type: 'integer', minimum, ...(maximum === undefined ? {} : { maximum }) },
    check: (value) =>
      Number.isInteger(value) && (value as number) >= minimum && (value as number) <= (maximum ?? Infinity)
        ? []
        : [problem(`must be a whole number of ${unit}, ${range}`)],
  };
}

/** true or false. */
export const BOOLEAN: Rule = {
  schema: { type: 'boolean' },
  check: (value) => (typeof value === 'boolean' ? [] : [problem('must be true or false')]),
};

/**
 * A number strictly between `low` and `high` for the schema; `problemOf`, a shared rule from
 * common/rules.ts, decides and words the check (a value that is no number is checked as NaN,
 * which no range holds).
 */
export function between(low: number, high: number, problemOf: (value: number) => string | undefined): Rule {
  return {
    schema: { type: 'number', exclusiveMinimum: low, exclusiveMaximum: high },
    check: (value) => {
      const message = problemOf(typeof value === 'number' ? value : Number.NaN);
      return message === undefined ? [] : [problem(message)];
    },
  };
}

/** Any of `rules`; a value that one rule claims gets its diagnosis, any other "must be `expected`". */
export function anyOf(expected: string, ...rules: Rule[]): Rule {
  return {
    schema: { anyOf: rules.map((rule) => rule.schema) },
    check: (value) => {
      if (rules.some((rule) => rule.check(value).length === 0)) return [];
      const claimant = rules.find((rule) => rule.claims?.(value));
      return claimant ? claimant.check(value) : [problem(`must be ${expected}`)];
    },
  };
}

export interface ListOptions {
  /** Names an item in messages; default: its index. */
  readonly label?: (item: unknown, index: number) => string;
  /** Problems between items that no single item shows. */
  readonly across?: (items: readonly unknown[], labels: readonly string[]) => Problem[];
}

/** A non-empty list of distinct items; `expected` completes "must be a non-empty list of …". */
export function list(item: Rule, expected: string, options: ListOptions = {}): Rule {
  return {
    schema: { type: 'array', minItems: 1, uniqueItems: true, items: item.schema },
    check: (value) => {
      if (!Array.isArray(value) || value.length === 0) return [problem(`must be a non-empty list of ${expected}`)];
      const labels = value.map((entry, index) => `[${options.label?.(entry, index) ?? index}]`);
      return [
        ...value.flatMap((entry, index) => [
          ...under(labels[index], item.check(entry)),
          ...(typeof entry === 'string' && value.indexOf(entry) < index
            ? [problem(`"${entry}" is listed twice`, labels[index])]
            : []),
        ]),
        ...(options.across?.(value, labels) ?? []),
      ];
    },
  };
}

/** An object with exactly `fields`; `expected` completes "must be …". */
export function object(fields: Readonly<Record<string, Field>>, expected: string): Rule {
  return {
    schema: objectSchema(fields),
    check: (value) => {
      if (!isObject(value)) return [problem(`must be ${expected}`)];
      const unknown = Object.keys(value).filter((key) => !Object.hasOwn(fields, key));
      return [
        ...unknown.map((key) => problem(`unknown key${didYouMean(key, Object.keys(fields))}`, keyPath(key))),
        ...Object.entries(fields).flatMap(([key, field]): Problem[] => {
          if (value[key] === undefined) return field.required ? [problem('required key is missing', `.${key}`)] : [];
          const found = under(`.${key}`, field.rule.check(value[key]));
          if (field.needs && value[field.needs.key] === undefined) {
            found.push(problem(`needs "${field.needs.key}": ${field.needs.because}`, `.${key}`));
          }
          return found;
        }),
      ];
    },
  };
}

function objectSchema(fields: Readonly<Record<string, Field>>): JsonSchema {
  const entries = Object.entries(fields);
  const needs = entries.filter(([, field]) => field.needs);
  return {
    type: 'object',
    properties: Object.fromEntries(
      entries.map(([key, { description, rule, default: value }]) => [
        key,
        { description, ...(value === undefined ? {} : { default: value }), ...rule.schema },
      ]),
    ),
    required: entries.filter(([, field]) => field.required).map(([key]) => key),
    additionalProperties: false,
    ...(needs.length > 0
      ? { dependencies: Object.fromEntries(needs.map(([key, field]) => [key, [field.needs!.key]])) }
      : {}),
  };
}

/** `rule` for an object in which the keys `a` and `b` cannot both be meant. */
export function notBoth(rule: Rule, a: string, b: string): Rule {
  return {
    schema: { ...rule.schema, not: { required: [a, b] } },
    check: (value) => [
      ...rule.check(value),
      ...(isObject(value) && value[a] !== undefined && value[b] !== undefined
        ? [problem(`set "${a}" or "${b}", not both`, `.${b}`)]
        : []),
    ],
  };
}

/** " (did you mean x?)" for the known key closest to `key`, when one is close enough to be the intent. */
function didYouMean(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const [closest] = known
    .map((candidate) => ({ candidate, distance: editDistance(lower, candidate.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  let guess = closest && closest.distance <= Math.min(2, Math.floor(key.length / 3)) ? closest.candidate : undefined;
  // A fragment of one key only, e.g. "schedule" for "scheduleMinutes".
  const containing = known.filter((candidate) => candidate.toLowerCase().includes(lower));
  if (!guess && lower.length >= 4 && containing.length === 1) guess = containing[0];
  return guess ? ` (did you mean ${guess}?)` : '';
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, replace);
    }
    previous = current;
  }
  return previous[b.length];
}

// ---------------------------------------------------------------------------------------------
// ARNs: which part is wrong, in words.
// ---------------------------------------------------------------------------------------------

/** How an ARN of the kind a field expects looks. */
export interface ArnShape {
  /** What the field expects, in words: "a KMS key ARN". */
  readonly what: string;
  /** Its form, in messages: "arn:aws:kms:<region>:<account>:key/<key id>". */
  readonly form: string;
  readonly service: string;
  /** IAM ARNs name no region. */
  readonly regional: boolean;
  /** Resource types accepted: the resource part up to its first "/" or ":". */
  readonly types: readonly string[];
  /** The whole resource part. */
  readonly resource: RegExp;
  /** Said when only the resource part is wrong; default: what was expected. */
  readonly resourceHint?: string;
}

export const PARTITION = /aws[a-z-]*/;
export const REGION = /[a-z]{2}(?:-[a-z]+)+-\d/;
/** `ACCOUNT_ID` of common/rules.ts, to compose into ARN patterns. */
export const ACCOUNT = unanchored(ACCOUNT_ID);
export const ACCOUNT_MESSAGE = 'account id must be 12 digits';

/** An ARN of `shape`; messages say which part is wrong and what was expected. */
export function arn(shape: ArnShape): Rule {
  const region = shape.regional ? REGION.source : '';
  const rule = text(
    new RegExp(`arn:${PARTITION.source}:${shape.service}:${region}:${ACCOUNT.source}:(?:${shape.resource.source})`),
    `must be ${shape.what} (${shape.form})`,
  );
  return {
    schema: rule.schema,
    claims: (value) => typeof value === 'string' && value.startsWith('arn:'),
    check: (value) => (rule.check(value).length === 0 ? [] : diagnoseArn(shape, value)),
  };
}

function diagnoseArn(shape: ArnShape, value: unknown): Problem[] {
  const expected = `expected ${shape.what} (${shape.form})`;
  const parts = typeof value === 'string' ? value.split(':') : [];
  // arn:partition:service:region:account:resource, the resource itself may hold colons.
  if (parts.length < 6 || parts[0] !== 'arn') return [problem(`${expected}; this is not a complete ARN`)];
  const [, partition, service, region, account, ...rest] = parts as [
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  const resource = rest.join(':');
  const type = resource.split(/[/:]/)[0];
  if (service !== shape.service || !shape.types.includes(type)) {
    return [problem(`${expected}, got ${/^[aeiou]/.test(service) ? 'an' : 'a'} ${service} ${type} ARN`)];
  }
  const problems: Problem[] = [];
  if (!anchored(PARTITION).test(partition)) problems.push(problem(`partition must be "aws", "aws-cn" or "aws-us-gov"`));
  if (shape.regional && !anchored(REGION).test(region)) {
    problems.push(problem('region must be a region name like "eu-west-1"'));
  }
  if (!shape.regional && region !== '') problems.push(problem(`${expected}, which names no region`));
  if (!ACCOUNT_ID.test(account)) problems.push(problem(ACCOUNT_MESSAGE));
  if (!anchored(shape.resource).test(resource)) problems.push(problem(shape.resourceHint ?? expected));
  return problems;
}
