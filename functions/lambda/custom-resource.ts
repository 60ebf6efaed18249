/**
 * The contract of the CDK custom resource Provider framework (`aws-cdk-lib/custom-resources`
 * `Provider`, `onEventHandler` only, no `isCompleteHandler`): the function receives the
 * CloudFormation request (RequestType Create | Update | Delete, ResourceProperties, and for Update
 * OldResourceProperties, for Update/Delete PhysicalResourceId) and RETURNS `{ PhysicalResourceId,
 * Data }`; the framework sends the response to CloudFormation. A thrown error becomes a FAILED
 * response with the error's message. CloudFormation passes every property value as a string.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { z } from 'zod';

export type CustomResourceEvent = CloudFormationCustomResourceEvent;

export interface CustomResourceResponse {
  readonly PhysicalResourceId: string;
  /** Attributes for `Fn::GetAtt` (strings: CloudFormation turns everything into strings anyway). */
  readonly Data?: Readonly<Record<string, string>>;
}

/** Parses `ResourceProperties` (or the old ones), naming every invalid property. */
export function parseProperties<T>(
  schema: z.ZodType<T>,
  properties: unknown,
  which = 'ResourceProperties',
): T {
  const parsed = schema.safeParse(properties);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`invalid ${which}: ${issues.join('; ')}`);
  }
  return parsed.data;
}
