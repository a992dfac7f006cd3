/**
 * The package's main entry (`import … from 'ims-token-refresher'`): the construct, the stack the
 * CDK app deploys, and the configuration file's types. The token reader is the separate entry
 * `ims-token-refresher/reader`, which needs no CDK.
 *
 * @module
 */
export { METRIC_NAMESPACE } from './alarms.js';
export { ImsTokenRefresherError } from './errors.js';
export { ImsTokenRefresher, type ImsTokenRefresherProps } from './ims-token-refresher.js';
export { ImsTokenStack, type ImsTokenStackProps } from './ims-token-stack.js';
export type { ClientSecretRotation } from './rotation.js';
export { ConfigError, configJsonSchema, parseAppConfig } from './config/load.js';
export type { AppConfig, JsonSchema, RotationConfig, SharedConfig, TokenConfig, VpcConfig } from './config/types.js';
