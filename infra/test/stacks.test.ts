/**
 * The dev environment, synthesized once: one behaviour per test, asserted on the templates.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/lambda/environment.js';
import { API_ROUTES } from '../../functions/shared/api-routes.js';
import { INGEST_RULE, mappedTopicRules } from '../../functions/shared/iot-rules.js';
import { CONSUMER_GROUPS, EVENT_SOURCE_ERROR_CONTROLS, TOPICS } from '../../functions/shared/stream.js';
import {
  TABLE_NAME_ENV,
  TABLES,
  type TableDeclaration,
  TIMESERIES_TABLE_NAME_ENV,
  TIMESERIES_TABLES,
} from '../../functions/shared/tables.js';
import { seedRegistry } from '../../registry-data/index.js';
import { API_RESOURCE_SERVER, API_WRITE_SCOPE, DASHBOARD_OAUTH_SCOPES } from '../lib/constructs/api.js';
import { THING_NAME_VARIABLE } from '../lib/constructs/devices.js';
import { MSK_IAM_PORT } from '../lib/constructs/network.js';
import { MSK_SERVERLESS_REPLICATION_FACTOR, streamParameterNames } from '../lib/constructs/stream.js';
import { ROLLUP_MINUTE_PAST_HOUR } from '../lib/constructs/timeseries-rollup.js';
import {
  asArray,
  functionVariables,
  logicalIdsWith,
  policyStatements,
  resourcesOf,
  type SynthesizedEnvironment,
  synthesizeEnvironment,
} from './synth.js';

let env: SynthesizedEnvironment;

beforeAll(() => {
  env = synthesizeEnvironment('dev');
}, 240_000);

const kafkaMappings = () =>
  Object.values(resourcesOf(env.platformTemplate, 'AWS::Lambda::EventSourceMapping'))
    .map((resource) => resource.Properties ?? {})
    .filter((properties) => 'AmazonManagedKafkaEventSourceConfig' in properties);

const mappingOf = (topic: string) => {
  const mapping = kafkaMappings().find((properties) => asArray(properties.Topics).includes(topic));
  if (!mapping) throw new Error(`no event source mapping on ${topic}`);
  return mapping;
};

describe('ingest', () => {
  it('deploys the shared rule SQL under an environment-specific name', () => {
    env.platformTemplate.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: `${INGEST_RULE.name}_dev`,
      TopicRulePayload: Match.objectLike({
        Sql: INGEST_RULE.sql,
        AwsIotSqlVersion: INGEST_RULE.awsIotSqlVersion,
      }),
    });
  });

  // Ingest mappings (issue 14): one rule per shipped mapping topic filter that dt/+/+/+ does not cover.
  it('deploys one rule per mapped topic filter, with the device id from its {deviceId} level', () => {
    const rules = Object.values(resourcesOf(env.platformTemplate, 'AWS::IoT::TopicRule')).map(
      (rule) => rule.Properties as { RuleName: string; TopicRulePayload: { Sql: string } },
    );
    const mapped = rules.filter((rule) => rule.RuleName !== `${INGEST_RULE.name}_dev`);

    expect(mapped.map((rule) => rule.TopicRulePayload.Sql).sort()).toEqual([
      "SELECT encode(*, 'base64') AS payload, topic() AS topic, topic(2) AS device_id, timestamp() AS received_at FROM 'cmnd/+/+/+/+'",
      "SELECT encode(*, 'base64') AS payload, topic() AS topic, topic(2) AS device_id, timestamp() AS received_at FROM 'iot/+/raw'",
      "SELECT encode(*, 'base64') AS payload, topic() AS topic, topic(2) AS device_id, timestamp() AS received_at FROM 'iot/+/status'",
      "SELECT encode(*, 'base64') AS payload, topic() AS topic, topic(2) AS device_id, timestamp() AS received_at FROM 'iot/+/trends'",
    ]);
    expect(mapped.map((rule) => rule.RuleName).sort()).toEqual(
      mappedTopicRules(seedRegistry.ingestMappings.map((m) => m.match.topic)).map(
        (rule) => `${rule.name}_dev`,
      ),
    );
  });

  it('sends mapped-topic messages to the same buffer queue as the ingest rule', () => {
    const actions = Object.values(resourcesOf(env.platformTemplate, 'AWS::IoT::TopicRule')).map((rule) =>
      JSON.stringify(
        (rule.Properties as { TopicRulePayload: { Actions: unknown } }).TopicRulePayload.Actions,
      ),
    );

    expect(new Set(actions).size).toBe(1);
  });

  it('sends matched messages to the buffer queue', () => {
    const bufferQueue = env.platformTemplate.getResourceId('AWS::SQS::Queue', {
      Properties: Match.objectLike({ RedrivePolicy: Match.anyValue() }),
    });
    env.platformTemplate.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        Actions: [{ Sqs: Match.objectLike({ QueueUrl: { Ref: bufferQueue }, UseBase64: false }) }],
      }),
    });
  });

  it('keeps failed rule deliveries on an error queue other than the buffer', () => {
    const rule = Object.values(resourcesOf(env.platformTemplate, 'AWS::IoT::TopicRule'))[0];
    const payload = rule?.Properties?.TopicRulePayload as {
      Actions: { Sqs: { QueueUrl: unknown } }[];
      ErrorAction: { Sqs: { QueueUrl: { Ref: string } } };
    };

    expect(payload.ErrorAction.Sqs.QueueUrl.Ref).toMatch(/^IngestRuleErrorQueue/);
    expect(payload.ErrorAction.Sqs.QueueUrl).not.toEqual(payload.Actions[0]?.Sqs.QueueUrl);
  });

  it('encrypts every queue with the customer-managed key', () => {
    const queues = Object.values(resourcesOf(env.platformTemplate, 'AWS::SQS::Queue'));

    // Buffer, its dead-letter queue, the rule's error queue, and the notifier's failure queue (issue 15).
    expect(queues).toHaveLength(4);
    for (const queue of queues) {
      expect(queue.Properties?.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^QueueKey/), 'Arn'],
      });
    }
  });

  it("moves a message that keeps failing to the buffer's own dead-letter queue", () => {
    env.platformTemplate.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^IngestBufferDeadLetterQueue'), 'Arn'],
        },
        maxReceiveCount: 5,
      },
    });
  });

  it('has the bridge report partial batch failures with capped concurrency', () => {
    env.platformTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestBufferQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: env.config.ingest.maxConcurrency },
      BatchSize: env.config.ingest.batchSize,
    });
  });

  it('runs the bridge in the isolated subnets', () => {
    env.platformTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('iot.raw Kafka topic'),
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
  });
});

describe('Kafka event source mappings', () => {
  const consumers = [
    { topic: TOPICS.raw, group: CONSUMER_GROUPS.enrich, settings: () => env.config.consumers.enrich },
    {
      topic: TOPICS.enriched,
      group: CONSUMER_GROUPS.timeseriesWriter,
      settings: () => env.config.consumers.timeseriesWriter,
    },
  ];

  it('creates exactly one mapping per consumer', () => {
    expect(kafkaMappings().map((mapping) => mapping.Topics)).toEqual([[TOPICS.raw], [TOPICS.enriched]]);
  });

  for (const consumer of consumers) {
    describe(`on ${consumer.topic}`, () => {
      it('uses its explicit consumer group', () => {
        expect(mappingOf(consumer.topic).AmazonManagedKafkaEventSourceConfig).toEqual({
          ConsumerGroupId: consumer.group,
        });
      });

      it('starts at the configured position', () => {
        expect(mappingOf(consumer.topic).StartingPosition).toBe(env.config.consumers.startingPosition);
      });

      it('takes batch size and window from the configuration', () => {
        const mapping = mappingOf(consumer.topic);

        expect(mapping.BatchSize).toBe(consumer.settings().batchSize);
        expect(mapping.MaximumBatchingWindowInSeconds).toBe(consumer.settings().maxBatchingWindowSeconds);
      });

      it('retries a bounded number of times, bisecting and reporting single failed records', () => {
        const mapping = mappingOf(consumer.topic);

        expect(mapping.MaximumRetryAttempts).toBe(EVENT_SOURCE_ERROR_CONTROLS.maximumRetryAttempts);
        expect(mapping.BisectBatchOnFunctionError).toBe(true);
        expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      });

      it('sends records it gives up on to the failed-records bucket', () => {
        expect(mappingOf(consumer.topic).DestinationConfig).toEqual({
          OnFailure: { Destination: { 'Fn::ImportValue': 'IotCloud-dev-Stateful-FailedRecordsBucketArn' } },
        });
      });

      it('runs in provisioned mode, where the error controls apply', () => {
        expect(mappingOf(consumer.topic).ProvisionedPollerConfig).toMatchObject({
          MinimumPollers: consumer.settings().minimumPollers,
          MaximumPollers: consumer.settings().maximumPollers,
        });
      });
    });
  }
});

describe('kafka-cluster permissions', () => {
  const kafkaStatements = () =>
    [...policyStatements(env.statefulTemplate), ...policyStatements(env.platformTemplate)].filter(
      ({ statement }) =>
        asArray(statement.Action as string | string[]).some((action) => action.startsWith('kafka-cluster:')),
    );
  const flatten = (value: unknown): string => JSON.stringify(value);

  it('never grants kafka-cluster actions on a wildcard resource', () => {
    const statements = kafkaStatements();

    expect(statements.length).toBeGreaterThan(0);
    for (const { statement } of statements) {
      for (const resource of asArray(statement.Resource)) {
        expect(resource).not.toBe('*');
        expect(flatten(resource)).not.toMatch(/\/\*"|:\*"/);
      }
    }
  });

  it('scopes data actions to topic ARNs and group actions to group ARNs', () => {
    for (const { statement } of kafkaStatements()) {
      const actions = asArray(statement.Action as string | string[]);
      const resources = asArray(statement.Resource).map(flatten);
      if (
        actions.some((action) => /ReadData|WriteData"?$|DescribeTopic|CreateTopic|AlterTopic/.test(action))
      ) {
        for (const resource of resources) expect(resource).toMatch(/:topic\//);
      }
      if (actions.some((action) => /Group$/.test(action))) {
        for (const resource of resources) expect(resource).toMatch(/:group\//);
      }
    }
  });

  it('lets each consumer read only its own topic and group', () => {
    // The data-ops function (issue 16) reads iot.dlq, iot.raw and iot.enriched through throwaway groups: its
    // statements are asserted exactly in data-ops.test.ts.
    const consumers = () => kafkaStatements().filter(({ policy }) => !policy.startsWith('DataOpsHandler'));
    const readers = consumers().filter(({ statement }) =>
      asArray(statement.Action as string[]).includes('kafka-cluster:ReadData'),
    );
    const groups = consumers().filter(({ statement }) =>
      asArray(statement.Action as string[]).includes('kafka-cluster:AlterGroup'),
    );

    expect(
      readers.map(({ statement }) => flatten(statement.Resource).match(/\/(iot\.\w+)"/)?.[1]).sort(),
    ).toEqual([TOPICS.enriched, TOPICS.raw].sort());
    expect(
      groups.map(({ statement }) => flatten(statement.Resource).match(/\/([\w-]+)"\]/)?.[1]).sort(),
    ).toEqual([CONSUMER_GROUPS.enrich, CONSUMER_GROUPS.timeseriesWriter].sort());
  });
});

describe('devices', () => {
  const policyDocument = () =>
    Object.values(resourcesOf(env.platformTemplate, 'AWS::IoT::Policy'))[0]?.Properties?.PolicyDocument as {
      Statement: { Action: string; Resource: unknown; Condition?: unknown }[];
    };

  it('lets a thing connect only with its own name as client id, while attached', () => {
    const connect = policyDocument().Statement.find((statement) => statement.Action === 'iot:Connect');

    expect(THING_NAME_VARIABLE).toBe('$' + '{iot:Connection.Thing.ThingName}');
    expect(JSON.stringify(connect?.Resource)).toContain(`:client/${THING_NAME_VARIABLE}`);
    expect(connect?.Condition).toEqual({ Bool: { 'iot:Connection.Thing.IsAttached': 'true' } });
  });

  it('lets a thing publish only under its own topics, directly or through Basic Ingest', () => {
    const publish = policyDocument().Statement.find((statement) => statement.Action === 'iot:Publish');
    const resources = asArray(publish?.Resource).map((resource) => JSON.stringify(resource));

    // Two for dt/..., then the shipped ingest mappings' own topics (issue 14, asserted below).
    expect(resources).toHaveLength(6);
    expect(resources[0]).toContain(`:topic/dt/*/${THING_NAME_VARIABLE}/*`);
    expect(resources[1]).toContain(`:topic/$aws/rules/${INGEST_RULE.name}_dev/dt/*/${THING_NAME_VARIABLE}/*`);
  });

  // Ingest mappings (issue 14).
  it("lets a thing publish on the mapped prototype topics of its own id only, other levels as '*'", () => {
    const publish = policyDocument().Statement.find((statement) => statement.Action === 'iot:Publish');
    const resources = asArray(publish?.Resource)
      .slice(2)
      .map((resource) => JSON.stringify(resource));

    expect(resources.map((resource) => resource.replace(/^.*:topic\//, '').replace(/"\]\]}$/, ''))).toEqual([
      `cmnd/${THING_NAME_VARIABLE}/*/*/*`,
      `iot/${THING_NAME_VARIABLE}/raw`,
      `iot/${THING_NAME_VARIABLE}/status`,
      `iot/${THING_NAME_VARIABLE}/trends`,
    ]);
  });

  it('creates one thing type per device type of the registry', () => {
    expect(Object.keys(resourcesOf(env.platformTemplate, 'AWS::IoT::ThingType'))).toHaveLength(4);
  });
});

describe('dashboard hosting', () => {
  const distribution = () =>
    Object.values(resourcesOf(env.platformTemplate, 'AWS::CloudFront::Distribution'))[0]?.Properties
      ?.DistributionConfig as {
      Origins: { Id: string; OriginAccessControlId?: unknown; DomainName: unknown }[];
      DefaultCacheBehavior: { TargetOriginId: string };
      CacheBehaviors: {
        PathPattern: string;
        TargetOriginId: string;
        AllowedMethods: string[];
        CachePolicyId: string;
      }[];
    };

  it('reads the bucket through an origin access control that signs every request', () => {
    env.platformTemplate.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        SigningBehavior: 'always',
        OriginAccessControlOriginType: 's3',
      }),
    });
    const config = distribution();
    const s3Origin = config.Origins.find(
      (origin) => origin.Id === config.DefaultCacheBehavior.TargetOriginId,
    );

    expect(s3Origin?.OriginAccessControlId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'],
    });
  });

  it('sends /api/* to the HTTP API, uncached, with every method', () => {
    const config = distribution();
    const api = config.CacheBehaviors.find((behavior) => behavior.PathPattern === '/api/*');
    const origin = config.Origins.find((candidate) => candidate.Id === api?.TargetOriginId);

    expect(JSON.stringify(origin?.DomainName)).toMatch(/ApiHttpApi.*execute-api/);
    expect(api?.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
    expect(api?.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // Managed-CachingDisabled
  });

  it('keeps the site bucket private', () => {
    env.platformTemplate.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('adds security headers to every response', () => {
    env.platformTemplate.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          // The CSP's directives: dashboard-sign-in.test.ts.
          ContentSecurityPolicy: Match.objectLike({ Override: true }),
          FrameOptions: { FrameOption: 'DENY', Override: true },
          StrictTransportSecurity: Match.objectLike({ AccessControlMaxAgeSec: 31_536_000 }),
        }),
      }),
    });
  });
});

describe('HTTP API', () => {
  const routes = () => Object.values(resourcesOf(env.platformTemplate, 'AWS::ApiGatewayV2::Route'));
  const routeFor = (method: string, path: string) =>
    routes().find((route) => route.Properties?.RouteKey === `${method} ${path}`)?.Properties;

  it('creates one route per shared route declaration', () => {
    expect(
      routes()
        .map((route) => route.Properties?.RouteKey)
        .sort(),
    ).toEqual(API_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('requires the API write scope on every write route, so only access tokens pass', () => {
    for (const route of API_ROUTES.filter((candidate) => candidate.write)) {
      expect(routeFor(route.method, route.path)?.AuthorizationScopes).toEqual([API_WRITE_SCOPE]);
    }
  });

  it('declares the write scope on a resource server of the user pool', () => {
    env.platformTemplate.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: API_RESOURCE_SERVER.identifier,
      Scopes: [Match.objectLike({ ScopeName: API_RESOURCE_SERVER.writeScope })],
    });
  });

  it("lets the dashboard's app client request the write scope, which its sign-in asks for", () => {
    const client = Object.values(resourcesOf(env.platformTemplate, 'AWS::Cognito::UserPoolClient'))[0];

    const server = env.platformTemplate.getResourceId('AWS::Cognito::UserPoolResourceServer', {
      Properties: Match.objectLike({ Identifier: API_RESOURCE_SERVER.identifier }),
    });

    expect(client?.Properties?.AllowedOAuthScopes).toContain(API_WRITE_SCOPE);
    expect((client as { DependsOn?: string[] } | undefined)?.DependsOn).toContain(server);
    expect(DASHBOARD_OAUTH_SCOPES).toContain(API_WRITE_SCOPE);
  });

  it('puts the Cognito JWT authorizer on every write route', () => {
    const authorizer = env.platformTemplate.getResourceId('AWS::ApiGatewayV2::Authorizer', {
      Properties: Match.objectLike({ AuthorizerType: 'JWT' }),
    });
    for (const route of API_ROUTES.filter((candidate) => candidate.write)) {
      expect(routeFor(route.method, route.path)).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizer },
      });
    }
  });

  it('leaves reads public', () => {
    for (const route of API_ROUTES.filter((candidate) => !candidate.write)) {
      expect(routeFor(route.method, route.path)?.AuthorizationType ?? 'NONE').toBe('NONE');
    }
  });

  it('throttles and logs the stage', () => {
    env.platformTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: {
        ThrottlingRateLimit: env.config.api.throttleRateLimit,
        ThrottlingBurstLimit: env.config.api.throttleBurstLimit,
      },
      AccessLogSettings: Match.objectLike({
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      }),
    });
  });
});

describe('registry tables', () => {
  const tables = () => resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table');

  for (const [key, declaration] of Object.entries(TABLES) as [string, TableDeclaration][]) {
    it(`declares the ${key} table's keys and indexes as functions/shared/tables.ts does`, () => {
      const table = Object.entries(tables()).find(([logicalId]) =>
        logicalId.startsWith(`Registry${key}`),
      )?.[1]?.Properties;
      const keySchema = (partition: { name: string }, sort?: { name: string }) => [
        { AttributeName: partition.name, KeyType: 'HASH' },
        ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' }] : []),
      ];

      expect(table?.KeySchema).toEqual(keySchema(declaration.partitionKey, declaration.sortKey));
      expect(
        asArray(table?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[]).map(
          (index) => ({
            name: index.IndexName,
            keys: index.KeySchema,
          }),
        ),
      ).toEqual(
        (declaration.globalSecondaryIndexes ?? []).map((index) => ({
          name: index.indexName,
          keys: keySchema(index.partitionKey, index.sortKey),
        })),
      );
      expect(table?.TimeToLiveSpecification).toEqual(
        declaration.timeToLiveAttribute
          ? { AttributeName: declaration.timeToLiveAttribute, Enabled: true }
          : undefined,
      );
    });
  }

  it('turns on point-in-time recovery and encryption for every table', () => {
    for (const table of Object.values(tables())) {
      expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
      expect(table.Properties?.SSESpecification).toEqual({ SSEEnabled: true });
    }
  });
});

describe('stream and time series', () => {
  it('creates an MSK Serverless cluster with IAM authentication only', () => {
    env.statefulTemplate.hasResourceProperties('AWS::MSK::ServerlessCluster', {
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
    });
  });

  it('creates every shared topic with the configured partitions and retention', () => {
    const topics = Object.values(resourcesOf(env.statefulTemplate, 'Custom::KafkaTopics'))[0]?.Properties
      ?.Topics as { Name: string; Partitions: number; RetentionMs: number }[];

    expect(topics.map((topic) => topic.Name)).toEqual(Object.values(TOPICS));
    expect(topics.find((topic) => topic.Name === TOPICS.raw)?.Partitions).toBe(
      env.config.stream.partitions['iot.raw'],
    );
    expect(new Set(topics.map((topic) => topic.RetentionMs))).toEqual(
      new Set([env.config.stream.retentionHours * 3_600_000]),
    );
  });

  it('admits only the MSK IAM port into the cluster security group', () => {
    const ingress = Object.values(resourcesOf(env.statefulTemplate, 'AWS::EC2::SecurityGroupIngress')).map(
      (rule) => rule.Properties,
    );
    const intoCluster = ingress.filter((rule) =>
      JSON.stringify(rule?.GroupId).includes('ClusterSecurityGroup'),
    );

    expect(intoCluster.length).toBe(2);
    for (const rule of intoCluster) {
      expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: MSK_IAM_PORT, ToPort: MSK_IAM_PORT });
    }
  });

  it('has isolated subnets only: no NAT gateway, no internet gateway', () => {
    env.statefulTemplate.resourceCountIs('AWS::EC2::NatGateway', 0);
    env.statefulTemplate.resourceCountIs('AWS::EC2::InternetGateway', 0);
    env.statefulTemplate.resourceCountIs('AWS::EC2::Subnet', 2);
  });
});

describe('functions', () => {
  const projectFunctions = () =>
    [env.statefulTemplate, env.platformTemplate].flatMap((template) =>
      Object.values(resourcesOf(template, 'AWS::Lambda::Function'))
        .map((resource) => resource.Properties ?? {})
        .filter(
          (properties) => properties.Runtime === 'nodejs24.x' && properties.TracingConfig !== undefined,
        ),
    );

  it('sets the Powertools service name and metrics namespace on every project function', () => {
    const functions = projectFunctions();

    // ... the notifier and the no-data evaluator (issue 15), the data-ops function (issue 16) among them.
    expect(functions).toHaveLength(10);
    for (const properties of functions) {
      const variables = (properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.POWERTOOLS_SERVICE_NAME).toEqual(expect.any(String));
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('IotCloud');
    }
  });

  it('runs the writer in the VPC on the DynamoDB sink, its tables named through the shared variables', () => {
    const writer = projectFunctions().find((properties) =>
      String(properties.Description).includes('time-series sink'),
    );
    if (!writer) throw new Error('no time-series writer function');
    const variables = (writer.Environment as { Variables: Record<string, unknown> }).Variables;

    expect(variables[ENV.timeseriesSink]).toBe('dynamodb');
    for (const [key, name] of Object.entries(TIMESERIES_TABLE_NAME_ENV)) {
      expect(variables[name]).toEqual({
        'Fn::ImportValue': expect.stringContaining(`TimeSeriesTables${key}`),
      });
    }
    expect(variables).not.toHaveProperty(ENV.timestreamIngestEndpoint);
    expect(writer.VpcConfig).toBeDefined();
  });

  it('lets the enrich function query the alerts table (alert condition state) and write alerts', () => {
    const onAlerts = policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith('ProcessingEnrichFunction'))
      .map(({ statement }) => statement)
      .filter((statement) => JSON.stringify(statement.Resource).includes('Registryalerts'));

    expect(onAlerts).toHaveLength(1);
    expect(asArray(onAlerts[0]?.Action as string[]).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });

  it('grants DynamoDB actions by name on tables and named indexes only', () => {
    const statements = [...policyStatements(env.statefulTemplate), ...policyStatements(env.platformTemplate)]
      .map(({ statement }) => statement)
      .filter((statement) =>
        asArray(statement.Action as string | string[]).some((action) => action.startsWith('dynamodb:')),
      );

    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(asArray(statement.Action as string[])).not.toContain('dynamodb:*');
      expect(JSON.stringify(statement.Resource)).not.toMatch(/index\/\*/);
    }
  });
});

describe('stateful logical IDs', () => {
  // Renaming any of these replaces the resource and loses its data: this list changes only on purpose.
  const PINNED: Record<string, string> = {
    StreamCluster8AD6DEEE: 'AWS::MSK::ServerlessCluster',
    StreamTopics45851C11: 'Custom::KafkaTopics',
    TimeSeriesTablestimeseriesPointsAC11EDDA: 'AWS::DynamoDB::Table',
    TimeSeriesTablestimeseriesLatest28228EC8: 'AWS::DynamoDB::Table',
    TimeSeriesTablestimeseriesRollups44298482: 'AWS::DynamoDB::Table',
    FailedRecordsDEC8AD7E: 'AWS::S3::Bucket',
    RegistrydeviceTypesF88E320E: 'AWS::DynamoDB::Table',
    NetworkVpc7FB7348F: 'AWS::EC2::VPC',
    Registryapplications0BB7D7EC: 'AWS::DynamoDB::Table',
    Registrydevices3855BE47: 'AWS::DynamoDB::Table',
    Registrymessages009F7260: 'AWS::DynamoDB::Table',
    RegistryalertsE87A0FA5: 'AWS::DynamoDB::Table',
    RegistrypipelineStats462868C2: 'AWS::DynamoDB::Table',
    // Notification channels and deliveries (issue 15).
    Registrynotifications831F546F: 'AWS::DynamoDB::Table',
  };

  it('keeps the logical ID of every stateful resource', () => {
    const resources = env.statefulTemplate.toJSON().Resources as Record<string, { Type: string }>;
    const actual = Object.fromEntries(
      Object.keys(PINNED).map((logicalId) => [logicalId, resources[logicalId]?.Type ?? 'missing']),
    );

    expect(actual).toEqual(PINNED);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing unacknowledged', () => {
    const report = env.nag.validateScope(env.app);

    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe('time-series sink: dynamodb (the default of every environment)', () => {
  const statementsOf = (policyPrefix: string, tableKey: string) =>
    policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith(policyPrefix))
      .map(({ statement }) => statement)
      .filter((statement) => JSON.stringify(statement.Resource).includes(`TimeSeriesTables${tableKey}`));
  const actionsOn = (policyPrefix: string, tableKey: string) =>
    statementsOf(policyPrefix, tableKey).flatMap((statement) => asArray(statement.Action as string[]).sort());

  it('creates no Timestream resource, endpoint, permission, variable or alarm', () => {
    const templates = JSON.stringify([env.statefulTemplate.toJSON(), env.platformTemplate.toJSON()]);

    expect(templates).not.toMatch(/AWS::Timestream::|timestream:|\.timestream\.|TIMESTREAM_/);
    expect(templates).not.toMatch(/TimestreamRejectedRecords|TimestreamMagneticStoreRejections/);
  });

  for (const [key, declaration] of Object.entries(TIMESERIES_TABLES) as [string, TableDeclaration][]) {
    it(`creates the ${key} table on demand with the declared keys and TTL`, () => {
      const [logicalId] = Object.keys(resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table')).filter(
        (id) => id.startsWith(`TimeSeriesTables${key}`),
      );
      const table = resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table')[logicalId ?? '']?.Properties;

      expect(table?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table?.KeySchema).toEqual([
        { AttributeName: declaration.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: declaration.sortKey?.name, KeyType: 'RANGE' },
      ]);
      expect(table?.TimeToLiveSpecification).toEqual(
        declaration.timeToLiveAttribute
          ? { AttributeName: declaration.timeToLiveAttribute, Enabled: true }
          : undefined,
      );
    });
  }

  it('lets the writer update points and latest values and invalidate rollups, nothing more', () => {
    const writer = 'ProcessingTimeseriesWriterFunction';

    // Reads for a replay's rewrite (issue 16): the items it replaces and the device's latest items.
    expect(actionsOn(writer, 'timeseriesPoints')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOn(writer, 'timeseriesLatest')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOn(writer, 'timeseriesRollups')).toEqual(['dynamodb:UpdateItem']);
  });

  it('lets the API query the three tables only', () => {
    for (const key of Object.keys(TIMESERIES_TABLES)) {
      expect(actionsOn('ApiHandlerFunction', key)).toEqual(['dynamodb:Query']);
    }
  });

  it('names the tables and the sink in the API environment', () => {
    const variables = functionVariables(env.platformTemplate, /^HTTP API/);

    expect(variables[ENV.timeseriesSink]).toBe('dynamodb');
    expect(Object.keys(variables)).toEqual(expect.arrayContaining(Object.values(TIMESERIES_TABLE_NAME_ENV)));
  });

  it('lets the rollup query points, scan devices and write rollups only', () => {
    const rollup = 'TimeSeriesRollupHandlerFunction';
    const onDevices = policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith(rollup))
      .map(({ statement }) => statement)
      .filter((statement) => JSON.stringify(statement.Resource).includes('Registrydevices'));

    expect(actionsOn(rollup, 'timeseriesPoints')).toEqual(['dynamodb:Query']);
    expect(actionsOn(rollup, 'timeseriesRollups')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect(actionsOn(rollup, 'timeseriesLatest')).toEqual([]);
    expect(onDevices.flatMap((statement) => asArray(statement.Action as string[])).sort()).toEqual([
      'dynamodb:Scan',
    ]);
  });

  it('runs the rollup hourly, a few minutes past the hour', () => {
    const rollupFunction = env.platformTemplate.getResourceId('AWS::Lambda::Function', {
      Properties: Match.objectLike({ Description: Match.stringLikeRegexp('^Hourly rollups') }),
    });
    env.platformTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `cron(${ROLLUP_MINUTE_PAST_HOUR} * * * ? *)`,
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [rollupFunction, 'Arn'] } })],
    });
    expect(ROLLUP_MINUTE_PAST_HOUR).toBeGreaterThan(0);
  });

  it('gives the rollup its tables through the shared variables', () => {
    const variables = functionVariables(env.platformTemplate, /^Hourly rollups/);

    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([
        TIMESERIES_TABLE_NAME_ENV.timeseriesPoints,
        TIMESERIES_TABLE_NAME_ENV.timeseriesRollups,
        TABLE_NAME_ENV.devices,
      ]),
    );
  });
});

describe('stream: deploy path without the MSK API endpoint', () => {
  const lookup = () =>
    Object.values(resourcesOf(env.statefulTemplate, 'Custom::KafkaBootstrapBrokers'))[0]?.Properties ?? {};
  const lookupId = () => Object.keys(resourcesOf(env.statefulTemplate, 'Custom::KafkaBootstrapBrokers'))[0];

  it('creates no interface endpoint at all, in particular not com.amazonaws.<region>.kafka', () => {
    env.statefulTemplate.resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Interface' },
      0,
    );
    expect(JSON.stringify(env.statefulTemplate.toJSON())).not.toMatch(/\.kafka"/);
  });

  it('keeps the DynamoDB and S3 gateway endpoints', () => {
    env.statefulTemplate.resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Gateway' },
      2,
    );
    expect(JSON.stringify(resourcesOf(env.statefulTemplate, 'AWS::EC2::VPCEndpoint'))).toContain('.dynamodb');
  });

  it('reads the IAM bootstrap brokers with GetBootstrapBrokers on the cluster, outside the VPC', () => {
    const call = JSON.stringify(lookup().Create);

    expect(call).toContain('\\"service\\":\\"Kafka\\"');
    expect(call).toContain('\\"action\\":\\"GetBootstrapBrokers\\"');
    expect(call).toContain('StreamCluster');
    expect(call).toContain('BootstrapBrokerStringSaslIam');
    expect(JSON.stringify(lookup().Update)).toContain('GetBootstrapBrokers');
  });

  it('allows the lookup kafka:GetBootstrapBrokers on the cluster ARN only', () => {
    const statements = policyStatements(env.statefulTemplate)
      .map(({ statement }) => statement)
      .filter((statement) => asArray(statement.Action as string[]).includes('kafka:GetBootstrapBrokers'));

    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'kafka:GetBootstrapBrokers',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StreamCluster/), 'Arn'] },
      }),
    ]);
  });

  it('passes the looked-up brokers to the topics resource', () => {
    const topics = Object.values(resourcesOf(env.statefulTemplate, 'Custom::KafkaTopics'))[0]?.Properties;

    expect(topics?.BootstrapBrokers).toEqual({
      'Fn::GetAtt': [lookupId(), 'BootstrapBrokerStringSaslIam'],
    });
  });

  it('creates every topic with the explicit MSK Serverless replication factor', () => {
    const topics = Object.values(resourcesOf(env.statefulTemplate, 'Custom::KafkaTopics'))[0]?.Properties
      ?.Topics as { ReplicationFactor: number }[];

    expect(topics.map((topic) => topic.ReplicationFactor)).toEqual(
      Object.values(TOPICS).map(() => MSK_SERVERLESS_REPLICATION_FACTOR),
    );
  });

  it('creates the topics only after the security-group rules between the client group and the cluster', () => {
    const topics = Object.values(env.statefulTemplate.findResources('Custom::KafkaTopics'))[0] as {
      DependsOn?: string[];
    };
    const ingress = logicalIdsWith(
      env.statefulTemplate,
      'AWS::EC2::SecurityGroupIngress',
      'KafkaClientSecurityGroup',
    );
    const egress = logicalIdsWith(
      env.statefulTemplate,
      'AWS::EC2::SecurityGroupEgress',
      'ClusterSecurityGroup',
    );

    expect(ingress.length).toBeGreaterThan(0);
    expect(egress.length).toBeGreaterThan(0);
    expect(topics.DependsOn).toEqual(expect.arrayContaining([...ingress, ...egress]));
  });

  it('publishes the cluster ARN and the brokers as SSM parameters', () => {
    const names = streamParameterNames('dev');
    env.statefulTemplate.hasResourceProperties('AWS::SSM::Parameter', {
      Name: names.clusterArn,
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StreamCluster'), 'Arn'] },
    });
    env.statefulTemplate.hasResourceProperties('AWS::SSM::Parameter', {
      Name: names.bootstrapBrokers,
      Value: { 'Fn::GetAtt': [lookupId(), 'BootstrapBrokerStringSaslIam'] },
    });
  });

  it('has the Platform stack read the stream from SSM at deploy time', () => {
    const parameters = Object.values(env.platformTemplate.toJSON().Parameters ?? {}) as {
      Type: string;
      Default: string;
    }[];
    const names = streamParameterNames('dev');

    expect(parameters).toEqual(
      expect.arrayContaining([
        { Type: 'AWS::SSM::Parameter::Value<String>', Default: names.clusterArn },
        { Type: 'AWS::SSM::Parameter::Value<String>', Default: names.bootstrapBrokers },
      ]),
    );
  });

  it('imports no value derived from the cluster into the Platform stack (no strong export of it)', () => {
    const imports = [
      ...new Set(JSON.stringify(env.platformTemplate.toJSON()).match(/"Fn::ImportValue":"[^"]+"/g) ?? []),
    ];

    expect(imports.length).toBeGreaterThan(0);
    // The alerts table's DynamoDB stream (the notifier's source, issue 15) is no Kafka stream.
    const kafka = imports.filter((imported) => !/Registryalerts\w*StreamArn/.test(imported));
    for (const imported of kafka) expect(imported).not.toMatch(/Stream|Cluster|Broker|Topics/);
  });

  it('points the mappings and producers at the SSM-resolved cluster and brokers', () => {
    const clusterParameter = Object.entries(env.platformTemplate.toJSON().Parameters ?? {}).find(
      ([, parameter]) =>
        (parameter as { Default?: string }).Default === streamParameterNames('dev').clusterArn,
    )?.[0];

    expect(mappingOf(TOPICS.raw).EventSourceArn).toEqual({ Ref: clusterParameter });
  });
});

// ----- notifications (issue 15) ------------------------------------------------------------------
describe('notifications', () => {
  const notifierId = () => {
    const [id] = logicalIdsWith(env.platformTemplate, 'AWS::Lambda::Function', 'notification channels');
    if (!id) throw new Error('no notifier function');
    return id;
  };
  const streamMapping = () => {
    const mapping = Object.values(resourcesOf(env.platformTemplate, 'AWS::Lambda::EventSourceMapping'))
      .map((resource) => resource.Properties ?? {})
      .find((properties) => JSON.stringify(properties.FunctionName).includes(notifierId()));
    if (!mapping) throw new Error('no event source mapping for the notifier');
    return mapping;
  };
  const notifierStatements = () =>
    policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith('NotificationsHandler'))
      .map(({ statement }) => statement);

  it('streams new images of the alerts table', () => {
    env.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLES.alerts.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLES.alerts.sortKey.name, KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
  });

  it('runs the notifier outside the VPC, so it reaches receivers on the internet', () => {
    const notifier = resourcesOf(env.platformTemplate, 'AWS::Lambda::Function')[notifierId()];

    expect(notifier?.Properties?.VpcConfig).toBeUndefined();
  });

  it('invokes the notifier for INSERTs of alert items only', () => {
    const patterns = (streamMapping().FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) =>
      JSON.parse(f.Pattern),
    );

    expect(patterns).toEqual([
      {
        eventName: ['INSERT'],
        dynamodb: { NewImage: { alertId: { S: [{ exists: true }] }, body: { S: [{ exists: true }] } } },
      },
    ]);
  });

  it('retries a failing batch a bounded number of times, bisecting, then sends it to the failure queue', () => {
    const mapping = streamMapping();

    expect(mapping).toMatchObject({
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      BatchSize: 10,
      StartingPosition: 'LATEST',
    });
    expect(JSON.stringify(mapping.DestinationConfig)).toMatch(/NotificationsFailureQueue/);
  });

  it('gives the notifier the table, the topic and its key, with exact actions and no wildcard', () => {
    const statements = notifierStatements();
    const actions = statements.flatMap((s) => asArray(s.Action as string | string[]));

    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:Query',
        'dynamodb:PutItem',
        'sns:Publish',
        'kms:GenerateDataKey',
        'kms:Decrypt',
      ]),
    );
    expect(actions.filter((action) => action.endsWith('*') && !action.startsWith('xray:'))).toEqual([]);
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions).not.toContain('dynamodb:DeleteItem');
  });

  it('owns an encrypted topic that refuses plain-text publishing', () => {
    env.platformTemplate.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'IoT Cloud alert notifications',
      KmsMasterKeyId: Match.anyValue(),
    });
    env.platformTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
  });

  it('passes the table and the topic to the notifier through the shared variable names', () => {
    const variables = functionVariables(env.platformTemplate, /notification channels/);

    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([TABLE_NAME_ENV.notifications, ENV.notificationTopicArn]),
    );
  });
});
