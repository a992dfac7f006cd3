import { describe, expect, it } from 'vitest';
import { runSignals } from '../../lambda/app.js';
import { DEFAULT_REFRESH_THRESHOLD } from '../../lambda/config.js';
import { refreshReason } from '../../lambda/policy.js';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh, type RunResult } from '../../lambda/refresh.js';
import { parseTokenRecord } from '../../lambda/token.js';
import { MemoryStore, fakeClock, json, networkError, type Answer } from '../support/fakes.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../../sandbox/test-credentials.js';

/**
 * 90 simulated days of the real refresh core on the default schedule (hourly, renew after half
 * the token's life) against a fake IMS with outages, a 429 storm and duplicate deliveries, through
 * a credential lifecycle: a certificate that expires on day 60 (the warning is acted on by day 45),
 * a bad upload that stays broken for 30 hours, a move to OAuth Server-to-Server and a rotation of
 * its client secret through two secrets. A reader samples the token every minute.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAYS = 90;
const settings: RefreshSettings = { credentialsSecretId: 'creds', tokenSecretId: 'token', refreshThreshold: DEFAULT_REFRESH_THRESHOLD };
/** The construct's default expiry alarm: half the refresh window of a 24 h token. */
const EXPIRY_ALARM_SECONDS = (24 * 3600 * DEFAULT_REFRESH_THRESHOLD) / 2;
/** The construct's default credentials expiry warning (`credentialsExpiryWarning`). */
const CREDENTIALS_WARNING_SECONDS = 30 * 24 * 3600;

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
    const expiring = await generateJwtCredentials({ validFrom: new Date(start - 300 * DAY), validTo: new Date(start + 60 * DAY) });
    const renewed = await generateJwtCredentials({ keyFormat: 'pkcs8', validFrom: new Date(start + 44 * DAY) });
    const rejected = await generateJwtCredentials({ validFrom: new Date(start) }); // a wrong download: IMS does not know it
    const oauth = generateOAuthCredentials({ clientSecrets: 2 });
    const [secretA, secretB] = oauth.integration.clientSecrets as [string, string];
    const oauthWith = (...secrets: string[]) => JSON.stringify({ clientId: oauth.integration.clientId, clientSecrets: secrets, scopes: 'openid,AdobeID' });
    store.put(settings.credentialsSecretId, expiring.json);

    /** What IMS knows: each client's accepted secrets, and for JWT clients when their certificate expires. */
    const clients = new Map<string, { secrets: Set<string>; certificateExpiresAt?: number }>([
      [expiring.integration.clientId, { secrets: new Set(expiring.integration.clientSecrets), certificateExpiresAt: expiring.integration.certificateExpiresAt }],
      [renewed.integration.clientId, { secrets: new Set(renewed.integration.clientSecrets), certificateExpiresAt: renewed.integration.certificateExpiresAt }],
      [oauth.integration.clientId, { secrets: new Set([secretA]) }],
    ]);

    const faults: Fault[] = [
      { name: '1 h outage', day: 10, durationMs: HOUR, answer: json(503, { error: 'unavailable' }) },
      { name: '6 h outage', day: 30, durationMs: 6 * HOUR, answer: networkError() },
      { name: '11 h outage', day: 50, durationMs: 11 * HOUR, answer: networkError('TimeoutError', 'aborted') },
      { name: '429 storm', day: 60, durationMs: 3 * HOUR, answer: json(429, {}, { 'retry-after': '20' }) },
    ];
    const activeFault = () => faults.find((f) => f.from !== undefined && clock.now() >= f.from && clock.now() < f.from + f.durationMs);
    let minted = 0;
    const fetch = (async (url: unknown, init?: RequestInit) => {
      const fault = activeFault();
      if (fault) return fault.answer({} as never);
      const form = new URLSearchParams(init?.body as URLSearchParams);
      const client = clients.get(form.get('client_id')!);
      if (!client) return json(400, { error: 'invalid_client' })({} as never);
      if (!client.secrets.has(form.get('client_secret')!)) return json(401, { error: 'invalid_client' })({} as never);
      if (client.certificateExpiresAt !== undefined && clock.now() >= client.certificateExpiresAt) {
        return json(400, { error: 'invalid_signature' })({} as never);
      }
      minted += 1;
      const expiresIn = String(url).endsWith('/ims/exchange/jwt') ? 86_399_999 : 86_399;
      return json(200, { token_type: 'bearer', access_token: `token-${minted}`, expires_in: expiresIn })({} as never);
    }) as typeof globalThis.fetch;
    const deps = { store, fetch, now: clock.now, sleep: clock.sleep, random: () => 0.5 };

    const signals: ({ at: number } & ReturnType<typeof runSignals>)[] = [];
    const results: RunResult[] = [];
    const invoke = async (requestKey: string, force = false) => {
      const result = await runRefresh(settings, { force, requestKey, deadline: clock.now() + 75_000 }, deps);
      results.push(result);
      signals.push({ at: clock.now(), ...runSignals(result, clock.now()) });
    };

    // Credential events, each also triggering a run (the EventBridge rule). `imsChange` is what the admin does in Adobe's console.
    const at = (day: number, hour: number, minute = 0) => start + day * DAY + hour * HOUR + minute * MINUTE;
    const badUpload = at(70, 5, 17);
    const credentialEvents: { at: number; value?: string; imsChange?: () => void }[] = [
      { at: at(45, 9, 30), value: renewed.json }, // the certificate warning, acted on
      { at: badUpload, value: rejected.json },
      { at: badUpload + 30 * HOUR, value: renewed.json }, // fixed 30 hours later
      { at: at(80, 7, 41), value: oauthWith(secretA) }, // moved to OAuth Server-to-Server
      { at: at(84, 10), value: oauthWith(secretA, secretB), imsChange: () => clients.get(oauth.integration.clientId)!.secrets.add(secretB) },
      { at: at(85, 16, 5), imsChange: () => clients.get(oauth.integration.clientId)!.secrets.delete(secretA) }, // old secret deleted in the console first
      { at: at(86, 11), value: oauthWith(secretB) },
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
        event.imsChange?.();
        if (event.value === undefined) continue;
        store.put(settings.credentialsSecretId, event.value);
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

    const firstWarning = signals.find((s) => s.credentialsSecondsToExpiry !== undefined && s.credentialsSecondsToExpiry < CREDENTIALS_WARNING_SECONDS);
    const warningLeadDays = (expiring.integration.certificateExpiresAt - firstWarning!.at) / DAY;
    const warningAfterRenewal = signals.filter((s) => s.at >= credentialEvents[0]!.at && s.credentialsSecondsToExpiry! < CREDENTIALS_WARNING_SECONDS);
    const duringBadUpload = (s: { at: number }) => s.at >= badUpload && s.at < badUpload + 30 * HOUR;
    const fallbacks = results.filter((result, index) => duringBadUpload(signals[index]!) && result.fallbackCredentialsVersionId !== undefined);
    const rotationWarnings = results.filter((result) => result.outcome === 'refreshed' && result.rejectedClientSecrets.length > 0);

    console.log(
      `soak: ${DAYS} days, ${signals.length} runs, ${failures.length} failed runs, ` +
        `${store.versionCount(settings.tokenSecretId)} tokens written (${tokensPerDay.toFixed(2)}/day), ${minted} minted, ` +
        `${expiredMinutes} expired minutes, min time left ${(minSecondsLeft / 3600).toFixed(2)} h, ` +
        `expiring alarm in ${expiringAlarmPeriods} hourly periods, certificate warning ${warningLeadDays.toFixed(1)} days ahead, ` +
        `${fallbacks.length} tokens from AWSPREVIOUS in the 30 h bad upload, ${rotationWarnings.length} refused-secret warnings`,
    );
    expect(missingMinutes).toBe(0);
    expect(expiredMinutes).toBe(0);
    expect(tokensPerDay).toBeLessThanOrEqual(3);
    expect(minted).toBe(store.versionCount(settings.tokenSecretId)); // duplicates minted nothing extra
    for (const fault of faults) {
      expect(fault.from, `${fault.name} started`).toBeDefined();
      expect(detectedWithinOnePeriod(fault.from!, 'failedTransient'), fault.name).toBe(true);
    }
    // The outage takes the token below the expiry alarm's floor: someone is told before it breaks.
    expect(expiringAlarmPeriods).toBeGreaterThan(0);

    // The certificate: warned about ≥ 14 days ahead, quiet once renewed credentials are uploaded.
    expect(warningLeadDays).toBeGreaterThanOrEqual(14);
    expect(warningAfterRenewal).toEqual([]);

    // The bad upload: alarmed within one period and on every run until fixed, while AWSPREVIOUS kept the token alive without churn.
    expect(detectedWithinOnePeriod(badUpload, 'failedPermanent'), 'bad upload').toBe(true);
    expect(signals.filter(duringBadUpload).every((s) => s.outcome === 'failedPermanent')).toBe(true);
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(fallbacks.length).toBeLessThanOrEqual(3);

    // The rotation: the refused old secret was reported (by index) once it was deleted in the console, with no failed run.
    expect(rotationWarnings.length).toBeGreaterThan(0);
    expect(rotationWarnings.every((result) => result.rejectedClientSecrets.join() === '0')).toBe(true);
    const rotation = signals.filter((s) => s.at >= credentialEvents[4]!.at);
    expect(rotation.every((s) => !s.outcome.startsWith('failed') || s.outcome === 'failedTransient')).toBe(true);

    // Each upload of working credentials re-minted at once, with the new credentials' version.
    const last = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    expect(last.credentials_version_id).toBe(store.current(settings.credentialsSecretId)!.versionId);
    for (const event of credentialEvents.filter((e) => e.value !== undefined && e.at !== badUpload)) {
      const refreshed = signals.find((s) => s.at >= event.at && s.outcome === 'refreshed');
      expect(refreshed!.at - event.at).toBeLessThan(MINUTE);
    }
  });
});
