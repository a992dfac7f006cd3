/**
 * The one redaction boundary. Every string that can reach a log line, an error message, the
 * Lambda's result or the CLI's output passes through `redact`: error classes apply it to their
 * message and details, the refresher's logger to every string it serializes, the CLI to every
 * error line and every JSON document it prints (the token itself, printed on purpose, is the
 * one exception). It removes
 * - the secrets this process has handled (`rememberSecret`: client secrets, the private key's
 *   lines, each JWT sent, each access token seen), also in their URL- and JSON-encoded forms, as
 *   a peer that echoes our request would write them;
 * - anything shaped like a JWT or a PEM block, even one we never saw (another client's token);
 * - control characters (CR/LF would forge log lines and break one-line errors);
 * and then bounds the length.
 *
 * The set of remembered secrets is per process, like a Lambda sandbox that runs one invocation at
 * a time: a secret is remembered where it enters (parsing credentials, signing, reading an IMS
 * answer), so a message built anywhere later cannot carry it.
 */

/**
 * Shorter values would match ordinary text (and a hostile peer could blank words of our own log
 * lines by sending them as a "token"); no secret we handle is this short.
 */
const MIN_SECRET_LENGTH = 16;
/** A warm sandbox sees one client secret, a key and a few JWTs and tokens a day; old ones age out. */
const MAX_REMEMBERED = 512;
/** Default bound for one string: a log field, an error message. */
export const MAX_TEXT_LENGTH = 1_000;

export const REDACTED = '[redacted]';

const remembered = new Set<string>();
/** `remembered`, longest first (so a secret that contains another is removed whole); sorted when it changes. */
let longestFirst: string[] = [];
const JWT_SHAPE = /eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*/g;
const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g;
// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Remembers secret values so that `redact` removes them from any text from now on. */
export function rememberSecret(...values: readonly (string | undefined)[]): void {
  for (const value of values) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH) continue;
    for (const form of encodings(value)) {
      remembered.delete(form);
      remembered.add(form);
    }
  }
  for (const oldest of remembered) {
    if (remembered.size <= MAX_REMEMBERED) break;
    remembered.delete(oldest);
  }
  longestFirst = [...remembered].sort((a, b) => b.length - a.length);
}

/** Remembers each line of a PEM private key's body (the key as it sits in the secret, any line ends). */
export function rememberPemLines(pem: string): void {
  rememberSecret(...pem.split(/\\r|\\n|\r|\n/).filter((line) => !line.startsWith('-----')));
}

/** `text` without remembered secrets, JWT- or PEM-shaped strings and control characters, at most `maxLength` long. */
export function redact(text: string, maxLength = MAX_TEXT_LENGTH): string {
  let clean = withoutRemembered(text);
  // A secret split by inserted control characters (a wrapped echo) is found once they are gone.
  const joined = clean.replace(CONTROL, '');
  if (joined !== clean) {
    const rejoined = withoutRemembered(joined);
    if (rejoined !== joined) clean = rejoined;
  }
  clean = clean.replace(PEM_BLOCK, REDACTED).replace(JWT_SHAPE, REDACTED).replace(CONTROL, ' ');
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1)}…` : clean;
}

/** `value` as JSON with every string in it redacted: for structured output (the CLI's). */
export function redactedJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? redact(item) : item), indent);
}

function withoutRemembered(text: string): string {
  let clean = text;
  for (const secret of longestFirst) clean = clean.replaceAll(secret, REDACTED);
  return clean;
}

/** `redact` for an optional value. */
export function redactOptional(text: string | undefined, maxLength?: number): string | undefined {
  return text === undefined ? undefined : redact(text, maxLength);
}

/** The forms a value takes in what a peer may echo: as is, URL-encoded (both ways, either hex case) and JSON-escaped. */
function encodings(value: string): Set<string> {
  const urlForms = [encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)];
  const lowerHex = urlForms.map((form) => form.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
  return new Set(
    [value, ...urlForms, ...lowerHex, JSON.stringify(value).slice(1, -1)].filter(
      (form) => form.length >= MIN_SECRET_LENGTH,
    ),
  );
}
