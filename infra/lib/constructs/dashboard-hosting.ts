/**
 * The dashboard: a private S3 bucket behind CloudFront with origin access control, `/api/*` sent to
 * the HTTP API on the same origin (no CORS), a response-headers policy with security headers, and the
 * built dashboard (`dashboard/dist/`, `npm run build:dashboard`) plus a generated `config.json` (API
 * base, hosted-UI sign-in) deployed with BucketDeployment. The dashboard's Cognito app client is
 * created here, once the distribution's URL (its callback URL) exists.
 *
 * The site bucket lives in this (stateless) stack: its content is rebuilt from the repository on every
 * deploy, and the bucket policy that admits the distribution would otherwise tie the two stacks in a
 * reference cycle.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { DashboardConfig } from '../../../dashboard/config-shape.js';
import { DASHBOARD_DIST_DIR } from '../../../dashboard/dist-dir.js';
import { acknowledge, BASIC_EXECUTION_ROLE } from '../nag.js';
import { PROJECT_ROOT } from '../paths.js';
import { type Api, DASHBOARD_OAUTH_SCOPES } from './api.js';
import { privateBucket } from './buckets.js';

/**
 * The entry files: index.html (naming the content-hashed bundles of the current build) and config.json.
 * They are served `no-cache` (revalidated on every load) so a deploy shows at the next page load, while
 * the bundles, whose names change with their content, are cached for a year. The build's own
 * config.json (local mode's) is never deployed: the stack writes the bucket's (`dashboardConfig`).
 */
export const DASHBOARD_ENTRY_FILES = ['index.html', 'config.json'];
const BUNDLE_CACHE_CONTROL = [
  s3deploy.CacheControl.setPublic(),
  s3deploy.CacheControl.maxAge(Duration.days(365)),
  s3deploy.CacheControl.immutable(),
];

/**
 * Security headers for every response, the API's included. The same policy as the local server's
 * (local/http-server.ts: no inline script or style, nothing from elsewhere), plus the hosted UI's origin
 * in connect-src: the dashboard trades the sign-in code for tokens at its /oauth2/token.
 */
export function contentSecurityPolicy(hostedUiOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${hostedUiOrigin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

export interface DashboardHostingProps {
  readonly api: Api;
  readonly accessLogs: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
}

export class DashboardHosting extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: DashboardHostingProps) {
    super(scope, id);
    if (!existsSync(join(DASHBOARD_DIST_DIR, 'index.html'))) {
      throw new Error(
        `${relative(PROJECT_ROOT, DASHBOARD_DIST_DIR)}/index.html not found: build the dashboard (npm run build:dashboard) before synthesizing`,
      );
    }
    const { api } = props;
    // Site content is reproducible from the repository: destroy it with the stack in every environment.
    this.bucket = privateBucket(this, 'SiteBucket', {
      removalPolicy: RemovalPolicy.DESTROY,
      accessLogs: props.accessLogs,
      accessLogsPrefix: 'site-bucket/',
      versioned: false,
    });

    const securityHeaders = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'IoT Cloud: security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: contentSecurityPolicy(api.userPoolDomain.baseUrl()),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          preload: false,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });

    const apiDomain = `${api.httpApi.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'IoT Cloud dashboard and API',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: securityHeaders,
      },
      additionalBehaviors: {
        // Same origin for the API: the dashboard calls /api/... and CloudFront forwards to API Gateway.
        '/api/*': {
          origin: new origins.HttpOrigin(apiDomain, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // Everything but Host (API Gateway routes on its own host name); Authorization reaches the
          // origin for the writes, which are the only JWT-protected routes.
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: securityHeaders,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cloudfront/',
    });
    acknowledge(this.distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A telemetry dashboard for operators anywhere: no geographic restriction.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL by default (about $5/month plus rules); API Gateway throttling limits abuse. Adopters can attach one.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot pin TLSv1.2; a custom domain with an ACM certificate lifts this.',
      },
    ]);

    // The redirect URI is the exact page the dashboard is served at (location.origin + pathname).
    const signInClient = api.addDashboardClient(`${this.url}/`);
    // A test also parses the synthesized file with the dashboard's own parser.
    const dashboardConfig: DashboardConfig = {
      // Same origin: CloudFront sends /api/* to the HTTP API.
      apiBase: '/api',
      auth: {
        mode: 'cognito',
        domain: api.userPoolDomain.baseUrl(),
        clientId: signInClient.userPoolClientId,
        redirectUri: `${this.url}/`,
        scopes: DASHBOARD_OAUTH_SCOPES,
      },
      pollIntervalMs: 5000,
    };
    // Bundles first, then the page naming them: a browser never gets an index.html whose bundles are
    // not there yet. `exclude` also keeps the pruning of old bundles away from the entry files.
    const bundles = new s3deploy.BucketDeployment(this, 'Bundles', {
      sources: [s3deploy.Source.asset(DASHBOARD_DIST_DIR, { exclude: DASHBOARD_ENTRY_FILES })],
      exclude: DASHBOARD_ENTRY_FILES,
      destinationBucket: this.bucket,
      cacheControl: BUNDLE_CACHE_CONTROL,
      prune: true,
      memoryLimit: 512,
    });
    const deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      sources: [
        s3deploy.Source.asset(DASHBOARD_DIST_DIR, { exclude: ['*', '!index.html'] }),
        s3deploy.Source.jsonData('config.json', dashboardConfig),
      ],
      destinationBucket: this.bucket,
      cacheControl: [s3deploy.CacheControl.noCache()],
      // The bundles' deployment owns everything else in the bucket.
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/', ...DASHBOARD_ENTRY_FILES.map((file) => `/${file}`)],
      memoryLimit: 512,
    });
    deployment.node.addDependency(bundles);
    this.acknowledgeDeploymentFunction(deployment);
  }

  /** BucketDeployment's function is a per-stack singleton: acknowledged here, next to its only user. */
  private acknowledgeDeploymentFunction(deployment: s3deploy.BucketDeployment): void {
    const stack = Stack.of(this);
    const provider = stack.node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (!provider) throw new Error(`BucketDeployment ${deployment.node.path} created no provider function`);
    const siteBucket = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const copyReason =
      "BucketDeployment copies the dashboard from the CDK asset bucket to the site bucket and invalidates the distribution (aws-cdk-lib's own grants; CreateInvalidation has no resource-level scoping here).";
    acknowledge(provider, [
      ...[
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
        `Resource::<${siteBucket}.Arn>/*`,
        'Resource::*',
      ].map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason: copyReason })),
      { id: BASIC_EXECUTION_ROLE, reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes.' },
      {
        id: 'AwsSolutions-L1',
        reason: 'aws-cdk-lib chooses and updates the runtime of its own provider functions.',
      },
    ]);
  }

  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
