import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { IPolicyValidationContextBeta1, IPolicyValidationPluginBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';

/**
 * AWS Control Tower's proactive controls (CfnGuardValidator), with every finding marked an error.
 * The plugin leaves `severity` unset, and once any of its findings is acknowledged CDK recounts
 * the report as passing unless a finding left says "error": one acknowledgement would let every
 * other finding through (aws-cdk-lib 2.276, cdk-validator-cfnguard 0.0.62).
 */
export class GuardRules implements IPolicyValidationPluginBeta1 {
  private readonly guard = new CfnGuardValidator();
  readonly name = this.guard.name;
  readonly version = this.guard.version;
  readonly ruleIds = this.guard.ruleIds;

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const report = this.guard.validate(context);
    return { ...report, violations: report.violations.map((violation) => ({ severity: 'error', ...violation })) };
  }
}
