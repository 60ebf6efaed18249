/**
 * The registry store: device types and applications, plus the two rules that span both tables.
 * Without transactions both checks are read-then-write, so a type deleted between the check and an
 * application write can still be referenced; readers tolerate that (an unknown type id in an
 * application's `deviceTypes` simply matches no message), and the API's next edit of the application
 * is refused until the reference is fixed.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isTypeId } from '../../core/contract/identifiers.js';
import type { Application } from '../../core/contract/registry.js';
import {
  type ApplicationFilter,
  type ApplicationInput,
  type ApplicationPatch,
  type ApplicationSummary,
  ConflictError,
  type DeviceTypeInput,
  type DeviceTypeRecord,
  NotFoundError,
  type RegistryStore,
  ValidationError,
  type VersionCheck,
} from '../../ports/registry.js';
import type { TableNames } from '../../shared/tables.js';
import { checkApplicationId, DynamoApplicationStore } from './applications.js';
import { checkTypeId, DynamoDeviceTypeStore } from './device-types.js';

export interface RegistryStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tables: Pick<TableNames, 'deviceTypes' | 'applications'>;
  readonly now?: () => number;
  readonly claimGraceMs?: number;
}

export class DynamoRegistryStore implements RegistryStore {
  private readonly types: DynamoDeviceTypeStore;
  private readonly applications: DynamoApplicationStore;

  constructor(options: RegistryStoreOptions) {
    const common = { client: options.client, ...(options.now ? { now: options.now } : {}) };
    this.types = new DynamoDeviceTypeStore({ ...common, tableName: options.tables.deviceTypes });
    this.applications = new DynamoApplicationStore({
      ...common,
      tableName: options.tables.applications,
      ...(options.claimGraceMs === undefined ? {} : { claimGraceMs: options.claimGraceMs }),
    });
  }

  listDeviceTypes(): Promise<DeviceTypeRecord[]> {
    return this.types.listDeviceTypes();
  }

  getDeviceType(typeId: string): Promise<DeviceTypeRecord | undefined> {
    return this.types.getDeviceType(typeId);
  }

  putDeviceType(input: DeviceTypeInput, check?: VersionCheck): Promise<DeviceTypeRecord> {
    return this.types.putDeviceType(input, check);
  }

  createDeviceType(input: DeviceTypeInput): Promise<DeviceTypeRecord> {
    return this.types.createDeviceType(input);
  }

  async deleteDeviceType(typeId: string, check?: VersionCheck): Promise<void> {
    checkTypeId(typeId);
    const users = await this.applications.activeApplicationsFor(typeId);
    if (users.length > 0) {
      throw new ConflictError(
        `device type "${typeId}" is used by active applications: ${users.map((app) => app.name).join(', ')}`,
        'in_use',
      );
    }
    return this.types.deleteDeviceType(typeId, check);
  }

  listApplications(filter?: ApplicationFilter): Promise<ApplicationSummary[]> {
    return this.applications.listApplications(filter);
  }

  getApplication(applicationId: string): Promise<Application | undefined> {
    return this.applications.getApplication(applicationId);
  }

  activeApplicationsFor(typeId: string): Promise<ApplicationSummary[]> {
    return this.applications.activeApplicationsFor(typeId);
  }

  async createApplication(input: ApplicationInput): Promise<Application> {
    await this.checkTypesExist(input.deviceTypes);
    return this.applications.createApplication(input);
  }

  async updateApplication(applicationId: string, patch: ApplicationPatch): Promise<Application> {
    checkApplicationId(applicationId);
    if (patch.deviceTypes !== undefined) {
      const current = await this.applications.getApplication(applicationId);
      if (!current) throw new NotFoundError('application', applicationId);
      // Only the added ones: a reference to a type deleted meanwhile does not block other edits.
      await this.checkTypesExist(patch.deviceTypes.filter((typeId) => !current.deviceTypes.includes(typeId)));
    }
    return this.applications.updateApplication(applicationId, patch);
  }

  deleteApplication(applicationId: string): Promise<void> {
    return this.applications.deleteApplication(applicationId);
  }

  private async checkTypesExist(typeIds: readonly string[] | undefined): Promise<void> {
    if (!Array.isArray(typeIds)) return; // the application's own validation reports it
    const unique = [...new Set(typeIds)];
    if (!unique.every(isTypeId)) return; // idem: reported with the other schema issues
    const found = await Promise.all(unique.map((typeId) => this.types.getDeviceType(typeId)));
    const unknown = unique.filter((_, i) => found[i] === undefined);
    if (unknown.length > 0) {
      throw new ValidationError(
        'unknown device types',
        unknown.map((typeId) => `deviceTypes: "${typeId}" is not a registered device type`),
      );
    }
  }
}
