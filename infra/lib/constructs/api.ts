/**
 * The HTTP API: one API Gateway route per entry of API_ROUTES (functions/shared/api-routes.ts), all on
 * one Lambda integration (the handler routes internally), a Cognito user pool whose JWTs the
 * authorizer checks on every route whose `write` is true, stage throttling and JSON access logs.
 * Reads are public by design (API.md: writes require a JWT).
 *
 * Sign-in: the pool has a hosted-UI domain, and the dashboard's app client (authorization code with
 * PKCE, no secret) is added by `addDashboardClient` once the dashboard's URL exists. Its callback URL
 * is the CloudFront distribution, which itself needs this API's id; so the client is created after
 * the routes, and the authorizer's audience is read lazily at synthesis (client -> distribution ->
 * HTTP API, authorizer -> client: no cycle in CloudFormation).
 */
import { Aws, Duration, Lazy, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../../functions/lambda/environment.js';
import { API_ROUTES } from '../../../functions/shared/api-routes.js';
import type { EnvironmentConfig } from '../config.js';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import type { Registry } from './registry.js';
import type { TimeSeriesSink } from './timeseries.js';

/**
 * The API's resource server in the user pool and its one custom scope. Write routes require the scope
 * (`authorizationScopes`), so only an access token passes: ID tokens carry no `scope` claim, and API
 * Gateway's JWT authorizer checks the token's scopes against the route's
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
 */
export const API_RESOURCE_SERVER = { identifier: 'iot-cloud-api', writeScope: 'write' } as const;
export const API_WRITE_SCOPE = `${API_RESOURCE_SERVER.identifier}/${API_RESOURCE_SERVER.writeScope}`;

/**
 * What the dashboard asks the hosted UI for: `openid` (the user's identity) and `email`, plus the
 * API's write scope, which lands in the access token the write routes require.
 */
export const DASHBOARD_OAUTH_SCOPES = ['openid', 'email', API_WRITE_SCOPE] as const;

export interface ApiProps {
  readonly config: EnvironmentConfig;
  readonly registry: Registry;
  readonly timeSeries: TimeSeriesSink;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class Api extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly userPool: cognito.UserPool;
  /** The hosted UI (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  public readonly userPoolDomain: cognito.UserPoolDomain;
  public readonly handler: IotFunction;
  /** The app clients whose tokens the write routes accept (the authorizer's audience). */
  private readonly audienceClients: cognito.IUserPoolClient[] = [];
  private dashboardClientOrUndefined: cognito.UserPoolClient | undefined;
  /** Declares the API's write scope (API_WRITE_SCOPE). */
  public readonly resourceServer: cognito.UserPoolResourceServer;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { config } = props;

    this.handler = new IotFunction(this, 'Handler', {
      entry: LAMBDA_ENTRIES.api,
      serviceName: 'api',
      description: 'HTTP API (registry, devices, messages, telemetry, stats, alerts)',
      platformVersion: config.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: Duration.seconds(15),
      memorySize: 512,
      environment: {
        [ENV.registryRefreshSeconds]: String(config.registryRefreshSeconds),
      },
    });
    // Exactly the actions the entry's header lists (functions/lambda/api.ts).
    props.registry.bind(this.handler.function, {
      deviceTypes: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
      applications: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:Scan',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:Query',
      ],
      devices: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:Query'],
      messages: ['dynamodb:Query'],
      // Issue 15 lifecycle: acknowledge and operator clear (GetItem the pointer and the alert,
      // UpdateItem the lifecycle, PutItem the clear event, its claim and pointer).
      alerts: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      pipelineStats: ['dynamodb:Query'],
      // Notification channels (issue 15): channel items, deliveries, and deleting a channel's record.
      notifications: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
      ],
      // Ingest mappings (issue 14): list, read, replace (conditional Put) and delete.
      ingestMappings: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
    });
    props.timeSeries.bindReader(this.handler.function);

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      // Operators are invited by an administrator; nobody signs up on their own.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      removalPolicy: props.removalPolicy,
    });
    acknowledge(this.userPool, [
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus feature plan is billed per monthly active user; Essentials covers MFA and the JWT flow used here.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (advanced security) needs the Plus feature plan, billed per MAU; the pool has MFA required, no self sign-up and a strict password policy.',
      },
    ]);
    // Cognito domain prefixes are unique per region across all accounts and may not contain "aws",
    // "amazon" or "cognito": environment name plus account id is both unique and stable (a token here,
    // since the stacks are environment-agnostic).
    this.userPoolDomain = this.userPool.addDomain('HostedUi', {
      cognitoDomain: { domainPrefix: `iot-cloud-${config.name}-${Aws.ACCOUNT_ID}` },
      // The classic hosted UI needs no branding resource (managed login v2 would).
      managedLoginVersion: cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
    });

    const writeScope = new cognito.ResourceServerScope({
      scopeName: API_RESOURCE_SERVER.writeScope,
      scopeDescription: 'Change the registry and devices through the HTTP API (write routes)',
    });
    this.resourceServer = this.userPool.addResourceServer('ApiResourceServer', {
      identifier: API_RESOURCE_SERVER.identifier,
      userPoolResourceServerName: 'IoT Cloud HTTP API',
      scopes: [writeScope],
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'IoT Cloud HTTP API (served at /api/* through CloudFront)',
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.api.throttleRateLimit, burstLimit: config.api.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigwAccessLogFormat(),
      },
    });

    const integration = new HttpLambdaIntegration('Integration', this.handler.function);
    const authorizer = new HttpJwtAuthorizer(
      'WriteAuthorizer',
      `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`,
      {
        jwtAudience: Lazy.list({
          produce: () => this.audienceClients.map((client) => client.userPoolClientId),
        }),
      },
    );
    this.node.addValidation({
      validate: () =>
        this.audienceClients.length > 0
          ? []
          : ['the JWT authorizer has no audience: call addDashboardClient() with the dashboard URL'],
    });
    for (const route of API_ROUTES) {
      const routes = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        ...(route.write ? { authorizer, authorizationScopes: [API_WRITE_SCOPE] } : {}),
      });
      if (!route.write) {
        for (const created of routes) {
          acknowledge(created, [
            {
              id: 'AwsSolutions-APIG4',
              reason: `${route.method} ${route.path} is a public read (API.md: only writes need a JWT).`,
            },
          ]);
        }
      }
    }
  }

  /**
   * The dashboard's app client: hosted-UI sign-in with the authorization code grant and PKCE (a public
   * client, no secret), redirecting back to `dashboardUrl` only. Its tokens are accepted by the write
   * routes. `dashboardUrl` is the exact redirect URI the dashboard sends (config.json `redirectUri`).
   */
  addDashboardClient(dashboardUrl: string): cognito.UserPoolClient {
    if (this.dashboardClientOrUndefined) throw new Error('the dashboard client exists already');
    const client = this.userPool.addClient('DashboardClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: DASHBOARD_OAUTH_SCOPES.map((scope) => cognito.OAuthScope.custom(scope)),
        callbackUrls: [dashboardUrl],
        logoutUrls: [dashboardUrl],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(7),
    });
    // The write scope exists only once its resource server does.
    client.node.addDependency(this.resourceServer);
    this.audienceClients.push(client);
    this.dashboardClientOrUndefined = client;
    return client;
  }

  get dashboardClient(): cognito.UserPoolClient {
    if (!this.dashboardClientOrUndefined) throw new Error('addDashboardClient() has not been called');
    return this.dashboardClientOrUndefined;
  }

  /** The API's own URL (https://{id}.execute-api.{region}.amazonaws.com). */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}

/** One JSON line per request: what API Gateway's access-log variables offer for an HTTP API. */
function apigwAccessLogFormat() {
  const fields = {
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  };
  // apigatewayv2 reuses API Gateway v1's AccessLogFormat type.
  return AccessLogFormat.custom(JSON.stringify(fields));
}
