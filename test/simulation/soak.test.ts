import { describe, expect, it } from 'vitest';
import { runSignals } from '../../lambda/app.js';
import { DEFAULT_REFRESH_THRESHOLD } from '../../lambda/config.js';
import { refreshReason } from '../../lambda/policy.js';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh } from '../../lambda/refresh.js';
import { parseTokenRecord } from '../../lambda/token.js';
import { MemoryStore, fakeClock, json, networkError, type Answer } from '../support/fakes.js';
import { generateJwtCredentials } from '../../sandbox/test-credentials.js';

/**
 * 90 simulated days of the real refresh core on the default schedule (hourly, renew after half
 * the token's life) against a fake IMS with outages, a 429 storm, duplicate deliveries, a
 * credential rotation and a bad credentials upload. A reader samples the token every minute.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAYS = 90;
const settings: RefreshSettings = { credentialsSecretId: 'creds', tokenSecretId: 'token', refreshThreshold: DEFAULT_REFRESH_THRESHOLD };
/** The construct's default expiry alarm: half the refresh window of a 24 h token. */
const EXPIRY_ALARM_SECONDS = (24 * 3600 * DEFAULT_REFRESH_THRESHOLD) / 2;

interface Fault {
  readonly name: string;
  /** The fault starts on this day, at the first scheduled run that finds the token due: the worst moment. */
  readonly day: number;
  readonly durationMs: number;
  readonly answer: Answer;
  from?: number;
}

describe('90-day soak on the default schedule', () => {
  it('never lets a reader see an expired token, alarms on every failure within one period, mints ≤ 3 tokens a day', async () => {
    // Prepare
    const start = Date.parse('2026-01-01T00:00:00Z');
    const clock = fakeClock(start);
    const store = new MemoryStore();
    const first = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf', wrapped: true });
    const rotated = await generateJwtCredentials({ keyFormat: 'pkcs8', wrapped: true });
    store.put(settings.credentialsSecretId, first.json);
    let validSecret = first.integration.clientSecrets[0]!;

    const faults: Fault[] = [
      { name: '1 h outage', day: 10, durationMs: HOUR, answer: json(503, { error: 'unavailable' }) },
      { name: '6 h outage', day: 30, durationMs: 6 * HOUR, answer: networkError() },
      { name: '11 h outage', day: 50, durationMs: 11 * HOUR, answer: networkError('TimeoutError', 'aborted') },
      { name: '429 storm', day: 60, durationMs: 3 * HOUR, answer: json(429, {}, { 'retry-after': '20' }) },
    ];
    const activeFault = () => faults.find((f) => f.from !== undefined && clock.now() >= f.from && clock.now() < f.from + f.durationMs);
    let minted = 0;
    const fetch = (async (_url: unknown, init?: RequestInit) => {
      const fault = activeFault();
      if (fault) return fault.answer({} as never);
      const form = new URLSearchParams(init?.body as URLSearchParams);
      if (form.get('client_secret') !== validSecret) return json(401, { error: 'invalid_client' })({} as never);
      minted += 1;
      return json(200, { token_type: 'bearer', access_token: `token-${minted}`, expires_in: 86_399_999 })({} as never);
    }) as typeof globalThis.fetch;
    const deps = { store, fetch, now: clock.now, sleep: clock.sleep, random: () => 0.5 };

    const signals: { at: number; outcome: string; secondsToExpiry: number | undefined }[] = [];
    const invoke = async (requestKey: string, force = false) => {
      const result = await runRefresh(settings, { force, requestKey, deadline: clock.now() + 75_000 }, deps);
      signals.push({ at: clock.now(), ...runSignals(result, clock.now()) });
    };

    // Credential events: a bad upload fixed 3 h later, and a rotation. Each also triggers a run (the EventBridge rule).
    const badUpload = start + 70 * DAY + 5 * HOUR + 17 * MINUTE;
    const credentialEvents = [
      { at: badUpload, value: '{"integration": {"org": "oops"}}', secret: undefined },
      { at: badUpload + 3 * HOUR, value: first.json, secret: undefined },
      { at: start + 80 * DAY + 7 * HOUR + 41 * MINUTE, value: rotated.json, secret: rotated.integration.clientSecrets[0]! },
    ];
    const duplicateEvery = 37; // every 37th scheduled event is delivered twice

    // Act: minute by minute; the schedule fires on the hour, the reader samples every minute.
    let expiredMinutes = 0;
    let missingMinutes = 0;
    let minSecondsLeft = Infinity;
    for (let minute = 0; minute < DAYS * 24 * 60; minute += 1) {
      const now = start + minute * MINUTE;
      if (clock.now() < now) clock.time = now; // retries may have slept past the minute
      for (const event of credentialEvents.filter((e) => e.at === now)) {
        store.put(settings.credentialsSecretId, event.value);
        if (event.secret) validSecret = event.secret;
        await invoke(`credentials-changed:${now}`);
      }
      if (minute % 60 === 0) {
        const stored = store.current(settings.tokenSecretId);
        const token = stored && parseTokenRecord(stored.value);
        const isDue =
          token &&
          refreshReason({ token, credentialsVersionId: token.credentials_version_id, now, threshold: settings.refreshThreshold, force: false }) === 'due';
        for (const fault of faults) if (fault.from === undefined && now >= start + fault.day * DAY && isDue) fault.from = now;
        const scheduledTime = new Date(now).toISOString();
        await invoke(`schedule:${scheduledTime}`);
        if ((minute / 60) % duplicateEvery === 0) await invoke(`schedule:${scheduledTime}`);
      }
      const stored = store.current(settings.tokenSecretId);
      if (!stored) {
        missingMinutes += 1;
        continue;
      }
      const left = Date.parse(parseTokenRecord(stored.value).expires_at) - clock.now();
      minSecondsLeft = Math.min(minSecondsLeft, left / 1000);
      if (left <= 0) expiredMinutes += 1;
    }

    // Assess
    const failures = signals.filter((s) => s.outcome.startsWith('failed'));
    const detectedWithinOnePeriod = (from: number, outcome: string) =>
      signals.some((s) => s.outcome === outcome && s.at >= from && s.at <= from + HOUR);
    const tokensPerDay = store.versionCount(settings.tokenSecretId) / DAYS;
    const expiringAlarmPeriods = new Set(
      signals.filter((s) => s.secondsToExpiry !== undefined && s.secondsToExpiry < EXPIRY_ALARM_SECONDS).map((s) => Math.floor(s.at / HOUR)),
    ).size;

    console.log(
      `soak: ${DAYS} days, ${signals.length} runs, ${failures.length} failed runs, ` +
        `${store.versionCount(settings.tokenSecretId)} tokens written (${tokensPerDay.toFixed(2)}/day), ${minted} minted, ` +
        `${expiredMinutes} expired minutes, min time left ${(minSecondsLeft / 3600).toFixed(2)} h, ` +
        `expiring alarm in ${expiringAlarmPeriods} hourly periods`,
    );
    expect(missingMinutes).toBe(0);
    expect(expiredMinutes).toBe(0);
    expect(tokensPerDay).toBeLessThanOrEqual(3);
    expect(minted).toBe(store.versionCount(settings.tokenSecretId)); // duplicates minted nothing extra
    for (const fault of faults) {
      expect(fault.from, `${fault.name} started`).toBeDefined();
      expect(detectedWithinOnePeriod(fault.from!, 'failedTransient'), fault.name).toBe(true);
    }
    expect(detectedWithinOnePeriod(badUpload, 'failedPermanent'), 'bad upload').toBe(true);
    // The 11 h outage takes the token below the expiry alarm's floor: someone is told before it breaks.
    expect(expiringAlarmPeriods).toBeGreaterThan(0);
    // The rotation re-minted at once, with the new credentials' version.
    const last = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    expect(last.credentials_version_id).toBe(store.current(settings.credentialsSecretId)!.versionId);
    const rotation = signals.find((s) => s.at >= credentialEvents[2]!.at && s.outcome === 'refreshed');
    expect(rotation!.at - credentialEvents[2]!.at).toBeLessThan(MINUTE);
  });
});
