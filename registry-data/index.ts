/**
 * The seed registry shipped with the platform. Static JSON imports (no file system access), so the same
 * data bundles into the seeding custom resource and loads in the local runtime and the tests.
 */
import type { IngestMappingInput } from '../functions/core/contract/ingest-mapping.js';
import type { AlertRuleSet, Application, DeviceType } from '../functions/core/contract/registry.js';
import environmentalRules from './alert-rules/environmental_sensor.json' with { type: 'json' };
import accessControllerRules from './alert-rules/f2_access_controller.json' with { type: 'json' };
import breakerRules from './alert-rules/smart_breaker.json' with { type: 'json' };
import meterRules from './alert-rules/smart_meter.json' with { type: 'json' };
import applications from './applications.json' with { type: 'json' };
import environmental from './device-types/environmental_sensor.json' with { type: 'json' };
import accessController from './device-types/f2_access_controller.json' with { type: 'json' };
import breaker from './device-types/smart_breaker.json' with { type: 'json' };
import meter from './device-types/smart_meter.json' with { type: 'json' };
// Ingest mappings for the prototypes' devices (issue 14).
import f2ControllerMapping from './ingest-mappings/f2-controller-component.json' with { type: 'json' };
import iotCloudStatusMapping from './ingest-mappings/iot-cloud-status.json' with { type: 'json' };
import iotCloudTelemetryMapping from './ingest-mappings/iot-cloud-telemetry.json' with { type: 'json' };
import iotCloudTrendsMapping from './ingest-mappings/iot-cloud-trends.json' with { type: 'json' };
import kafkaGeneratorMapping from './ingest-mappings/kafka-pipeline-generator.json' with { type: 'json' };

export interface SeedRegistry {
  readonly deviceTypes: readonly DeviceType[];
  readonly alertRules: readonly AlertRuleSet[];
  readonly applications: readonly Application[];
  /** Ingest mappings (issue 14), as stored: defaults (`at`, `zone`, ...) may be left out. */
  readonly ingestMappings: readonly IngestMappingInput[];
}

// The casts are checked, not trusted: registry-data.test.ts validates every file against the contract.
export const seedRegistry: SeedRegistry = {
  deviceTypes: [breaker, meter, environmental, accessController] as DeviceType[],
  alertRules: [breakerRules, meterRules, environmentalRules, accessControllerRules] as AlertRuleSet[],
  applications: applications as Application[],
  ingestMappings: [
    iotCloudTelemetryMapping,
    iotCloudTrendsMapping,
    iotCloudStatusMapping,
    kafkaGeneratorMapping,
    f2ControllerMapping,
  ] as IngestMappingInput[],
};
