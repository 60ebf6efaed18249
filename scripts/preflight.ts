/**
 * `npm run preflight -- -c env=<name>`: before `npm run deploy`, asks the AWS account what only it
 * knows (scripts/preflight/checks.ts) with the default credential chain. The region is the
 * environment's `region` in cdk.json, else AWS_REGION / the profile's, as cdk would use. Prints each
 * check with pass or fail and the fix; exits 1 on any failure, 2 on a usage error.
 */
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IoTClient } from '@aws-sdk/client-iot';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { ConfigurationError } from '../infra/lib/config.js';
import { loadEnvironment, splitContextArgs, UsageError } from './environment-arg.js';
import { formatResults, runChecks } from './preflight/checks.js';

const USAGE = 'Usage: npm run preflight -- -c env=dev|staging|prod';

async function main(argv: readonly string[]): Promise<number> {
  const { context, rest } = splitContextArgs(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unknown argument ${rest[0]}\n${USAGE}`);
  const config = loadEnvironment(context);
  const clientConfig = config.region ? { region: config.region } : {};
  const sts = new STSClient(clientConfig);
  let region: string;
  let accountId: string;
  try {
    region = await sts.config.region();
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    accountId = identity.Account ?? '';
  } catch (error) {
    console.log(
      `FAIL  AWS credentials: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n` +
        '      fix: configure credentials and a region (aws configure, AWS_PROFILE, aws sso login, or AWS_REGION)',
    );
    return 1;
  }
  if (config.account && config.account !== accountId) {
    console.log(
      `FAIL  AWS account: the credentials are for ${accountId}, cdk.json pins ${config.name} to ${config.account}\n` +
        '      fix: use the credentials of the pinned account, or change account in cdk.json',
    );
    return 1;
  }
  console.log(`preflight for ${config.name} in account ${accountId}, region ${region}`);
  const regional = { region };
  const results = await runChecks(
    {
      timestream: new TimestreamWriteClient(regional),
      lambda: new LambdaClient(regional),
      ec2: new EC2Client(regional),
      iot: new IoTClient(regional),
      cognito: new CognitoIdentityProviderClient(regional),
    },
    { config, region, accountId },
  );
  console.log(formatResults(results));
  return results.some((result) => result.status === 'fail') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigurationError) {
      console.error(error.message);
      process.exitCode = 2;
      return;
    }
    throw error;
  },
);
