/**
 * Locked-down networks (issue 23): the function in the user's VPC behind a security group that
 * lets only HTTPS (and the proxy's port) out, one Secrets Manager interface endpoint per VPC that
 * the app's refreshers share, the forward proxy and FIPS settings the function reads from its
 * environment, and their synth-time checks. The rules for `httpsProxy` and `noProxy` are shared
 * with the configuration file (config/fields.ts), so synth and the file agree.
 */
import { Annotations, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { ImsTokenRefresherError } from './errors.js';
import type { ImsTokenRefresherProps } from './ims-token-refresher.js';
import { secretId } from './secret-refs.js';

/** The network props of `ImsTokenRefresherProps` (documented there). */
export type NetworkProps = Pick<
  ImsTokenRefresherProps,
  | 'vpc'
  | 'vpcSubnets'
  | 'securityGroups'
  | 'secretsManagerEndpoint'
  | 'httpsProxy'
  | 'noProxy'
  | 'proxyCredentialsSecret'
  | 'fips'
>;

/** The values `secretsManagerEndpoint` takes. */
export const SECRETS_MANAGER_ENDPOINT_CHOICES = ['create', 'existing'] as const;

/**
 * Regions where Secrets Manager has FIPS endpoints (`secretsmanager-fips.<region>.amazonaws.com`):
 * the US and Canada commercial regions and GovCloud (https://docs.aws.amazon.com/general/latest/gr/asm.html).
 */
export const FIPS_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'us-gov-east-1',
  'us-gov-west-1',
];

/** HTTPS: Adobe IMS, and AWS through an endpoint or NAT. */
const HTTPS_PORT = 443;

const PROXY_URL = /^http:\/\/([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(\d{1,5})\/?$/;
/** Anything with user info before the host: `scheme://…@`. */
const USER_INFO = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/;

/**
 * Why `value` cannot be an `httpsProxy` (`http://host:port`, an HTTP CONNECT proxy), or
 * `undefined`. The message never repeats the value: a URL may carry a password.
 */
export function httpsProxyProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a proxy URL, http://host:port';
  if (USER_INFO.test(value)) {
    return 'must not hold credentials (user:password@): put them in a secret named by `proxyCredentialsSecret`';
  }
  if (/^https:/i.test(value)) {
    return 'must use http: (an HTTP CONNECT proxy; what goes through it to IMS and AWS is still TLS)';
  }
  const match = PROXY_URL.exec(value);
  if (!match) return 'must be http://host:port: an explicit port, and no path, query or credentials';
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535 ? undefined : 'must have a port from 1 to 65535';
}

/** The host and port of a valid `httpsProxy`. */
export function proxyAddress(url: string): { readonly host: string; readonly port: number } {
  const [, host, port] = PROXY_URL.exec(url)!;
  return { host, port: Number(port) };
}

/** A host suffix for `noProxy`: a host name, or a domain with a leading dot. */
export const NO_PROXY_ENTRY =
  /\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*/;
export const NO_PROXY_MESSAGE = 'must be a host name or a domain suffix like ".corp.example.com"';

/**
 * Fails on network props that cannot work, with an `ImsTokenRefresherError` naming the prop; never
 * repeats `httpsProxy`, which may hold a password.
 */
export function validateNetwork(scope: Construct, props: NetworkProps): void {
  const refuse = (prop: keyof NetworkProps, message: string) => {
    throw new ImsTokenRefresherError(message, scope, prop);
  };
  for (const prop of ['vpcSubnets', 'securityGroups', 'secretsManagerEndpoint'] as const) {
    if (props[prop] !== undefined && !props.vpc) refuse(prop, `\`${prop}\` needs \`vpc\``);
  }
  const endpoint = props.secretsManagerEndpoint;
  if (endpoint !== undefined && !SECRETS_MANAGER_ENDPOINT_CHOICES.includes(endpoint)) {
    refuse('secretsManagerEndpoint', '`secretsManagerEndpoint` must be "create" or "existing"');
  }
  if (props.securityGroups?.length === 0) {
    refuse('securityGroups', '`securityGroups` must name at least one group, or be left out');
  }
  if (props.httpsProxy !== undefined) {
    const problem = httpsProxyProblem(props.httpsProxy);
    if (problem) refuse('httpsProxy', `\`httpsProxy\` ${problem}`);
    if (props.vpc && proxyAddress(props.httpsProxy).host.startsWith('[')) {
      refuse(
        'httpsProxy',
        "`httpsProxy` at an IPv6 address cannot be reached from the function's VPC interface (IPv4 egress): give " +
          'its host name or an IPv4 address',
      );
    }
  }
  for (const prop of ['noProxy', 'proxyCredentialsSecret'] as const) {
    if (props[prop] !== undefined && props.httpsProxy === undefined) refuse(prop, `\`${prop}\` needs \`httpsProxy\``);
  }
  const badEntry = props.noProxy?.find((entry) => !new RegExp(`^(?:${NO_PROXY_ENTRY.source})$`).test(entry));
  if (badEntry !== undefined) refuse('noProxy', `\`noProxy\`: "${badEntry}" ${NO_PROXY_MESSAGE}`);
  if (props.fips) validateFips(scope, endpoint);
  if (props.vpc && !endpoint && props.proxyCredentialsSecret && secretsManagerBypassesProxy(props)) {
    Annotations.of(scope).addWarningV2(
      'ims-token-refresher:secretsManagerDirect',
      'Secrets Manager is called directly, not through `httpsProxy`, as the proxy credentials are read from it: the ' +
        'subnets need a route to it (a NAT gateway), or set `secretsManagerEndpoint`, or `noProxy: []` if the proxy ' +
        'lets Secrets Manager through without credentials',
    );
  }
}

/** `fips` needs a region known at synth that has Secrets Manager FIPS endpoints. */
function validateFips(scope: Construct, endpoint: NetworkProps['secretsManagerEndpoint']): void {
  const { region } = Stack.of(scope);
  const refuse = (message: string) => {
    throw new ImsTokenRefresherError(`\`fips\`${message}`, scope, 'fips');
  };
  if (Token.isUnresolved(region)) {
    refuse(
      " needs the stack's region at synth, to check that it has Secrets Manager FIPS endpoints: give the stack an " +
        '`env` (the app does, from the AWS profile or CDK_DEFAULT_REGION)',
    );
  }
  if (!FIPS_REGIONS.includes(region)) {
    refuse(`: Secrets Manager has no FIPS endpoint in ${region}, only in ${FIPS_REGIONS.join(', ')}`);
  }
  if (endpoint === 'create') {
    refuse(
      ' with `secretsManagerEndpoint: "create"`: the endpoint created serves secretsmanager.<region>, not the FIPS ' +
        'host; create a FIPS interface endpoint yourself and say "existing"',
    );
  }
}

/** The Secrets Manager host the function's SDK calls in the stack's region (amazonaws.com, or its suffix in China). */
function secretsManagerHost(scope: Construct, fips: boolean | undefined): string {
  const { region, urlSuffix } = Stack.of(scope);
  const suffix = Token.isUnresolved(region) ? urlSuffix : (RegionInfo.get(region).domainSuffix ?? urlSuffix);
  return `secretsmanager${fips ? '-fips' : ''}.${region}.${suffix}`;
}

/**
 * Whether Secrets Manager bypasses the proxy by default: when an endpoint serves it, and when the
 * proxy's credentials are read from it (a proxy that wants credentials for every tunnel would
 * refuse the read that fetches them).
 */
function secretsManagerBypassesProxy(props: NetworkProps): boolean {
  return props.noProxy === undefined && (props.secretsManagerEndpoint !== undefined || !!props.proxyCredentialsSecret);
}

/**
 * The function's proxy and FIPS settings, as lambda/config.ts reads them: `HTTPS_PROXY` and
 * `NO_PROXY` with `httpsProxy` (`NO_PROXY` by default the Secrets Manager host when an endpoint
 * serves it or the proxy credentials are read from it, else absent: then every call goes through
 * the proxy), `PROXY_CREDENTIALS_SECRET_ID` with `proxyCredentialsSecret`, and
 * `AWS_USE_FIPS_ENDPOINT` (the SDK's own) with `fips`.
 */
export function networkEnvironment(scope: Construct, props: NetworkProps): Record<string, string> {
  const environment: Record<string, string> = {};
  if (props.httpsProxy !== undefined) {
    const { host, port } = proxyAddress(props.httpsProxy);
    environment.HTTPS_PROXY = `http://${host}:${port}`;
    const noProxy =
      props.noProxy ?? (secretsManagerBypassesProxy(props) ? [secretsManagerHost(scope, props.fips)] : []);
    if (noProxy.length > 0) environment.NO_PROXY = noProxy.join(',');
    if (props.proxyCredentialsSecret) {
      environment.PROXY_CREDENTIALS_SECRET_ID = secretId(props.proxyCredentialsSecret);
    }
  }
  if (props.fips) environment.AWS_USE_FIPS_ENDPOINT = 'true';
  return environment;
}

/** Where the function runs in the VPC: what `lambda.Function` takes. */
export interface FunctionPlacement {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

/**
 * With `vpc`: the function's placement (its given security groups, or one created here whose egress
 * is TCP 443 and the proxy's port only), the network-interface permissions Lambda needs on its
 * `role`, and with `secretsManagerEndpoint: "create"` the VPC's shared endpoint, open to its groups.
 * Without `vpc`: undefined.
 */
export function placeInVpc(scope: Construct, props: NetworkProps, role: iam.IRole): FunctionPlacement | undefined {
  const { vpc } = props;
  if (!vpc) return undefined;
  const securityGroups = props.securityGroups ?? [functionSecurityGroup(scope, vpc, props.httpsProxy)];
  grantNetworkInterfaces(role);
  if (props.secretsManagerEndpoint === 'create') {
    const endpoint = sharedEndpoint(scope, vpc, onePerZone(vpc.selectSubnets(props.vpcSubnets).subnets));
    for (const group of securityGroups) endpoint.allow(group);
  }
  return { vpc, vpcSubnets: props.vpcSubnets, securityGroups };
}

/**
 * The subnet ids for an interface endpoint, which takes at most one subnet per zone: the first of
 * each zone where the zone is known (a VPC defined or looked up in CDK, as CDK's own endpoint
 * does), every subnet imported by id alone (its zone is unknown at synth; docs/networks.md asks
 * for one per zone).
 */
function onePerZone(subnets: ec2.ISubnet[]): string[] {
  const zones = new Set<string>();
  return subnets
    .filter((subnet) => {
      const zone = zoneOf(subnet);
      if (zone === undefined) return true;
      if (zones.has(zone)) return false;
      zones.add(zone);
      return true;
    })
    .map((subnet) => subnet.subnetId);
}

/** A subnet's zone, or undefined for one imported without it (CDK throws on reading it). */
function zoneOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.availabilityZone;
  } catch {
    return undefined;
  }
}

/** A group for the function alone: nothing in, TCP 443 out (and the proxy's port), anywhere: IMS has no fixed addresses. */
function functionSecurityGroup(scope: Construct, vpc: ec2.IVpc, httpsProxy: string | undefined): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: `Adobe IMS token refresher ${scope.node.path}: HTTPS out only`,
    allowAllOutbound: false,
  });
  group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(HTTPS_PORT), 'HTTPS: Adobe IMS and AWS APIs');
  const proxyPort = httpsProxy === undefined ? HTTPS_PORT : proxyAddress(httpsProxy).port;
  if (proxyPort !== HTTPS_PORT) {
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(proxyPort), 'the HTTPS proxy (httpsProxy)');
  }
  return group;
}

/**
 * What Lambda needs of the execution role to give a function network interfaces in a VPC: the
 * EC2 actions of AWSLambdaVPCAccessExecutionRole without its logs:* (the role writes only its
 * own log group). The Describe actions take no resource, so none of them does here.
 */
function grantNetworkInterfaces(role: iam.IRole): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'LambdaVpcNetworkInterfaces',
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "Lambda manages the function's VPC network interfaces with its execution role; ec2:Describe* take no " +
      'resource (the EC2 statement of AWSLambdaVPCAccessExecutionRole)',
  });
}

/** One Secrets Manager endpoint of the app. */
interface SharedEndpoint {
  /** Lets `group` reach the endpoint on 443, once per group. */
  allow(group: ec2.ISecurityGroup): void;
}

/** The endpoints of each app (by its root construct), by `vpcKey`. */
const endpointsByApp = new WeakMap<Construct, Map<unknown, SharedEndpoint>>();

/** What identifies a VPC across imports: its account, region and id when known at synth, else the object. */
function vpcKey(vpc: ec2.IVpc): unknown {
  if (Token.isUnresolved(vpc.vpcId)) return vpc;
  return [vpc.env.account, vpc.env.region, vpc.vpcId].join(':');
}

/**
 * The app's Secrets Manager interface endpoint in `vpc`, created by the first refresher that asks,
 * in its stack and `subnetIds`: a VPC takes one endpoint per service with private DNS, so refreshers
 * in the same VPC share it, from any stack of the app (a cross-stack reference).
 */
function sharedEndpoint(scope: Construct, vpc: ec2.IVpc, subnetIds: string[]): SharedEndpoint {
  const endpoints = endpointsByApp.get(scope.node.root) ?? new Map<unknown, SharedEndpoint>();
  endpointsByApp.set(scope.node.root, endpoints);
  const key = vpcKey(vpc);
  const existing = endpoints.get(key);
  if (existing) return existing;
  const stack = Stack.of(scope);
  // A "." never occurs in a token name, so these ids cannot meet a token's construct id.
  const id = `SecretsManagerEndpoint.${Token.isUnresolved(vpc.vpcId) ? vpc.node.addr : vpc.vpcId}`;
  const securityGroup = new ec2.SecurityGroup(stack, `${id}.SecurityGroup`, {
    vpc,
    description: 'Secrets Manager endpoint of the Adobe IMS token refreshers: HTTPS from their functions',
    allowAllOutbound: false,
  });
  new ec2.CfnVPCEndpoint(stack, id, {
    vpcId: vpc.vpcId,
    serviceName: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER.name,
    vpcEndpointType: 'Interface',
    privateDnsEnabled: true,
    subnetIds,
    securityGroupIds: [securityGroup.securityGroupId],
  });
  const allowed = new Set<unknown>();
  const endpoint: SharedEndpoint = {
    allow: (group) => {
      // A group given to several refreshers is let in once: EC2 refuses a duplicate rule.
      const groupKey = Token.isUnresolved(group.securityGroupId) ? group : group.securityGroupId;
      if (allowed.has(groupKey)) return;
      allowed.add(groupKey);
      // In the refresher's stack when it is another (remoteRule): that stack then depends on the endpoint's,
      // never the reverse, so removing a refresher never has to delete an export still in use.
      securityGroup.addIngressRule(group, ec2.Port.tcp(HTTPS_PORT), 'HTTPS from a token refresher', true);
    },
  };
  endpoints.set(key, endpoint);
  return endpoint;
}
