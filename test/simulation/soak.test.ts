import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { runSignals } from '../../lambda/app.js';
import { ImsTokenRefresher } from '../../lib/ims-token-refresher.js';
import { alarmsOf, evaluate } from '../support/alarms.js';
import { DEFAULT_REFRESH_THRESHOLD } from '../../common/rules.js';
import { refreshReason } from '../../lambda/policy.js';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh, type RunResult } from '../../lambda/refresh.js';
import { parseTokenRecord } from '../../common/token.js';
import { MemoryStore, fakeClock, json, networkError, type Answer } from '../support/fakes.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';
import { TokenReader } from '../support/token-secret.js';

/**
 * 90 simulated days of the real refresh core on the default schedule (hourly, renew after half
 * the token's life) against a fake IMS with outages, a 429 storm and duplicate deliveries, through
 * a credential lifecycle: a certificate that expires on day 60 (the warning is acted on by day 45),
 * a bad upload that stays broken for 30 hours, a move to OAuth Server-to-Server and a rotation of
 * its client secret through two secrets, and a schedule disabled for 3 hours. A reader samples the
 * token every minute. The construct's own alarms (from its template) are evaluated on what the
 * runs publish: the custom metrics of their EMF lines, and Lambda's Invocations and Errors.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAYS = 90;
const settings: RefreshSettings = {
  credentialsSecretId: 'creds',
  tokenSecretId: 'token',
  refreshThreshold: DEFAULT_REFRESH_THRESHOLD,
};

/** The alarms of a refresher with default props, by the end of their names. */
function defaultAlarms() {
  const stack = new Stack(new App(), 'Soak');
  new ImsTokenRefresher(stack, 'Token');
  const alarms = alarmsOf(Template.fromStack(stack));
  return (suffix: string) => alarms.find((alarm) => alarm.name.endsWith(suffix))!;
}

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
    const expiring = await generateJwtCredentials({
      validFrom: new Date(start - 300 * DAY),
      validTo: new Date(start + 60 * DAY),
    });
    const renewed = await generateJwtCredentials({ keyFormat: 'pkcs8', validFrom: new Date(start + 44 * DAY) });
    const rejected = await generateJwtCredentials({ validFrom: new Date(start) }); // a wrong download: IMS does not know it
    const oauth = generateOAuthCredentials({ clientSecrets: 2 });
    const [secretA, secretB] = oauth.integration.clientSecrets as [string, string];
    const oauthWith = (...secrets: string[]) =>
      JSON.stringify({ clientId: oauth.integration.clientId, clientSecrets: secrets, scopes: 'openid,AdobeID' });
    store.put(settings.credentialsSecretId, expiring.json);

    /** What IMS knows: each client's accepted secrets, and for JWT clients when their certificate expires. */
    const clients = new Map<string, { secrets: Set<string>; certificateExpiresAt?: number }>([
      [
        expiring.integration.clientId,
        {
          secrets: new Set(expiring.integration.clientSecrets),
          certificateExpiresAt: expiring.integration.certificateExpiresAt,
        },
      ],
      [
        renewed.integration.clientId,
        {
          secrets: new Set(renewed.integration.clientSecrets),
          certificateExpiresAt: renewed.integration.certificateExpiresAt,
        },
      ],
      [oauth.integration.clientId, { secrets: new Set([secretA]) }],
    ]);

    const faults: Fault[] = [
      { name: '1 h outage', day: 10, durationMs: HOUR, answer: json(503, { error: 'unavailable' }) },
      { name: '6 h outage', day: 30, durationMs: 6 * HOUR, answer: networkError() },
      { name: '11 h outage', day: 50, durationMs: 11 * HOUR, answer: networkError('TimeoutError', 'aborted') },
      { name: '429 storm', day: 60, durationMs: 3 * HOUR, answer: json(429, {}, { 'retry-after': '20' }) },
    ];
    const activeFault = () =>
      faults.find((f) => f.from !== undefined && clock.now() >= f.from && clock.now() < f.from + f.durationMs);
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
    function at0(day: number, hour: number, minute = 0) {
      return start + day * DAY + hour * HOUR + minute * MINUTE;
    }

    const signals: ({ at: number } & ReturnType<typeof runSignals>)[] = [];
    const stopped = { from: at0(20, 3), to: at0(20, 6) }; // the schedule is disabled: no scheduled run
    const results: RunResult[] = [];
    const invoke = async (requestKey: string, force = false) => {
      const result = await runRefresh(settings, { force, requestKey, deadline: clock.now() + 75_000 }, deps);
      results.push(result);
      signals.push({ at: clock.now(), ...runSignals(result, clock.now()) });
    };

    // Credential events, each also triggering a run (the EventBridge rule). `imsChange` is what the admin does in Adobe's console.
    const at = at0;
    const badUpload = at(70, 5, 17);
    const credentialEvents: { at: number; value?: string; imsChange?: () => void }[] = [
      { at: at(45, 9, 30), value: renewed.json }, // the certificate warning, acted on
      { at: badUpload, value: rejected.json },
      { at: badUpload + 30 * HOUR, value: renewed.json }, // fixed 30 hours later
      { at: at(80, 7, 41), value: oauthWith(secretA) }, // moved to OAuth Server-to-Server
      {
        at: at(84, 10),
        value: oauthWith(secretA, secretB),
        imsChange: () => clients.get(oauth.integration.clientId)!.secrets.add(secretB),
      },
      { at: at(85, 16, 5), imsChange: () => clients.get(oauth.integration.clientId)!.secrets.delete(secretA) }, // old secret deleted in the console first
      { at: at(86, 11), value: oauthWith(secretB) },
    ];
    const duplicateEvery = 37; // every 37th scheduled event is delivered twice

    // Act: minute by minute; the schedule fires on the hour, the reader samples every minute.
    const reader = new TokenReader(store, settings.tokenSecretId);
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
          refreshReason({
            token,
            credentialsVersionId: token.credentials_version_id,
            now,
            threshold: settings.refreshThreshold,
            force: false,
          }) === 'due';
        for (const fault of faults)
          if (fault.from === undefined && now >= start + fault.day * DAY && isDue) fault.from = now;
        const scheduledTime = new Date(now).toISOString();
        if (now < stopped.from || now >= stopped.to) {
          await invoke(`schedule:${scheduledTime}`);
          if ((minute / 60) % duplicateEvery === 0) await invoke(`schedule:${scheduledTime}`);
        }
      }
      reader.sample(clock.now());
    }
    const { missingMinutes, expiredMinutes, minSecondsLeft } = reader;

    // Assess: the construct's alarms, evaluated hour by hour on what the runs published.
    const hours = DAYS * 24;
    const sent = (metricName: string) =>
      signals.flatMap((s) => {
        if (metricName === 'Invocations') return [{ at: s.at, value: 1 }];
        if (metricName === 'Errors') return [{ at: s.at, value: s.throws ? 1 : 0 }];
        const value = s.metrics[metricName as keyof typeof s.metrics];
        return value === undefined ? [] : [{ at: s.at, value }];
      });
    const alarm = defaultAlarms();
    const statesOf = (suffix: string) => evaluate(alarm(suffix), sent(alarm(suffix).metricName), start, hours);
    const hourOf = (time: number) => Math.floor((time - start) / HOUR);
    const alarmHours = (suffix: string) => statesOf(suffix).flatMap((state, hour) => (state === 'ALARM' ? [hour] : []));
    const permanent = statesOf('permanent failure');
    const notRunning = alarmHours('not running');
    const expiringHours = alarmHours('token expiring');
    const certificate = statesOf('certificate expiring');
    const firstWarningHour = certificate.indexOf('ALARM');
    const warningLeadDays = (expiring.integration.certificateExpiresAt - (start + (firstWarningHour + 1) * HOUR)) / DAY;
    const renewedHour = hourOf(credentialEvents[0].at);

    const failures = signals.filter((s) => s.outcome.startsWith('failed'));
    const loggedWithinOnePeriod = (from: number, outcome: string) =>
      signals.some((s) => s.outcome === outcome && s.at >= from && s.at <= from + HOUR);
    const tokensPerDay = store.versionCount(settings.tokenSecretId) / DAYS;
    const metricHours = new Set(signals.filter((s) => Object.keys(s.metrics).length > 0).map((s) => hourOf(s.at))).size;
    const duringBadUpload = (s: { at: number }) => s.at >= badUpload && s.at < badUpload + 30 * HOUR;
    const fallbacks = results.filter(
      (result, index) => duringBadUpload(signals[index]) && result.fallbackCredentialsVersionId !== undefined,
    );
    const rotationWarnings = results.filter(
      (result) => result.outcome === 'refreshed' && result.rejectedClientSecrets.length > 0,
    );

    console.log(
      `soak: ${DAYS} days, ${signals.length} runs, ${failures.length} failed runs, ` +
        `${store.versionCount(settings.tokenSecretId)} tokens written (${tokensPerDay.toFixed(2)}/day), ${minted} minted, ` +
        `${expiredMinutes} expired minutes, min time left ${(minSecondsLeft / 3600).toFixed(2)} h, ` +
        `custom metrics sent in ${metricHours} of ${hours} hours (${((100 * metricHours) / hours).toFixed(1)}%), ` +
        `alarm hours: expiring ${expiringHours.length}, permanent failure ${permanent.filter((s) => s === 'ALARM').length}, ` +
        `not running ${notRunning.length}; certificate warning ${warningLeadDays.toFixed(1)} days ahead, ` +
        `${fallbacks.length} tokens from AWSPREVIOUS in the 30 h bad upload, ${rotationWarnings.length} refused-secret warnings`,
    );
    expect(missingMinutes).toBe(0);
    expect(expiredMinutes).toBe(0);
    expect(tokensPerDay).toBeLessThanOrEqual(3);
    expect(minted).toBe(store.versionCount(settings.tokenSecretId)); // duplicates minted nothing extra
    for (const fault of faults) {
      expect(fault.from, `${fault.name} started`).toBeDefined();
      expect(loggedWithinOnePeriod(fault.from!, 'failedTransient'), fault.name).toBe(true);
    }
    // Only the 11 h outage takes the token below the expiry alarm's floor: someone is told before it breaks, and told again when it is fine.
    const longOutage = faults.find((f) => f.name === '11 h outage')!.from!;
    expect(expiringHours.length).toBeGreaterThan(0);
    expect(expiringHours.every((hour) => hour >= hourOf(longOutage) && hour <= hourOf(longOutage) + 12)).toBe(true);
    expect(statesOf('token expiring').at(-1)).toBe('OK');
    // Custom metrics cost per hour sent: about two refreshes a day, plus failing runs.
    expect(metricHours / hours).toBeLessThan(0.15);

    // The disabled schedule: alarmed within two periods, and never otherwise (every other hour has a run).
    expect(notRunning[0]).toBe(hourOf(stopped.from) + 1);
    expect(notRunning.every((hour) => hour < hourOf(stopped.to))).toBe(true);

    // The certificate: warned about ≥ 14 days ahead, quiet from the first run with the renewed credentials on.
    expect(warningLeadDays).toBeGreaterThanOrEqual(14);
    expect(certificate.slice(renewedHour).every((state) => state === 'OK')).toBe(true);

    // The bad upload: alarmed within one period and every period until fixed, while AWSPREVIOUS kept the token alive without churn.
    expect(permanent[hourOf(badUpload)]).toBe('ALARM');
    expect(permanent.slice(hourOf(badUpload), hourOf(badUpload + 30 * HOUR)).every((state) => state === 'ALARM')).toBe(
      true,
    );
    expect(signals.filter(duringBadUpload).every((s) => s.outcome === 'failedPermanent' && s.throws)).toBe(true);
    // Nothing else made the function err: the permanent-failure alarm is quiet outside the bad upload.
    expect(
      permanent.filter(
        (state, hour) => state === 'ALARM' && (hour < hourOf(badUpload) || hour > hourOf(badUpload + 30 * HOUR)),
      ),
    ).toEqual([]);
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(fallbacks.length).toBeLessThanOrEqual(3);

    // The rotation: the refused old secret was reported (by index) once it was deleted in the console, with no failed run.
    expect(rotationWarnings.length).toBeGreaterThan(0);
    expect(rotationWarnings.every((result) => result.rejectedClientSecrets.join() === '0')).toBe(true);
    const rotation = signals.filter((s) => s.at >= credentialEvents[4].at);
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
