/** The entries read their configuration at import (cold start) and fail naming what is wrong. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LAMBDA_ENV } from './test-support.js';

const ENTRIES = {
  'ingest-bridge': {
    load: () => import('./ingest-bridge.js'),
    required: ['AWS_REGION', 'KAFKA_BOOTSTRAP_BROKERS', 'PIPELINE_STATS_TABLE'],
  },
  enrich: {
    load: () => import('./enrich.js'),
    required: [
      'AWS_REGION',
      'KAFKA_BOOTSTRAP_BROKERS',
      'DEVICE_TYPES_TABLE',
      'APPLICATIONS_TABLE',
      'DEVICES_TABLE',
      'MESSAGES_TABLE',
      'ALERTS_TABLE',
      'PIPELINE_STATS_TABLE',
      'PLATFORM_VERSION',
    ],
  },
  'timeseries-writer': {
    load: () => import('./timeseries-writer.js'),
    required: [
      'AWS_REGION',
      'TIMESERIES_SINK',
      'TIMESTREAM_DATABASE',
      'TIMESTREAM_TABLE',
      'DEVICE_TYPES_TABLE',
      'PIPELINE_STATS_TABLE',
    ],
  },
  'timeseries-rollup': {
    load: () => import('./timeseries-rollup.js'),
    required: ['AWS_REGION', 'TIMESERIES_POINTS_TABLE', 'TIMESERIES_ROLLUPS_TABLE', 'DEVICES_TABLE'],
  },
  'seed-registry-resource': {
    load: () => import('./seed-registry-resource.js'),
    required: ['AWS_REGION', 'DEVICE_TYPES_TABLE', 'APPLICATIONS_TABLE'],
  },
  'stream-topics-resource': {
    load: () => import('./stream-topics-resource.js'),
    required: ['AWS_REGION'],
  },
  // Notifications (issue 15).
  notifier: {
    load: () => import('./notifier.js'),
    required: ['AWS_REGION', 'NOTIFICATIONS_TABLE', 'NOTIFICATION_TOPIC_ARN'],
  },
  // No-data evaluator (issue 15): the registry, devices and alerts tables, nothing of the time-series sink.
  'no-data': {
    load: () => import('./no-data.js'),
    required: ['AWS_REGION', 'DEVICE_TYPES_TABLE', 'APPLICATIONS_TABLE', 'DEVICES_TABLE', 'ALERTS_TABLE'],
  },
  // Data operations (issue 16).
  'data-ops': {
    load: () => import('./data-ops.js'),
    required: ['AWS_REGION', 'OPERATIONS_TABLE', 'FAILED_RECORDS_BUCKET', 'KAFKA_BOOTSTRAP_BROKERS'],
  },
} as const;

function stubEnvironment(without?: string, overrides: Record<string, string> = {}) {
  vi.resetModules();
  for (const [name, value] of Object.entries({ ...LAMBDA_ENV, ...overrides })) vi.stubEnv(name, value);
  if (without) vi.stubEnv(without, '');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Lambda entries at cold start', () => {
  for (const [name, entry] of Object.entries(ENTRIES)) {
    it(`${name} loads with the stack's environment and exports handler`, async () => {
      stubEnvironment();

      const module = await entry.load();

      expect(typeof module.handler).toBe('function');
    });

    for (const variable of entry.required) {
      it(`${name} fails naming ${variable} when it is missing`, async () => {
        stubEnvironment(variable);

        await expect(entry.load()).rejects.toThrow(new RegExp(`${variable} is not set`));
      });
    }
  }

  it('timeseries-writer loads without KAFKA_BOOTSTRAP_BROKERS (outside the VPC, no dead-letter producer)', async () => {
    stubEnvironment('KAFKA_BOOTSTRAP_BROKERS');

    const module = await import('./timeseries-writer.js');

    expect(typeof module.handler).toBe('function');
  });

  it('timeseries-writer rejects a Timestream ingest endpoint that is not an https origin', async () => {
    stubEnvironment(undefined, {
      TIMESTREAM_INGEST_ENDPOINT: 'http://ingest-cell1.timestream.eu-west-1.amazonaws.com',
    });

    await expect(import('./timeseries-writer.js')).rejects.toThrow(
      /TIMESTREAM_INGEST_ENDPOINT must be an https URL/,
    );
  });

  describe('with the dynamodb time-series sink', () => {
    const TIMESTREAM_ONLY = ['TIMESTREAM_DATABASE', 'TIMESTREAM_TABLE', 'TIMESTREAM_INGEST_ENDPOINT'];

    for (const entry of ['timeseries-writer', 'api'] as const) {
      const load = () => (entry === 'api' ? import('./api.js') : import('./timeseries-writer.js'));

      it(`${entry} loads without any Timestream variable`, async () => {
        stubEnvironment(undefined, { TIMESERIES_SINK: 'dynamodb' });
        for (const name of TIMESTREAM_ONLY) vi.stubEnv(name, '');
        if (entry === 'timeseries-writer') vi.stubEnv('DEVICE_TYPES_TABLE', '');

        const module = await load();

        expect(typeof module.handler).toBe('function');
      });

      for (const variable of [
        'TIMESERIES_POINTS_TABLE',
        'TIMESERIES_LATEST_TABLE',
        'TIMESERIES_ROLLUPS_TABLE',
      ]) {
        it(`${entry} fails naming ${variable} when it is missing`, async () => {
          stubEnvironment(variable, { TIMESERIES_SINK: 'dynamodb' });

          await expect(load()).rejects.toThrow(new RegExp(`${variable} is not set`));
        });
      }
    }

    it('refuses a sink that is not one of the declared ones, naming the variable', async () => {
      stubEnvironment(undefined, { TIMESERIES_SINK: 'influxdb' });

      await expect(import('./timeseries-writer.js')).rejects.toThrow(
        /TIMESERIES_SINK must be one of dynamodb, timestream, got "influxdb"/,
      );
    });
  });

  it('rejects a malformed broker list, naming the variable and the broker', async () => {
    stubEnvironment(undefined, { KAFKA_BOOTSTRAP_BROKERS: 'b-1.example:9098,not a broker' });

    await expect(import('./enrich.js')).rejects.toThrow(
      /KAFKA_BOOTSTRAP_BROKERS: invalid Kafka bootstrap broker "not a broker"/,
    );
  });

  it('rejects a registry refresh period that is not a whole number of seconds', async () => {
    stubEnvironment(undefined, { REGISTRY_REFRESH_SECONDS: '1.5' });

    await expect(import('./enrich.js')).rejects.toThrow(
      /REGISTRY_REFRESH_SECONDS must be a whole number of seconds/,
    );
  });
});
