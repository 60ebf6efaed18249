/**
 * The scripts model facts the CDK constructs declare (memory sizes, the VPC's zone count, the Cognito
 * domain prefix). Until the constructs import them from the shared declarations, these tests fail when
 * a construct changes one of them without the other, so preflight and cost never price or check a
 * different stack from the one deployed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAMBDA_SIZING } from '../functions/shared/lambda-sizing.js';
import { PROJECT_ROOT } from '../infra/lib/paths.js';
import { VPC_ZONE_COUNT } from './preflight/checks.js';

const construct = (file: string) => readFileSync(join(PROJECT_ROOT, 'infra/lib/constructs', file), 'utf8');

describe('declarations the constructs share with preflight and cost', () => {
  it.each([
    ['ingest.ts', 'ingestBridge'],
    ['processing.ts', 'enrich'],
    ['processing.ts', 'timeseriesWriter'],
    ['api.ts', 'api'],
  ] as const)('%s sizes %s as LAMBDA_SIZING says', (file, name) => {
    const source = construct(file);
    const usesDeclaration = source.includes(`LAMBDA_SIZING.${name}`) || source.includes('LAMBDA_SIZING[');
    expect(usesDeclaration || source.includes(`memorySize: ${LAMBDA_SIZING[name].memoryMb},`)).toBe(true);
  });

  it('the VPC spans as many zones as preflight checks', () => {
    expect(construct('network.ts')).toMatch(new RegExp(`maxAzs: (${VPC_ZONE_COUNT}|VPC_ZONE_COUNT)\\b`));
  });

  it('the hosted UI prefix is the one preflight asks Cognito about', () => {
    const source = construct('api.ts');
    expect(
      source.includes('cognitoDomainPrefix(') ||
        // The construct's own template literal, matched as text.
        source.includes(['domainPrefix: `iot-cloud-', '{config.name}-', '{Aws.ACCOUNT_ID}`'].join('$')),
    ).toBe(true);
  });
});
