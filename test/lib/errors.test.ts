import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../common/errors.js';
import { ImsTokenRefresherError } from '../../lib/index.js';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from '../../lib/ims-token-refresher.js';

/** What constructing a refresher `Tokens/AemProd` with `props` throws (or undefined). */
function thrownBy(props: ImsTokenRefresherProps | ((stack: Stack) => ImsTokenRefresherProps)): unknown {
  const stack = new Stack(new App(), 'Tokens', { env: { account: '111111111111', region: 'eu-west-1' } });
  try {
    new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('ImsTokenRefresherError', () => {
  it("carries its name, the prop and the construct path, like aws-cdk's ValidationError", () => {
    // Prepare
    const stack = new Stack(new App(), 'Tokens');
    // Act
    const error = new ImsTokenRefresherError('`schedule` must be at least 1 minute', stack, 'schedule');
    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ImsTokenRefresherError', prop: 'schedule', path: 'Tokens' });
    expect(error.message).toBe('`schedule` must be at least 1 minute');
  });

  it.each([
    ['schedule', { schedule: Duration.seconds(30) }],
    ['schedule', { schedule: Duration.hours(12) }],
    ['refreshThreshold', { refreshThreshold: 1 }],
    ['expiryAlarmThreshold', { expiryAlarmThreshold: Duration.hours(12) }],
    ['credentialsExpiryWarning', { credentialsExpiryWarning: Duration.days(400) }],
    ['credentialName', { credentialName: '' }],
    ['credentialsType', { credentialsType: 'saml' as 'jwt' }],
    ['replicaRegions', { replicaRegions: [{ region: 'us-east-1' }, { region: 'us-east-1' }] }],
    ['crossAccountReaders', { crossAccountReaders: [new iam.AccountPrincipal('222222222222')] }],
    ['tokenReaders', { tokenReaders: [new iam.ArnPrincipal('arn:aws:iam::111111111111:role/x')] }],
    ['credentialsReaders', { credentialsReaders: [new iam.AccountPrincipal('111111111111')] }],
  ] as [string, ImsTokenRefresherProps][])("names `%s` and the refresher's path when refusing it", (prop, props) => {
    const error = thrownBy(props);

    expect(error).toBeInstanceOf(ImsTokenRefresherError);
    expect(error).toMatchObject({ prop, path: 'Tokens/AemProd' });
    expect((error as Error).message).toContain(`\`${prop}\``);
  });

  it('wraps the shared imsBaseUrl rule, keeping its message and its cause', () => {
    const error = thrownBy({ imsBaseUrl: 'http://proxy.example' });

    expect(error).toMatchObject({ prop: 'imsBaseUrl', path: 'Tokens/AemProd' });
    expect((error as Error).message).toBe('`imsBaseUrl` must use https (plain http only for 127.0.0.1 or localhost)');
    expect((error as Error).cause).toBeInstanceOf(ConfigurationError);
  });

  it('names grantRead when its grantee cannot be exempted from restrictTokenReaders', () => {
    const stack = new Stack(new App(), 'Tokens', { env: { account: '111111111111', region: 'eu-west-1' } });
    const refresher = new ImsTokenRefresher(stack, 'AemProd', { restrictTokenReaders: true });

    const read = () => refresher.grantRead(new iam.ServicePrincipal('ecs-tasks.amazonaws.com'));

    expect(read).toThrow(ImsTokenRefresherError);
    expect(read).toThrow(expect.objectContaining({ prop: 'grantRead', path: 'Tokens/AemProd' }));
  });
});
