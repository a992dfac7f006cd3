/**
 * Reading the app's configuration: from a JSON file or cdk.json context, checked against the
 * rules of fields.ts with every problem reported at once, and how the CDK app groups the tokens.
 */
import { readFileSync } from 'node:fs';
import { Duration } from 'aws-cdk-lib';
import { APP_RULE, SHARED_FIELDS, TOKEN_FIELDS } from './fields.js';
import type { Field, Problem } from './rules.js';
import type { AppConfig, JsonSchema, SharedConfig, TokenConfig } from './types.js';

/** What names the configuration in messages when it comes from cdk.json rather than a file. */
export const CONTEXT_SOURCE = 'cdk.json context "imsTokenRefresher"';

/**
 * A configuration that cannot be deployed: one line per problem in `problems`, each naming the
 * source (when given), the token and the key, e.g.
 * `tokens.json: tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /** @param problems one line per problem, as printed. */
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/**
 * The JSON Schema (draft-07) of the configuration file, derived from the same rules as
 * `parseAppConfig`. It cannot say what spans tokens (unique names and token secrets) or every
 * `imsBaseUrl` rule; synth still checks those.
 */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'ims-token-refresher configuration',
    description:
      'The Adobe IMS tokens to keep fresh: `cdk deploy -c config=<this file>`, ' +
      'or the "imsTokenRefresher" context in cdk.json.',
    ...APP_RULE.schema,
  };
}

/** Keys absent from a token that get a default (`credentialsSecret: "create"`). */
const TOKEN_DEFAULTS = Object.fromEntries(
  Object.entries(TOKEN_FIELDS as Readonly<Record<string, Field>>)
    .filter(([, field]) => field.default !== undefined)
    .map(([key, field]) => [key, field.default]),
);

/**
 * Validates the app configuration, reporting every problem at once: throws a `ConfigError` with
 * one line per problem, each starting with `source` when given (a file path, or `CONTEXT_SOURCE`).
 */
export function parseAppConfig(raw: unknown, source?: string): AppConfig {
  const problems = APP_RULE.check(raw);
  if (problems.length > 0) {
    const line = ({ at, message }: Problem) => [source, at.replace(/^\./, '') || undefined, message];
    throw new ConfigError(problems.map((problem) => line(problem).filter(Boolean).join(': ')));
  }
  const app = raw as SharedConfig & { tokens: TokenConfig[]; dashboard?: boolean };
  const shared: SharedConfig = Object.fromEntries(
    Object.keys(SHARED_FIELDS).flatMap((key) => (key in app ? [[key, app[key as keyof SharedConfig]]] : [])),
  );
  const tokens = app.tokens.map((token) => {
    // A token's own alarm target replaces the app's, whichever key each uses.
    const ownAlarm = token.alarmTopicArn ?? token.alarmEmail;
    const inherited = ownAlarm ? { ...shared, alarmTopicArn: undefined, alarmEmail: undefined } : shared;
    const merged = Object.entries({ ...TOKEN_DEFAULTS, ...inherited, ...token });
    return Object.fromEntries(merged.filter(([, value]) => value !== undefined)) as unknown as TokenConfig;
  });
  return { ...shared, tokens, dashboard: app.dashboard ?? true };
}

/**
 * Where the CDK app's configuration can come from: the JSON file named with `-c config=…`, and the
 * `imsTokenRefresher` context (in cdk.json). Exactly one of the two must be given.
 */
export interface ConfigSources {
  readonly file?: string | undefined;
  readonly context?: unknown;
}

/**
 * Why the app synthesizes nothing without a configuration, and what to do instead. There is no
 * default token: a `cdk deploy` with a forgotten `-c config=…` must not replace the user's stack.
 */
export const NO_CONFIGURATION: string[] = [
  'no configuration, so nothing is synthesized or deployed. Either:',
  '- write the tokens to a file (start from a copy of examples/tokens.json, see README "Configure") and name it ' +
    'in every cdk command, ls, diff and destroy included: npx cdk deploy -c config=tokens.json',
  '- or put them in cdk.json under "context": { "imsTokenRefresher": { "tokens": [ … ] } }',
];

/**
 * The app's configuration: the JSON file named with `-c config=…`, or the `imsTokenRefresher`
 * context of cdk.json. Throws a `ConfigError` with `NO_CONFIGURATION` when neither is given, naming
 * both when both are (one would be silently ignored), and naming the source for any problem, also
 * for a file that cannot be read or is not JSON (with line and column, never its content).
 */
export function loadAppConfig({ file, context }: ConfigSources): AppConfig {
  if (file === undefined && context === undefined) throw new ConfigError([...NO_CONFIGURATION]);
  if (file !== undefined && context !== undefined)
    throw new ConfigError([
      `two configurations: ${file} (-c config=…) and ${CONTEXT_SOURCE}; keep one ` +
        '(remove "imsTokenRefresher" from the context, or drop -c config=…)',
    ]);
  if (file === undefined) return parseAppConfig(context, CONTEXT_SOURCE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the file (${code === 'ENOENT' ? 'no such file' : code})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${syntaxProblem(error as SyntaxError, text)}`]);
  }
  return parseAppConfig(raw, file);
}

/** V8's JSON error with a line and column, cut before the excerpt of the text it may quote in double quotes. */
function syntaxProblem(error: SyntaxError, text: string): string {
  const message = error.message.split('"')[0].replace(/[\s,.]+$/, '');
  const position = /^(.*?) in JSON at position (\d+)/.exec(message);
  const what = position ? position[1] : message;
  const described = what.charAt(0).toLowerCase() + what.slice(1);
  if (!position) return described;
  const before = text.slice(0, Number(position[2])).split('\n');
  return `${described} at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** The stack of tokens without `stack`: `-c stackName=…`, checked like `stack`, else "ImsTokenRefresher". */
export function defaultStackName(context: unknown): string {
  if (context === undefined) return 'ImsTokenRefresher';
  const problems = TOKEN_FIELDS.stack.rule.check(context);
  if (problems.length > 0) throw new ConfigError(problems.map(({ message }) => `context "stackName": ${message}`));
  return context as string;
}

/** The tokens of each stack, in configuration order; tokens without `stack` go to `defaultStack`. */
export function tokensByStack(config: AppConfig, defaultStack: string): Map<string, TokenConfig[]> {
  const stacks = new Map<string, TokenConfig[]>();
  for (const token of config.tokens) {
    const name = token.stack ?? defaultStack;
    stacks.set(name, [...(stacks.get(name) ?? []), token]);
  }
  return stacks;
}

/**
 * The one line the app prints about what it synthesized, e.g.
 * `configuration from tokens.json: 3 tokens in stack ImsTokenRefresher`.
 */
export function configSummary(source: string, stacks: ReadonlyMap<string, TokenConfig[]>): string {
  const tokens = [...stacks.values()].reduce((count, list) => count + list.length, 0);
  const names = [...stacks.keys()].join(', ');
  return `configuration from ${source}: ${tokens} token${tokens === 1 ? '' : 's'} in stack${stacks.size === 1 ? '' : 's'} ${names}`;
}

/** The schedule of an entry as a `Duration`, or undefined for the construct's default. */
export function scheduleOf(token: TokenConfig): Duration | undefined {
  return token.scheduleMinutes === undefined ? undefined : Duration.minutes(token.scheduleMinutes);
}
