import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreateThingCommand,
  DescribeEndpointCommand,
  IoTClient,
  ResourceAlreadyExistsException,
  ThrottlingException,
} from '@aws-sdk/client-iot';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildPolicyDocument,
  DEFAULT_OUTPUT_DIR,
  type Manifest,
  ProvisionError,
  type ProvisionOptions,
  provisionDevices,
} from './provision.js';
import { main, parseProvisionArgs, UsageError } from './provision-cli.js';

const iot = mockClient(IoTClient);
const ENDPOINT = 'a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com';
const THING = `\${iot:Connection.Thing.ThingName}`;

let dir: string;
let certificates: number;

const newClient = () =>
  new IoTClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

const certificate = (n: number) => ({
  certificateArn: `arn:aws:iot:eu-west-1:123456789012:cert/cert${n}`,
  certificateId: `cert${n}`,
  certificatePem: `-----BEGIN CERTIFICATE-----\nCERT-${n}\n-----END CERTIFICATE-----\n`,
  keyPair: {
    PublicKey: `-----BEGIN PUBLIC KEY-----\nPUB-${n}\n-----END PUBLIC KEY-----\n`,
    PrivateKey: `-----BEGIN RSA PRIVATE KEY-----\nSECRET-${n}\n-----END RSA PRIVATE KEY-----\n`,
  },
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provision-test-'));
  certificates = 0;
  iot.reset();
  iot.on(CreatePolicyCommand).resolves({ policyName: 'x' });
  iot.on(DescribeEndpointCommand).resolves({ endpointAddress: ENDPOINT });
  iot.on(CreateThingCommand).callsFake((input: { thingName: string }) => ({ thingName: input.thingName }));
  iot.on(CreateKeysAndCertificateCommand).callsFake(() => certificate(++certificates));
  iot.on(AttachPolicyCommand).resolves({});
  iot.on(AttachThingPrincipalCommand).resolves({});
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const provision = (options: Partial<ProvisionOptions> = {}) =>
  provisionDevices({
    client: newClient(),
    count: 3,
    deviceType: 'smart_breaker',
    outputDir: join(dir, 'credentials'),
    concurrency: 1,
    ...options,
  });

const readManifest = async (): Promise<Manifest> =>
  JSON.parse(await readFile(join(dir, 'credentials', 'devices.json'), 'utf8')) as Manifest;

const inputs = <T>(calls: { args: [{ input: T }] }[]): T[] => calls.map((call) => call.args[0].input);

describe('provisionDevices', () => {
  it('creates a least-privilege policy: connect as your own thing, publish to your own topics only', async () => {
    await provision();
    const [policy, ...more] = inputs(iot.commandCalls(CreatePolicyCommand));
    expect(more).toEqual([]);
    expect(policy?.policyName).toBe('iotcloud-device-smart_breaker');
    expect(policy?.policyDocument).toBe(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iot:Connect',
            Resource: `arn:aws:iot:eu-west-1:*:client/${THING}`,
          },
          {
            Effect: 'Allow',
            Action: 'iot:Publish',
            Resource: `arn:aws:iot:eu-west-1:*:topic/dt/smart_breaker/${THING}/*`,
          },
        ],
      }),
    );
    const document = JSON.parse(policy?.policyDocument ?? '{}') as { Statement: { Action: string }[] };
    expect(document.Statement.map((statement) => statement.Action)).toEqual(['iot:Connect', 'iot:Publish']);
  });

  it('uses the region given, and the partition that goes with it', () => {
    expect(buildPolicyDocument('smart_meter', 'us-east-1')).toContain(
      `"arn:aws:iot:us-east-1:*:topic/dt/smart_meter/${THING}/*"`,
    );
    expect(buildPolicyDocument('smart_meter', 'cn-north-1')).toContain(
      '"arn:aws-cn:iot:cn-north-1:*:client/',
    );
    expect(buildPolicyDocument('smart_meter')).toContain('"arn:aws:iot:*:*:client/');
    expect(() => buildPolicyDocument('smart meter/#')).toThrow(RangeError);
  });

  it('creates a thing, an active certificate and both attachments per device, and the endpoint once', async () => {
    const result = await provision();
    expect(result.created).toEqual(['breaker-00001', 'breaker-00002', 'breaker-00003']);
    expect(result.skipped).toEqual([]);
    expect(result.endpoint).toBe(ENDPOINT);
    expect(result.policyCreated).toBe(true);

    expect(inputs(iot.commandCalls(DescribeEndpointCommand))).toEqual([{ endpointType: 'iot:Data-ATS' }]);
    expect(inputs(iot.commandCalls(CreateThingCommand))).toEqual(
      result.created.map((thingName) => ({
        thingName,
        attributePayload: { attributes: { deviceType: 'smart_breaker' } },
      })),
    );
    expect(inputs(iot.commandCalls(CreateKeysAndCertificateCommand))).toEqual([
      { setAsActive: true },
      { setAsActive: true },
      { setAsActive: true },
    ]);
    expect(inputs(iot.commandCalls(AttachPolicyCommand))).toEqual(
      [1, 2, 3].map((n) => ({
        policyName: 'iotcloud-device-smart_breaker',
        target: certificate(n).certificateArn,
      })),
    );
    expect(inputs(iot.commandCalls(AttachThingPrincipalCommand))).toEqual(
      [1, 2, 3].map((n) => ({ thingName: `breaker-0000${n}`, principal: certificate(n).certificateArn })),
    );
  });

  it('pairs each thing with its own certificate when provisioning in parallel', async () => {
    await provision({ count: 20, concurrency: 5 });
    const attached = inputs(iot.commandCalls(AttachThingPrincipalCommand));
    expect(new Set(attached.map((input) => input.principal)).size).toBe(20);
    for (const { thingName, principal } of attached) {
      const id = String(principal).split('/').pop() as string;
      const pem = await readFile(join(dir, 'credentials', String(thingName), 'certificate.pem.crt'), 'utf8');
      expect(pem).toContain(`CERT-${id.replace('cert', '')}`);
    }
  });

  it('writes the certificate, the private key (mode 0600) and a manifest without key material', async () => {
    const result = await provision();
    const out = join(dir, 'credentials');
    expect(result.outputDir).toBe(out);
    expect(result.manifestPath).toBe(join(out, 'devices.json'));
    expect((await readdir(out)).sort()).toEqual([
      'breaker-00001',
      'breaker-00002',
      'breaker-00003',
      'devices.json',
    ]);
    for (const [i, id] of result.created.entries()) {
      const n = i + 1;
      expect(await readFile(join(out, id, 'certificate.pem.crt'), 'utf8')).toBe(
        certificate(n).certificatePem,
      );
      const keyPath = join(out, id, 'private.pem.key');
      expect(await readFile(keyPath, 'utf8')).toBe(certificate(n).keyPair.PrivateKey);
      expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
      expect((await stat(join(out, id))).mode & 0o077).toBe(0);
    }

    const text = await readFile(join(out, 'devices.json'), 'utf8');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('SECRET-');
    const manifest = JSON.parse(text) as Manifest;
    expect(manifest.endpoint).toBe(ENDPOINT);
    expect(manifest.region).toBe('eu-west-1');
    expect(manifest.devices).toEqual(
      result.created.map((deviceId, i) => ({
        deviceId,
        deviceType: 'smart_breaker',
        thingName: deviceId,
        endpoint: ENDPOINT,
        policyName: 'iotcloud-device-smart_breaker',
        certificatePath: join(deviceId, 'certificate.pem.crt'),
        privateKeyPath: join(deviceId, 'private.pem.key'),
        certificateArn: certificate(i + 1).certificateArn,
      })),
    );
  });

  it('skips devices that already have a folder on a re-run', async () => {
    await provision();
    const firstKey = await readFile(join(dir, 'credentials', 'breaker-00002', 'private.pem.key'), 'utf8');
    iot.resetHistory();

    const again = await provision({ count: 5 });
    expect(again.skipped).toEqual(['breaker-00001', 'breaker-00002', 'breaker-00003']);
    expect(again.created).toEqual(['breaker-00004', 'breaker-00005']);
    expect(inputs(iot.commandCalls(CreateThingCommand)).map((input) => input.thingName)).toEqual([
      'breaker-00004',
      'breaker-00005',
    ]);
    expect(iot.commandCalls(CreateKeysAndCertificateCommand)).toHaveLength(2);
    expect(await readFile(join(dir, 'credentials', 'breaker-00002', 'private.pem.key'), 'utf8')).toBe(
      firstKey,
    );

    const manifest = await readManifest();
    expect(manifest.devices.map((device) => device.deviceId)).toEqual([
      'breaker-00001',
      'breaker-00002',
      'breaker-00003',
      'breaker-00004',
      'breaker-00005',
    ]);
    // Entries of earlier runs keep what they recorded.
    expect(manifest.devices[1]?.certificateArn).toBe(certificate(2).certificateArn);

    iot.resetHistory();
    const third = await provision({ count: 5 });
    expect(third.created).toEqual([]);
    expect(iot.commandCalls(CreateThingCommand)).toHaveLength(0);
  });

  it('keeps other types in the manifest, with their own policy', async () => {
    await provision({ count: 1 });
    await provision({ count: 2, deviceType: 'smart_meter' });
    const manifest = await readManifest();
    expect(manifest.devices.map((device) => [device.deviceId, device.deviceType, device.policyName])).toEqual(
      [
        ['breaker-00001', 'smart_breaker', 'iotcloud-device-smart_breaker'],
        ['meter-00001', 'smart_meter', 'iotcloud-device-smart_meter'],
        ['meter-00002', 'smart_meter', 'iotcloud-device-smart_meter'],
      ],
    );
  });

  it('accepts a prefix, a policy name and a region', async () => {
    const result = await provision({
      count: 1,
      idPrefix: 'lab-sb',
      policyName: 'lab-policy',
      region: 'us-east-1',
    });
    expect(result.created).toEqual(['lab-sb-00001']);
    expect(inputs(iot.commandCalls(CreatePolicyCommand))[0]).toEqual({
      policyName: 'lab-policy',
      policyDocument: buildPolicyDocument('smart_breaker', 'us-east-1'),
    });
    expect(inputs(iot.commandCalls(AttachPolicyCommand))[0]?.policyName).toBe('lab-policy');
  });

  it('tolerates a policy that already exists', async () => {
    iot
      .on(CreatePolicyCommand)
      .rejects(
        new ResourceAlreadyExistsException({ message: 'policy exists', $metadata: {}, resourceId: 'p' }),
      );
    const result = await provision();
    expect(result.policyCreated).toBe(false);
    expect(result.created).toHaveLength(3);
    expect(iot.commandCalls(AttachPolicyCommand)).toHaveLength(3);
  });

  it('reports any other CreatePolicy failure and provisions nothing', async () => {
    iot.on(CreatePolicyCommand).rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    const error = await provision().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).call).toBe('CreatePolicy');
    expect((error as Error).message).toMatch(
      /CreatePolicy "iotcloud-device-smart_breaker" failed: .*slow down/,
    );
    expect(iot.commandCalls(CreateThingCommand)).toHaveLength(0);
  });

  it('reports a failing CreateKeysAndCertificate with the device id, keeping what was done', async () => {
    let calls = 0;
    iot.on(CreateKeysAndCertificateCommand).callsFake(() => {
      calls++;
      if (calls === 2) throw new ThrottlingException({ message: 'Rate exceeded', $metadata: {} });
      return certificate(++certificates);
    });
    const error = await provision().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).deviceId).toBe('breaker-00002');
    expect((error as ProvisionError).call).toBe('CreateKeysAndCertificate');
    expect((error as Error).message).toBe(
      'device "breaker-00002": CreateKeysAndCertificate failed: ThrottlingException: Rate exceeded',
    );

    // Device 1 is complete and recorded; device 2 left nothing behind; device 3 was not started.
    expect((await readdir(join(dir, 'credentials'))).sort()).toEqual(['breaker-00001', 'devices.json']);
    expect((await readManifest()).devices.map((device) => device.deviceId)).toEqual(['breaker-00001']);
    expect(inputs(iot.commandCalls(CreateThingCommand)).map((input) => input.thingName)).toEqual([
      'breaker-00001',
      'breaker-00002',
    ]);

    // A re-run picks up where it stopped.
    const again = await provision();
    expect(again.skipped).toEqual(['breaker-00001']);
    expect(again.created).toEqual(['breaker-00002', 'breaker-00003']);
  });

  it('names the orphaned certificate when an attachment fails', async () => {
    iot.on(AttachThingPrincipalCommand).rejects(new Error('thing is gone'));
    const error = await provision({ count: 1 }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      'device "breaker-00001": AttachThingPrincipal failed: thing is gone (certificate cert1 was created but not fully attached: deactivate and delete it)',
    );
    expect(await readdir(join(dir, 'credentials'))).toEqual(['devices.json']);
  });

  it('rejects bad options before calling AWS', async () => {
    await expect(provision({ count: 0 })).rejects.toThrow(/count must be an integer from 1 to 10000/);
    await expect(provision({ count: 10_001 })).rejects.toThrow(RangeError);
    await expect(provision({ count: 1.5 })).rejects.toThrow(RangeError);
    await expect(provision({ deviceType: 'Smart Breaker' })).rejects.toThrow(/device type "Smart Breaker"/);
    await expect(provision({ idPrefix: 'has.dot' })).rejects.toThrow(/id prefix "has.dot"/);
    await expect(provision({ policyName: 'bad policy' })).rejects.toThrow(/policy name/);
    expect(iot.calls()).toHaveLength(0);
  });

  it('defaults to a git-ignored credentials folder', async () => {
    expect(DEFAULT_OUTPUT_DIR).toBe('.iotcloud/credentials');
    const gitignore = await readFile(new URL('../.gitignore', import.meta.url), 'utf8');
    expect(gitignore.split('\n').map((line) => line.trim())).toContain('.iotcloud/');
  });
});

describe('provision CLI', () => {
  it('reads the options', () => {
    expect(parseProvisionArgs(['--count', '25', '--type', 'smart_meter'])).toEqual({
      count: 25,
      deviceType: 'smart_meter',
      outputDir: '.iotcloud/credentials',
    });
    expect(
      parseProvisionArgs([
        '--count=1',
        '--type=f2_access_controller',
        '--prefix',
        'door',
        '--out',
        '/tmp/creds',
        '--region',
        'eu-central-1',
        '--policy',
        'doors',
      ]),
    ).toEqual({
      count: 1,
      deviceType: 'f2_access_controller',
      idPrefix: 'door',
      outputDir: '/tmp/creds',
      region: 'eu-central-1',
      policyName: 'doors',
    });
    expect(parseProvisionArgs(['--help'])).toBeUndefined();
  });

  it.each([
    [['--type', 'smart_meter'], '--count is required'],
    [
      ['--count', 'ten', '--type', 'smart_meter'],
      '--count must be a whole number from 1 to 10000, got "ten"',
    ],
    [['--count', '0', '--type', 'smart_meter'], 'got "0"'],
    [['--count', '10001', '--type', 'smart_meter'], 'got "10001"'],
    [['--count', '2.5', '--type', 'smart_meter'], 'got "2.5"'],
    [['--count', '5'], '--type is required: one of smart_breaker, smart_meter'],
    [
      ['--count', '5', '--type', 'toaster'],
      'unknown device type "toaster": use one of smart_breaker, smart_meter, environmental_sensor, f2_access_controller',
    ],
    [['--count', '5', '--type', 'smart_meter', '--colour', 'red'], "Unknown option '--colour'"],
    [['--count', '5', '--type', 'smart_meter', '--prefix', ''], '--prefix must not be empty'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseProvisionArgs(argv)).toThrow(UsageError);
    expect(() => parseProvisionArgs(argv)).toThrow(message);
  });

  it('provisions and prints a summary', async () => {
    const lines: string[] = [];
    const out = join(dir, 'cli');
    const code = await main(['--count', '2', '--type', 'smart_breaker', '--out', out], {
      createClient: newClient,
      log: (line) => lines.push(line),
      error: (line) => lines.push(`ERR ${line}`),
    });
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain(`endpoint:  ${ENDPOINT} (eu-west-1)`);
    expect(text).toContain('policy:    iotcloud-device-smart_breaker (created)');
    expect(text).toContain('devices:   2 created, 0 skipped');
    expect(text).toContain(join(out, 'devices.json'));
    expect(text).not.toContain('ERR');
    expect((await readdir(out)).sort()).toEqual(['breaker-00001', 'breaker-00002', 'devices.json']);
  });

  it('exits 2 on bad arguments and 1 on AWS failures, saying why', async () => {
    const errors: string[] = [];
    const deps = { createClient: newClient, log: () => {}, error: (line: string) => errors.push(line) };
    expect(await main(['--count', '5', '--type', 'toaster'], deps)).toBe(2);
    expect(errors.join('\n')).toContain('unknown device type "toaster"');

    errors.length = 0;
    iot.on(CreateThingCommand).rejects(new Error('AccessDenied'));
    expect(await main(['--count', '1', '--type', 'smart_meter', '--out', join(dir, 'x')], deps)).toBe(1);
    expect(errors.join('\n')).toContain('device "meter-00001": CreateThing failed: AccessDenied');
  });
});
