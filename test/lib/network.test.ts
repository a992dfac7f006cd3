/**
 * Issue 23: the function in a VPC, the shared Secrets Manager endpoint, the proxy and FIPS
 * settings, as the template holds them, and the props refused at synth.
 */
import { App, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { ImsTokenRefresherError } from '../../lib/errors.js';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from '../../lib/ims-token-refresher.js';

const ENV = { account: '111111111111', region: 'us-east-1' };

/** An imported VPC and two of its subnets, as the app builds them from the configuration file. */
function importedVpc(stack: Stack, vpcId = 'vpc-0123456789abcdef0') {
  const once = <T>(id: string, make: () => T) => (stack.node.tryFindChild(id) as T | undefined) ?? make();
  const vpc = once(`Vpc.${vpcId}`, () =>
    ec2.Vpc.fromVpcAttributes(stack, `Vpc.${vpcId}`, { vpcId, availabilityZones: ['us-east-1a'] }),
  );
  const subnets = ['subnet-aaaa', 'subnet-bbbb'].map((id) =>
    once(`Subnet.${id}`, () => ec2.Subnet.fromSubnetId(stack, `Subnet.${id}`, id)),
  );
  return { vpc, vpcSubnets: { subnets } };
}

type PropsIn = ImsTokenRefresherProps | ((stack: Stack) => ImsTokenRefresherProps);

function synth(props: PropsIn, stackProps: StackProps = { env: ENV }) {
  const app = new App();
  const stack = new Stack(app, 'Test', stackProps);
  new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
  return Template.fromStack(stack);
}

/** The refresher function's environment variables. */
function environment(template: Template): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (resource) => resource.Properties.Environment?.Variables?.TOKEN_SECRET_ID,
  );
  return fn.Properties.Environment.Variables as Record<string, unknown>;
}

/** Every statement of the function role's policies. */
function statements(template: Template): { Sid?: string; Action: unknown; Resource: unknown; Effect: string }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
}

/** What `fn` throws: an `ImsTokenRefresherError`, with the prop it names. */
function refusal(fn: () => unknown): ImsTokenRefresherError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ImsTokenRefresherError) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
}

describe('vpc', () => {
  it('runs the function in the given subnets behind a created group whose egress is TCP 443 only', () => {
    const template = synth((stack) => importedVpc(stack));
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-aaaa', 'subnet-bbbb'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^AemProdSecurityGroup'), 'GroupId'] }],
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
      SecurityGroupIngress: Match.absent(),
    });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  it("also lets the proxy's port out with httpsProxy, and only 443 when the proxy listens there", () => {
    const egress = (httpsProxy: string) =>
      Object.values(
        synth((stack) => ({ ...importedVpc(stack), httpsProxy })).findResources('AWS::EC2::SecurityGroup'),
      ).flatMap((group) =>
        (group.Properties.SecurityGroupEgress as { FromPort: number; ToPort: number; CidrIp: string }[]).map(
          ({ FromPort, ToPort, CidrIp }) => `${CidrIp} ${FromPort}-${ToPort}`,
        ),
      );
    expect(egress('http://proxy.corp.example.com:3128')).toEqual(['0.0.0.0/0 443-443', '0.0.0.0/0 3128-3128']);
    expect(egress('http://proxy.corp.example.com:443')).toEqual(['0.0.0.0/0 443-443']);
  });

  it('acknowledges CT.LAMBDA.PR.3 (function in a VPC) only for a function outside one', () => {
    const acknowledged = (props: PropsIn) => {
      const stack = new Stack(new App(), 'Test', { env: ENV });
      const refresher = new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
      return refresher.function.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as object));
    };
    expect(acknowledged({})).toContain('cdk-validator-cfnguard::lambda_inside_vpc_check');
    expect(acknowledged((stack) => importedVpc(stack))).not.toContain(
      'cdk-validator-cfnguard::lambda_inside_vpc_check',
    );
  });

  it('uses given security groups as they are, creating none', () => {
    const template = synth((stack) => ({
      ...importedVpc(stack),
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Given', 'sg-0given', { mutable: false })],
    }));
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: ['sg-0given'], SubnetIds: Match.anyValue() },
    });
  });

  it('gives the role the EC2 network-interface actions Lambda needs, and nothing of them without a VPC', () => {
    const ec2Actions = (template: Template) =>
      statements(template)
        .filter((statement) => JSON.stringify(statement.Action).includes('ec2:'))
        .map(({ Action, Resource, Effect }) => ({ Action, Resource, Effect }));
    expect(ec2Actions(synth((stack) => importedVpc(stack)))).toEqual([
      {
        Action: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: '*',
        Effect: 'Allow',
      },
    ]);
    expect(ec2Actions(synth({}))).toEqual([]);
  });
});

describe('secretsManagerEndpoint', () => {
  it('"create": an interface endpoint with private DNS in the subnets, open on 443 to the function only', () => {
    const template = synth((stack) => ({ ...importedVpc(stack), secretsManagerEndpoint: 'create' }));
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: 'vpc-0123456789abcdef0',
      ServiceName: 'com.amazonaws.us-east-1.secretsmanager',
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: ['subnet-aaaa', 'subnet-bbbb'],
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretsManagerEndpoint'), 'GroupId'] }],
    });
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.map((rule) => rule.Properties)).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        Description: 'HTTPS from a token refresher',
        GroupId: { 'Fn::GetAtt': [expect.stringMatching(/^SecretsManagerEndpoint/), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^AemProdSecurityGroup/), 'GroupId'] },
      },
    ]);
  });

  it('"create" in a VPC defined in CDK with two subnets a zone: the endpoint takes the first of each zone, as AWS requires', () => {
    const template = synth((stack) => {
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [
          { name: 'AppA', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          { name: 'AppB', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        ],
      });
      return { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, secretsManagerEndpoint: 'create' };
    });
    const [endpoint] = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    const subnets = template.findResources('AWS::EC2::Subnet');
    const zones = (endpoint.Properties.SubnetIds as { Ref: string }[]).map(
      (ref) => subnets[ref.Ref].Properties.AvailabilityZone,
    );
    expect(zones).toHaveLength(2);
    expect(new Set(zones).size).toBe(2);
  });

  it('"existing": creates nothing', () => {
    const template = synth((stack) => ({ ...importedVpc(stack), secretsManagerEndpoint: 'existing' }));
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('is one per VPC for the app: refreshers in one VPC, in one stack or two, share it; another VPC gets its own', () => {
    const app = new App();
    const first = new Stack(app, 'First', { env: ENV });
    const second = new Stack(app, 'Second', { env: ENV });
    const given = (stack: Stack) =>
      ec2.SecurityGroup.fromSecurityGroupId(stack, 'Given', 'sg-0given', { mutable: false });
    const inVpc = (stack: Stack, vpcId?: string): ImsTokenRefresherProps => ({
      ...importedVpc(stack, vpcId),
      secretsManagerEndpoint: 'create',
    });
    new ImsTokenRefresher(first, 'A', inVpc(first));
    new ImsTokenRefresher(first, 'B', { ...inVpc(first), securityGroups: [given(first)] });
    // The same group imported again in another stack: another object, the same group.
    new ImsTokenRefresher(second, 'C', { ...inVpc(second), securityGroups: [given(second)] });
    new ImsTokenRefresher(second, 'D', inVpc(second));
    new ImsTokenRefresher(second, 'E', inVpc(second, 'vpc-0other'));
    const [one, two] = [first, second].map((stack) => Template.fromStack(stack));
    const endpoints = (template: Template) =>
      Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((endpoint) => endpoint.Properties.VpcId);
    expect(endpoints(one)).toEqual(['vpc-0123456789abcdef0']);
    expect(endpoints(two)).toEqual(['vpc-0other']);
    // The first endpoint lets in A's group and the given group once (EC2 refuses a duplicate rule) in its stack,
    // and D's from D's stack: Second depends on First (it imports the endpoint's group), never the reverse, so
    // removing D never has to delete an export First still uses.
    const rules = (template: Template) =>
      Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((rule) => ({
        to: JSON.stringify(rule.Properties.GroupId),
        from: JSON.stringify(rule.Properties.SourceSecurityGroupId),
      }));
    expect(rules(one).map((rule) => rule.from)).toEqual([expect.stringContaining('ASecurityGroup'), '"sg-0given"']);
    expect(JSON.stringify(one.toJSON())).not.toContain('Fn::ImportValue');
    const fromD = rules(two).filter((rule) => rule.from.includes('DSecurityGroup'));
    expect(fromD).toEqual([{ to: expect.stringMatching(/Fn::ImportValue.*First/), from: expect.any(String) }]);
  });
});

describe('httpsProxy, noProxy, proxyCredentialsSecret', () => {
  it('refuses a proxy at an IPv6 address in a VPC, whose interface has IPv4 egress only; outside a VPC it is taken', () => {
    expect(() => synth((stack) => ({ ...importedVpc(stack), httpsProxy: 'http://[fd00::1]:3128' }))).toThrow(
      "`httpsProxy` at an IPv6 address cannot be reached from the function's VPC interface",
    );
    expect(environment(synth({ httpsProxy: 'http://[fd00::1]:3128' })).HTTPS_PROXY).toBe('http://[fd00::1]:3128');
  });

  it('sets HTTPS_PROXY without a NO_PROXY when nothing bypasses the proxy, and nothing without a proxy', () => {
    const env = environment(synth({ httpsProxy: 'http://proxy.corp.example.com:3128' }));
    expect(env.HTTPS_PROXY).toBe('http://proxy.corp.example.com:3128');
    expect(env).not.toHaveProperty('NO_PROXY');
    expect(env).not.toHaveProperty('PROXY_CREDENTIALS_SECRET_ID');
    const plain = environment(synth({}));
    for (const name of ['HTTPS_PROXY', 'NO_PROXY', 'PROXY_CREDENTIALS_SECRET_ID', 'AWS_USE_FIPS_ENDPOINT']) {
      expect(plain).not.toHaveProperty(name);
    }
  });

  it("bypasses the proxy for the region's Secrets Manager host when an endpoint serves it, unless noProxy says otherwise", () => {
    const withEndpoint = (extra: ImsTokenRefresherProps) =>
      environment(
        synth((stack) => ({
          ...importedVpc(stack),
          secretsManagerEndpoint: 'existing',
          httpsProxy: 'http://10.0.0.5:8080/',
          ...extra,
        })),
      );
    expect(withEndpoint({})).toMatchObject({
      HTTPS_PROXY: 'http://10.0.0.5:8080',
      NO_PROXY: 'secretsmanager.us-east-1.amazonaws.com',
    });
    expect(withEndpoint({ noProxy: ['.corp.example.com', 'internal'] }).NO_PROXY).toBe('.corp.example.com,internal');
  });

  it('bypasses the proxy for Secrets Manager when the proxy credentials are read from it: the proxy would refuse that read', () => {
    const withCredentials = (extra: ImsTokenRefresherProps) =>
      synth((stack) => ({
        httpsProxy: 'http://proxy.corp.example.com:3128',
        proxyCredentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ProxyLogin', 'corp/proxy-login'),
        ...extra,
      }));
    expect(environment(withCredentials({})).NO_PROXY).toBe('secretsmanager.us-east-1.amazonaws.com');
    expect(environment(withCredentials({ noProxy: [] }))).not.toHaveProperty('NO_PROXY');
  });

  it('warns that Secrets Manager must be reachable without the proxy in a VPC without an endpoint, given proxy credentials', () => {
    const warnings = (extra: ImsTokenRefresherProps) => {
      const app = new App();
      const stack = new Stack(app, 'Warned', { env: { account: '111111111111', region: 'us-east-1' } });
      new ImsTokenRefresher(stack, 'AemProd', {
        ...importedVpc(stack),
        httpsProxy: 'http://10.0.0.5:8080',
        proxyCredentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ProxyLogin', 'corp/proxy-login'),
        ...extra,
      });
      return Annotations.fromStack(stack)
        .findWarning('*', Match.stringLikeRegexp('Secrets Manager is called directly'))
        .map((warning) => warning.entry.data);
    };
    expect(warnings({})).toEqual([expect.stringContaining('the subnets need a route to it (a NAT gateway)')]);
    expect(warnings({ secretsManagerEndpoint: 'existing' })).toEqual([]);
    expect(warnings({ noProxy: [] })).toEqual([]);
  });

  it('names the credentials secret and grants reading it, with its key through Secrets Manager', () => {
    const template = synth((stack) => ({
      httpsProxy: 'http://proxy.corp.example.com:3128',
      proxyCredentialsSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'ProxyCredentials', {
        secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:proxy/login-AbCdEf',
        encryptionKey: kms.Key.fromKeyArn(
          stack,
          'ProxyKey',
          'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        ),
      }),
    }));
    expect(environment(template).PROXY_CREDENTIALS_SECRET_ID).toBe(
      'arn:aws:secretsmanager:us-east-1:111111111111:secret:proxy/login-AbCdEf',
    );
    const granted = statements(template).filter((statement) => JSON.stringify(statement).includes('proxy/login'));
    expect(granted).toEqual([
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:proxy/login-AbCdEf',
      }),
    ]);
    expect(statements(template)).toContainEqual(
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
      }),
    );
  });

  it.each([
    ['https://proxy.example.com:3128', /`httpsProxy` must use http:/],
    ['http://proxy.example.com', /`httpsProxy` must be http:\/\/host:port: an explicit port/],
    ['http://proxy.example.com:3128/path', /`httpsProxy` must be http:\/\/host:port/],
    ['http://proxy.example.com:70000', /`httpsProxy` must have a port from 1 to 65535/],
    ['socks5://proxy.example.com:1080', /`httpsProxy` must be http:\/\/host:port/],
  ])('refuses httpsProxy %s, naming the prop', (httpsProxy, message) => {
    const error = refusal(() => synth({ httpsProxy }));
    expect(error.prop).toBe('httpsProxy');
    expect(error.message).toMatch(message);
  });

  it('refuses credentials in the URL without repeating them', () => {
    for (const httpsProxy of ['http://alice:s3cr3t-pw@proxy.example.com:3128', 'https://alice:s3cr3t-pw@proxy:1']) {
      const error = refusal(() => synth({ httpsProxy }));
      expect(error.prop).toBe('httpsProxy');
      expect(error.message).toMatch(/must not hold credentials/);
      expect(error.message).not.toMatch(/alice|s3cr3t|proxy\.example/);
    }
  });

  it.each<[string, PropsIn, RegExp]>([
    ['noProxy without httpsProxy', { noProxy: ['.corp'] }, /`noProxy` needs `httpsProxy`/],
    [
      'proxyCredentialsSecret without httpsProxy',
      (stack) => ({ proxyCredentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'S', 'proxy') }),
      /`proxyCredentialsSecret` needs `httpsProxy`/,
    ],
    [
      'a noProxy entry that is no host',
      { httpsProxy: 'http://proxy:3128', noProxy: ['http://x'] },
      /`noProxy`: "http:\/\/x" must be a host name/,
    ],
    [
      'secretsManagerEndpoint without vpc',
      { secretsManagerEndpoint: 'create' },
      /`secretsManagerEndpoint` needs `vpc`/,
    ],
    ['vpcSubnets without vpc', (stack) => ({ vpcSubnets: importedVpc(stack).vpcSubnets }), /`vpcSubnets` needs `vpc`/],
    [
      'an unknown secretsManagerEndpoint',
      (stack) => ({ ...importedVpc(stack), secretsManagerEndpoint: 'shared' as 'create' }),
      /`secretsManagerEndpoint` must be "create" or "existing"/,
    ],
  ])('refuses %s', (_what, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('fips', () => {
  it('sets AWS_USE_FIPS_ENDPOINT, and NO_PROXY names the FIPS host with an existing endpoint', () => {
    expect(environment(synth({ fips: true })).AWS_USE_FIPS_ENDPOINT).toBe('true');
    const env = environment(
      synth(
        (stack) => ({
          ...importedVpc(stack),
          secretsManagerEndpoint: 'existing',
          httpsProxy: 'http://proxy:3128',
          fips: true,
        }),
        { env: { account: '111111111111', region: 'us-gov-west-1' } },
      ),
    );
    expect(env.NO_PROXY).toBe('secretsmanager-fips.us-gov-west-1.amazonaws.com');
  });

  it.each<[string, PropsIn, StackProps, RegExp]>([
    [
      'in a region without FIPS endpoints',
      { fips: true },
      { env: { region: 'eu-west-1' } },
      /no FIPS endpoint in eu-west-1/,
    ],
    ['in an environment-agnostic stack', { fips: true }, {}, /needs the stack's region at synth/],
    [
      'with a created endpoint',
      (stack) => ({ ...importedVpc(stack), secretsManagerEndpoint: 'create', fips: true }),
      { env: ENV },
      /create a FIPS interface endpoint yourself/,
    ],
  ])('is refused %s', (_what, props, stackProps, message) => {
    const error = refusal(() => synth(props, stackProps));
    expect(error.prop).toBe('fips');
    expect(error.message).toMatch(message);
  });
});
