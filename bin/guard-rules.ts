import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type {
  IPolicyValidationContextBeta1,
  IPolicyValidationPluginBeta1,
  PolicyValidationPluginReportBeta1,
} from 'aws-cdk-lib';

/** The Control Tower rule files the plugin ships, each with the resource types it names. */
const RULES_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard')),
  '..',
  'rules',
  'control-tower',
  'cfn-guard',
);
const RULES = readdirSync(RULES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.guard'))
  .map((file) => {
    const rulePath = path.join(RULES_DIR, file);
    return {
      rulePath,
      types: new Set(
        readFileSync(rulePath, 'utf8')
          .match(/"AWS::[\w:]+"/g)
          ?.map((type) => type.slice(1, -1)),
      ),
    };
  });

interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Metadata?: Record<string, unknown> }>;
}

/** A resource by its template and logical id. */
interface Located {
  readonly templatePath: string;
  readonly id: string;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wholeWords = (words: readonly string[]) =>
  new RegExp(
    `(?<![\\w-])(?:${[...words]
      .sort((a, b) => b.length - a.length)
      .map(escape)
      .join('|')})(?![\\w-])`,
    'g',
  );

/**
 * The resources of `templates` grouped by shape: two resources have one shape when they are the
 * same but for names, i.e. their JSON is equal once every logical id of their template and their
 * owner's construct path (`Stack/token`, as descriptions and alarm names hold it) are blanked.
 * Tokens configured alike give one shape per resource of a refresher, however many there are.
 * The owner comes from the path metadata the CDK CLI writes; without it fewer resources are
 * alike, nothing else changes.
 */
export function shapes(templates: ReadonlyMap<string, Template>): Located[][] {
  const groups = new Map<string, Located[]>();
  for (const [templatePath, template] of templates) {
    const ids = wholeWords(Object.keys(template.Resources));
    for (const [id, resource] of Object.entries(template.Resources)) {
      const { 'aws:cdk:path': constructPath, ...metadata } = resource.Metadata ?? {};
      const owner = typeof constructPath === 'string' ? constructPath.split('/').slice(0, 2).join('/') : undefined;
      let key = JSON.stringify({ ...resource, Metadata: metadata }).replace(ids, '#id');
      if (owner) key = key.replace(wholeWords([owner]), '#owner');
      groups.set(key, [...(groups.get(key) ?? []), { templatePath, id }]);
    }
  }
  return [...groups.values()];
}

/** The logical ids of `template`'s resources that `value` names in a `Ref` or `Fn::GetAtt`, at any depth. */
function referencedIds(value: unknown, template: Template): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => referencedIds(item, template));
  if (typeof value !== 'object' || value === null) return [];
  const { Ref: ref, 'Fn::GetAtt': getAtt } = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  const target: unknown = typeof ref === 'string' ? ref : Array.isArray(getAtt) ? (getAtt[0] as unknown) : undefined;
  const own = typeof target === 'string' && Object.hasOwn(template.Resources, target) ? [target] : [];
  return [...own, ...Object.values(value).flatMap((item) => referencedIds(item, template))];
}

/**
 * AWS Control Tower's proactive controls (CfnGuardValidator), with three changes:
 * - Only the rules that name a resource type the templates hold (or name none) run: a rule
 *   selects resources by type, so the others have nothing to check. cfn-guard walks the whole
 *   template once per rule (about 0.3 s for 20 tokens), so this makes the check 8 times faster.
 * - cfn-guard checks one resource of each shape (`shapes`), and a finding on it is reported for
 *   every resource of that shape: the rules look at one resource's own properties, so alike
 *   resources get alike findings, and CDK still applies each resource's acknowledgements. Its
 *   time no longer grows with the number of tokens configured alike. The resources a checked one
 *   references come along (rules such as CT.LAMBDA.PR.3 check a reference's target type); their
 *   own findings are those of their shape's representative.
 * - Every finding is marked an error. The plugin leaves `severity` unset, and once any finding is
 *   acknowledged CDK recounts the report as passing unless a finding left says "error": one
 *   acknowledgement would let every other finding through (aws-cdk-lib 2.276, plugin 0.0.62).
 */
export class GuardRules implements IPolicyValidationPluginBeta1 {
  readonly name = 'cdk-validator-cfnguard';
  readonly version = new CfnGuardValidator().version;

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const templates = new Map(
      context.templatePaths.map((file) => [file, JSON.parse(readFileSync(file, 'utf8')) as Template]),
    );
    const types = new Set(
      [...templates.values()].flatMap((template) => Object.values(template.Resources).map((resource) => resource.Type)),
    );
    const rules = RULES.filter((rule) => rule.types.size === 0 || [...rule.types].some((type) => types.has(type))).map(
      (rule) => rule.rulePath,
    );

    const groups = shapes(templates);
    const members = new Map(groups.map((group) => [`${group[0].templatePath}\0${group[0].id}`, group]));
    const work = mkdtempSync(path.join(tmpdir(), 'guard-rules-'));
    try {
      // One template per original that holds a representative, with only the representatives and
      // the resources they reference: rules check that a reference names a resource of the right type.
      const originals = new Map<string, string>();
      const reduced = [...templates].flatMap(([file, template], index) => {
        const resources = groups.filter((group) => group[0].templatePath === file).map((group) => group[0].id);
        if (resources.length === 0) return [];
        const kept = new Set(resources.flatMap((id) => [id, ...referencedIds(template.Resources[id], template)]));
        const reducedPath = path.join(work, `${index}.template.json`);
        writeFileSync(
          reducedPath,
          JSON.stringify({
            ...template,
            Resources: Object.fromEntries([...kept].map((id) => [id, template.Resources[id]])),
          }),
        );
        originals.set(reducedPath, file);
        return [reducedPath];
      });
      const report = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules }).validate({
        ...context,
        templatePaths: reduced,
      });
      return {
        ...report,
        violations: report.violations.flatMap((violation) => {
          const violatingResources = violation.violatingResources.flatMap((found) => {
            // A referenced resource that represents no shape is reported through its own shape's representative.
            const group = members.get(`${originals.get(found.templatePath)}\0${found.resourceLogicalId}`) ?? [];
            return group.map((member) => ({
              ...found,
              templatePath: member.templatePath,
              resourceLogicalId: member.id,
              locations: found.locations.map((location) =>
                location.replace(
                  new RegExp(`^/Resources/${found.resourceLogicalId}(?=/|$)`),
                  `/Resources/${member.id}`,
                ),
              ),
            }));
          });
          return violatingResources.length === 0 ? [] : [{ severity: 'error', ...violation, violatingResources }];
        }),
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
