/**
 * `npm run provision` end to end against moto's IoT API: the real command line, the real SDK client
 * (pointed at moto with AWS_ENDPOINT_URL, the SDK's documented endpoint setting), what it created read
 * back through the IoT API, and the credentials folder it wrote.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeCertificateCommand,
  DescribeThingCommand,
  GetPolicyCommand,
  IoTClient,
  ListAttachedPoliciesCommand,
  ListCertificatesCommand,
  ListThingPrincipalsCommand,
  ListThingsCommand,
} from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildPolicyDocument, type Manifest } from '../simulator/provision.js';
import { REPO_ROOT } from './kafka/broker.js';

const endpoint = inject('awsEndpoint');
const REGION = 'eu-west-1';
// Dummy credentials: moto accepts any; nothing leaves 127.0.0.1.
const AWS_ENV = {
  AWS_ENDPOINT_URL: endpoint,
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_EC2_METADATA_DISABLED: 'true',
};

let iot: IoTClient;
let workDir: string;

beforeAll(() => {
  iot = new IoTClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  workDir = mkdtempSync(join(tmpdir(), 'iot-cloud-provision-'));
});

afterAll(() => {
  iot?.destroy();
  rmSync(workDir, { recursive: true, force: true });
});

/** Runs `npm run provision -- ...args` in the repo; resolves to its exit code and output. */
function provision(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'provision', '--', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...AWS_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function thingsWithPrefix(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new ListThingsCommand({ nextToken }));
    for (const thing of page.things ?? [])
      if (thing.thingName?.startsWith(`${prefix}-`)) names.push(thing.thingName);
    nextToken = page.nextToken;
  } while (nextToken);
  return names.sort();
}

async function certificateCount(): Promise<number> {
  let count = 0;
  let marker: string | undefined;
  do {
    const page = await iot.send(new ListCertificatesCommand({ marker }));
    count += page.certificates?.length ?? 0;
    marker = page.nextMarker;
  } while (marker);
  return count;
}

describe('npm run provision on moto', () => {
  const prefix = `it${process.pid}`;
  const policy = `iotcloud-it-${process.pid}`;
  const out = () => join(workDir, 'credentials');
  const args = () => [
    '--count',
    '3',
    '--type',
    'smart_meter',
    '--prefix',
    prefix,
    '--policy',
    policy,
    '--out',
    out(),
  ];
  const ids = [1, 2, 3].map((n) => `${prefix}-${String(n).padStart(5, '0')}`);

  it('creates a thing, an active certificate and the attachments per device, and one policy', async () => {
    const run = await provision(args());

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('devices:   3 created, 0 skipped');
    expect(await thingsWithPrefix(prefix)).toEqual(ids);
    const manifest = JSON.parse(readFileSync(join(out(), 'devices.json'), 'utf8')) as Manifest;
    const stored = await iot.send(new GetPolicyCommand({ policyName: policy }));
    expect(JSON.parse(String(stored.policyDocument))).toEqual(
      JSON.parse(buildPolicyDocument('smart_meter', REGION)),
    );
    for (const id of ids) {
      const thing = await iot.send(new DescribeThingCommand({ thingName: id }));
      expect(thing.attributes).toEqual({ deviceType: 'smart_meter' });
      const entry = manifest.devices.find((device) => device.deviceId === id);
      const principals = await iot.send(new ListThingPrincipalsCommand({ thingName: id }));
      expect(principals.principals).toEqual([entry?.certificateArn]);
      const certificateId = String(entry?.certificateArn).split('/').pop();
      const certificate = await iot.send(new DescribeCertificateCommand({ certificateId }));
      expect(certificate.certificateDescription?.status).toBe('ACTIVE');
      const policies = await iot.send(new ListAttachedPoliciesCommand({ target: entry?.certificateArn }));
      expect(policies.policies?.map((p) => p.policyName)).toEqual([policy]);
    }
  });

  it('writes the credentials folder as documented: a manifest, and per device its certificate and a 0600 key', () => {
    const manifest = JSON.parse(readFileSync(join(out(), 'devices.json'), 'utf8')) as Manifest;

    expect(manifest).toMatchObject({ version: 1, region: REGION });
    expect(manifest.endpoint).toMatch(/-ats\.iot\.eu-west-1\.amazonaws\.com$/);
    expect(manifest.devices.map((device) => device.deviceId)).toEqual(ids);
    for (const device of manifest.devices) {
      expect(device).toMatchObject({
        deviceType: 'smart_meter',
        thingName: device.deviceId,
        policyName: policy,
        endpoint: manifest.endpoint,
        certificatePath: join(device.deviceId, 'certificate.pem.crt'),
        privateKeyPath: join(device.deviceId, 'private.pem.key'),
      });
      const certificate = readFileSync(join(out(), device.certificatePath), 'utf8');
      const keyPath = join(out(), device.privateKeyPath);
      expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(readFileSync(keyPath, 'utf8')).toMatch(/-----BEGIN (RSA )?PRIVATE KEY-----/);
      expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    }
    // No key material in the manifest.
    expect(readFileSync(join(out(), 'devices.json'), 'utf8')).not.toContain('PRIVATE KEY');
  });

  it('changes nothing on a second run, and a larger count provisions only the new device', async () => {
    const certificatesBefore = await certificateCount();

    const again = await provision(args());
    const certificatesAfterAgain = await certificateCount();
    const more = await provision(args().map((arg) => (arg === '3' ? '4' : arg)));

    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('devices:   0 created, 3 skipped');
    expect(again.stdout).toContain('already existed, left unchanged');
    expect(certificatesAfterAgain).toBe(certificatesBefore);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stdout).toContain('devices:   1 created, 3 skipped');
    expect(await thingsWithPrefix(prefix)).toEqual([...ids, `${prefix}-00004`]);
    expect(await certificateCount()).toBe(certificatesBefore + 1);
  });
});
