/**
 * Device identity in IoT Core: one thing type per device type of registry-data/, and the policy every
 * device certificate gets. With `${iot:Connection.Thing.ThingName}` a device can connect only with its
 * own thing name as client id (and only while its certificate is attached to that thing), and publish
 * only under its own topics: dt/{type}/{thingName}/{kind}, directly or through Basic Ingest
 * ($aws/rules/{rule}/dt/...), which skips the broker's publish charge.
 */
import { Stack } from 'aws-cdk-lib';
import * as iot from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import { mappedDevicePolicyTopics } from '../../../functions/shared/iot-rules.js';
import { seedRegistry } from '../../../registry-data/index.js';

/** The policy variable IoT Core substitutes with the connecting thing's name. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, not a JS placeholder.
export const THING_NAME_VARIABLE = '${iot:Connection.Thing.ThingName}';

export interface DevicesProps {
  readonly environmentName: string;
  readonly ingestRuleName: string;
  /**
   * Ingest mappings whose topics devices may publish on, each bound to the thing's own id (issue 14).
   * @default - the mappings shipped in registry-data/ingest-mappings
   */
  readonly ingestMappings?: readonly {
    readonly mappingId: string;
    readonly match: { readonly topic: string };
  }[];
}

export class Devices extends Construct {
  public readonly policy: iot.CfnPolicy;
  public readonly thingTypes: Readonly<Record<string, iot.CfnThingType>>;

  constructor(scope: Construct, id: string, props: DevicesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'iot', resource, resourceName });
    const ownTopics = `dt/*/${THING_NAME_VARIABLE}/*`;

    this.policy = new iot.CfnPolicy(this, 'DevicePolicy', {
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iot:Connect',
            Resource: arn('client', THING_NAME_VARIABLE),
            Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
          },
          {
            Effect: 'Allow',
            Action: 'iot:Publish',
            Resource: [
              arn('topic', ownTopics),
              arn('topic', `$aws/rules/${props.ingestRuleName}/${ownTopics}`),
              // Ingest mappings (issue 14): the devices' own topics, the {deviceId} level bound to the thing.
              ...mappedDevicePolicyTopics(
                props.ingestMappings ?? seedRegistry.ingestMappings,
                THING_NAME_VARIABLE,
              ).map((topic) => arn('topic', topic)),
            ],
          },
        ],
      },
    });

    this.thingTypes = Object.fromEntries(
      seedRegistry.deviceTypes.map((deviceType) => [
        deviceType.typeId,
        new iot.CfnThingType(this, `ThingType-${deviceType.typeId}`, {
          // Thing type names are unique per account and region: prefixed with the environment.
          thingTypeName: `iot-cloud-${props.environmentName}-${deviceType.typeId}`,
          thingTypeProperties: {
            thingTypeDescription: deviceType.name.slice(0, 2028),
          },
        }),
      ]),
    );
  }
}
