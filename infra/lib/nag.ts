/**
 * cdk-nag 3 acknowledgements (CDK's Validations API): `acknowledge` sits next to the construct it
 * concerns and covers that construct's subtree. Rules with findings are acknowledged per finding,
 * e.g. `AwsSolutions-IAM5[Resource::*]`, so a new wildcard elsewhere still fails the synth.
 *
 * `acknowledgeStackSingletons` covers constructs aws-cdk-lib creates once per stack (custom-resource
 * providers), which have no construct of ours to sit next to.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

export function acknowledge(scope: IConstruct, acknowledgements: readonly NagAcknowledgement[]): void {
  Validations.of(scope).acknowledge(...acknowledgements);
}

export const BASIC_EXECUTION_ROLE =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
export const VPC_ACCESS_EXECUTION_ROLE =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';

const BASIC_ROLE_REASON = 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes.';
const CDK_RUNTIME_REASON = 'aws-cdk-lib chooses and updates the runtime of its own provider functions.';

const SINGLETONS: Record<string, NagAcknowledgement[]> = {
  // S3 autoDeleteObjects (environments with removalPolicy "destroy").
  'Custom::S3AutoDeleteObjectsCustomResourceProvider': [
    { id: BASIC_EXECUTION_ROLE, reason: BASIC_ROLE_REASON },
    { id: 'AwsSolutions-L1', reason: CDK_RUNTIME_REASON },
  ],
  // AwsCustomResource (the stream's GetBootstrapBrokers call outside the VPC); its own policy is
  // scoped to the cluster ARN.
  AWS679f53fac002430cb0da5b7982bd2287: [
    { id: BASIC_EXECUTION_ROLE, reason: BASIC_ROLE_REASON },
    { id: 'AwsSolutions-L1', reason: CDK_RUNTIME_REASON },
  ],
  // S3 EventBridge notifications of the failed-records bucket (sink `timestream`).
  BucketNotificationsHandler050a0587b7544547bf325f094a3db834: [
    { id: BASIC_EXECUTION_ROLE, reason: BASIC_ROLE_REASON },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "aws-cdk-lib's bucket-notifications handler sets notification configurations; s3:PutBucketNotification is granted on * by the library.",
    },
  ],
};

export function acknowledgeStackSingletons(stack: Stack): void {
  for (const [id, acknowledgements] of Object.entries(SINGLETONS)) {
    const child = stack.node.tryFindChild(id);
    if (child) acknowledge(child, acknowledgements);
  }
}

/** The custom-resource framework (cr.Provider) around one of our onEvent functions. */
export function acknowledgeProviderFramework(provider: IConstruct, onEvent: lambda.Function): void {
  const logicalId = Stack.of(onEvent).getLogicalId(onEvent.node.defaultChild as CfnElement);
  acknowledge(provider, [
    { id: BASIC_EXECUTION_ROLE, reason: BASIC_ROLE_REASON },
    {
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason:
        'The framework invokes any version of its onEvent function: `<function arn>:*` is the ARN format of versions.',
    },
    { id: 'AwsSolutions-L1', reason: CDK_RUNTIME_REASON },
  ]);
}
