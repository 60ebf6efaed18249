/**
 * The dashboard in AWS: the deployed asset is the built dashboard (dashboard/dist/) without its local
 * config.json, the stack's own config.json carries the hosted-UI sign-in the dashboard's parser
 * accepts, the Cognito domain and app client allow exactly the authorization code flow back to the
 * distribution, the write routes accept that client's tokens, and the CSP admits the token endpoint.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../dashboard/config-shape.js';
import { DASHBOARD_DIST_DIR } from '../../dashboard/dist-dir.js';
import { DASHBOARD_OAUTH_SCOPES } from '../lib/constructs/api.js';
import { resourcesOf, type SynthesizedEnvironment, synthesizeEnvironment } from './synth.js';

let env: SynthesizedEnvironment;

beforeAll(() => {
  env = synthesizeEnvironment('dev');
}, 240_000);

const logicalId = (type: string) => {
  const ids = Object.keys(resourcesOf(env.platformTemplate, type));
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0] as string;
};
/** `https://{distribution domain}/`, as CloudFormation writes it. */
const dashboardUrl = () => ({
  'Fn::Join': [
    '',
    ['https://', { 'Fn::GetAtt': [logicalId('AWS::CloudFront::Distribution'), 'DomainName'] }, '/'],
  ],
});

interface BucketDeploymentProperties {
  SourceObjectKeys: string[];
  SourceMarkers?: Record<string, unknown>[];
  SystemMetadata?: Record<string, string>;
  Prune: boolean;
}
const deployments = () =>
  Object.values(resourcesOf(env.platformTemplate, 'Custom::CDKBucketDeployment')).map(
    (resource) => resource.Properties as unknown as BucketDeploymentProperties,
  );
/** Every source of every deployment: its files as synthesized into the cloud assembly (asset.{hash}/). */
const sources = () =>
  deployments().flatMap((deployment) =>
    deployment.SourceObjectKeys.map((key, index) => {
      const dir = join(env.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
      return {
        deployment,
        dir,
        files: readdirSync(dir).sort(),
        markers: deployment.SourceMarkers?.[index] ?? {},
      };
    }),
  );
const sourceWith = (file: string) => {
  const found = sources().filter((source) => source.files.includes(file));
  if (found.length !== 1) throw new Error(`${found.length} deployment sources hold ${file}`);
  return found[0] as ReturnType<typeof sources>[number];
};

/** A CloudFormation reference as readable text: Ref X -> X, GetAtt [X, Y] -> X.Y. */
const referenceText = (token: unknown): string => {
  const value = token as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (value.Ref) return value.Ref;
  if (value['Fn::GetAtt']) return value['Fn::GetAtt'].join('.');
  throw new Error(`unexpected marker value ${JSON.stringify(token)}`);
};

/** The config.json the stack deploys, with its deploy-time values replaced by what they reference. */
const deployedConfig = (): unknown => {
  const source = sourceWith('config.json');
  let text = readFileSync(join(source.dir, 'config.json'), 'utf8');
  for (const [marker, token] of Object.entries(source.markers)) {
    text = text.replaceAll(marker, referenceText(token));
  }
  return JSON.parse(text);
};

describe('dashboard asset', () => {
  it('deploys the built dashboard (dashboard/dist/) without the local config.json', () => {
    const built = readdirSync(DASHBOARD_DIST_DIR).filter((file) => file !== 'config.json');
    const deployed = sources()
      .flatMap((source) => source.files)
      .filter((file) => file !== 'config.json');

    expect(deployed.sort()).toEqual(built.sort());
    expect(built).toEqual(expect.arrayContaining([expect.stringMatching(/^app-[A-Z0-9]+\.js$/)]));
    expect(readFileSync(join(sourceWith('index.html').dir, 'index.html'), 'utf8')).toBe(
      readFileSync(join(DASHBOARD_DIST_DIR, 'index.html'), 'utf8'),
    );
  });

  it('writes exactly one config.json: the stack generated one', () => {
    // sourceWith fails on a second source holding config.json (the build's local one).
    expect(sourceWith('config.json').files).toEqual(['config.json']);
  });

  it('serves the entry files no-cache and the content-hashed bundles immutable', () => {
    const entry = sourceWith('index.html').deployment;
    const bundles = sourceWith(
      readdirSync(DASHBOARD_DIST_DIR).find((file) => /^app-[A-Z0-9]+\.js$/.test(file)) ?? 'app.js',
    ).deployment;

    expect(sourceWith('config.json').deployment).toBe(entry);
    expect(entry.SystemMetadata).toEqual({ 'cache-control': 'no-cache' });
    expect(bundles.SystemMetadata).toEqual({ 'cache-control': 'public, max-age=31536000, immutable' });
    expect(bundles.SourceObjectKeys).toHaveLength(1);
  });

  it("writes a config.json the dashboard's own parser accepts, signing in through the hosted UI", () => {
    const domain = logicalId('AWS::Cognito::UserPoolDomain');
    const client = logicalId('AWS::Cognito::UserPoolClient');
    const distribution = logicalId('AWS::CloudFront::Distribution');
    const config = deployedConfig();

    expect(config).toEqual({
      apiBase: '/api',
      auth: {
        mode: 'cognito',
        domain: `https://${domain}.auth.AWS::Region.amazoncognito.com`,
        clientId: client,
        redirectUri: `https://${distribution}.DomainName/`,
        scopes: [...DASHBOARD_OAUTH_SCOPES],
      },
      pollIntervalMs: 5000,
    });
    // '/api' and '' both mean the same origin; the parser keeps the latter.
    expect(parseConfig(config)).toEqual({ config: { ...(config as object), apiBase: '' }, problems: [] });
  });
});

describe('Cognito sign-in', () => {
  it('gives the user pool a hosted-UI domain: environment plus account, no reserved word', () => {
    const domain = Object.values(resourcesOf(env.platformTemplate, 'AWS::Cognito::UserPoolDomain'))[0]
      ?.Properties as { Domain: unknown; ManagedLoginVersion: number; UserPoolId: unknown };

    expect(domain).toEqual({
      Domain: { 'Fn::Join': ['', ['iot-cloud-dev-', { Ref: 'AWS::AccountId' }]] },
      ManagedLoginVersion: 1,
      UserPoolId: { Ref: logicalId('AWS::Cognito::UserPool') },
    });
    // Cognito refuses prefixes with these words; an account id is 12 digits: within 63 characters.
    const prefix = 'iot-cloud-dev-000000000000';
    expect(prefix).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(prefix).not.toMatch(/aws|amazon|cognito/);
  });

  it('has one app client: authorization code only, no secret, back to the distribution only', () => {
    env.platformTemplate.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    env.platformTemplate.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: [...DASHBOARD_OAUTH_SCOPES],
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: [dashboardUrl()],
      LogoutURLs: [dashboardUrl()],
      PreventUserExistenceErrors: 'ENABLED',
    });
  });

  it("lets the write routes' JWT authorizer accept that client's tokens from this pool", () => {
    env.platformTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Audience: [{ Ref: logicalId('AWS::Cognito::UserPoolClient') }],
        Issuer: Match.objectLike({
          'Fn::Join': [
            '',
            [
              'https://cognito-idp.',
              { Ref: 'AWS::Region' },
              '.amazonaws.com/',
              { Ref: logicalId('AWS::Cognito::UserPool') },
            ],
          ],
        }),
      },
    });
  });

  it("allows the hosted UI's origin (the token endpoint) in connect-src, and nothing wider", () => {
    const policy = Object.values(
      resourcesOf(env.platformTemplate, 'AWS::CloudFront::ResponseHeadersPolicy'),
    )[0]?.Properties as {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } };
      };
    };
    const csp = policy.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy
      .ContentSecurityPolicy as { 'Fn::Join': [string, unknown[]] };
    const text = csp['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : `{${referenceText(part)}}`))
      .join('');
    const directives = Object.fromEntries(
      text.split('; ').map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1)]),
    );
    const domain = logicalId('AWS::Cognito::UserPoolDomain');

    expect(directives['connect-src']).toEqual([
      "'self'",
      `https://{${domain}}.auth.{AWS::Region}.amazoncognito.com`,
    ]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(text).not.toContain('*');
    expect(text).not.toContain('unsafe');
  });
});

describe('platform template', () => {
  it('has no dependency cycle (client -> distribution -> API, authorizer -> client)', () => {
    const resources = env.platformTemplate.toJSON().Resources as Record<
      string,
      { DependsOn?: string | string[] }
    >;
    const references = (value: unknown, found: Set<string>): Set<string> => {
      if (Array.isArray(value)) for (const item of value) references(item, found);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'Ref' && typeof inner === 'string' && inner in resources) found.add(inner);
          else if (key === 'Fn::GetAtt' && Array.isArray(inner) && String(inner[0]) in resources)
            found.add(String(inner[0]));
          else references(inner, found);
        }
      }
      return found;
    };
    const edges = new Map(
      Object.entries(resources).map(([id, resource]) => {
        const found = references(resource, new Set());
        for (const dependency of [resource.DependsOn ?? []].flat()) found.add(dependency);
        return [id, found];
      }),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[][] = [];
    const visit = (id: string, path: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id]);
        return;
      }
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of edges.keys()) visit(id, []);

    expect(cycles).toEqual([]);
  });
});
