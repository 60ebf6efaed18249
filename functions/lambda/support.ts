/**
 * Small pieces the Lambda entries share: a value re-read on a schedule (the registry), a producer that
 * remembers what it durably sent (for bookkeeping after a batch), and reading the registry from
 * DynamoDB into the core's compiled form.
 */
import type { Application } from '../core/contract/registry.js';
import { type CompiledRegistry, compileRegistry } from '../core/registry.js';
import type { IngestMappingStore } from '../ports/ingest-mappings.js';
import type { RegistryStore } from '../ports/registry.js';
import type { StreamProducer, StreamRecord } from '../ports/stream.js';

export interface RefreshingOptions<T> {
  readonly load: () => Promise<T>;
  /** Age after which the next `current()` re-reads. */
  readonly refreshMs: number;
  readonly now?: () => number;
  /** A failed refresh keeps the previous value and is reported here. */
  readonly onRefreshError?: (error: unknown) => void;
}

/**
 * A value loaded on first use and re-read once it is older than `refreshMs`: a warm function applies a
 * registry edit within that bound. The first load must succeed (the invocation fails and is retried);
 * a failed refresh keeps serving the previous value rather than failing the pipeline.
 */
export class Refreshing<T> {
  private value: { data: T; loadedAt: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RefreshingOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  async current(): Promise<T> {
    const now = this.now();
    if (this.value === undefined) {
      this.value = { data: await this.options.load(), loadedAt: now };
    } else if (now - this.value.loadedAt >= this.options.refreshMs) {
      try {
        this.value = { data: await this.options.load(), loadedAt: now };
      } catch (error) {
        this.options.onRefreshError?.(error);
        // Try again after another period, not on every invocation of a struggling table.
        this.value = { data: this.value.data, loadedAt: now };
      }
    }
    return this.value.data;
  }
}

/** The registry of record, compiled for the core (the same reading as local mode's). */
export async function loadCompiledRegistry(
  store: Pick<RegistryStore, 'listDeviceTypes' | 'listApplications'>,
  /** Ingest mappings (issue 14); left out, none apply. */
  mappingStore?: Pick<IngestMappingStore, 'listIngestMappings'>,
): Promise<CompiledRegistry> {
  const [types, applications, mappings] = await Promise.all([
    store.listDeviceTypes(),
    store.listApplications(),
    mappingStore ? mappingStore.listIngestMappings() : [],
  ]);
  return compileRegistry({
    ingestMappings: mappings.map((record) => record.mapping),
    deviceTypes: types.map((t) => t.deviceType),
    alertRules: types.map((t) => ({ deviceType: t.deviceType.typeId, rules: [...t.alertRules] })),
    // The compiled registry copies only public fields; list results carry no contact e-mail.
    applications: applications as unknown as Application[],
  });
}

/** Passes sends through and remembers, per topic, the records that were durably sent. */
export class RecordingProducer implements StreamProducer {
  private readonly sentRecords = new Map<string, StreamRecord[]>();

  constructor(private readonly producer: StreamProducer) {}

  /** Sends that failed, with their errors (a handler may turn them into batch item failures). */
  readonly failures: { topic: string; error: unknown }[] = [];

  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    try {
      await this.producer.send(topic, records);
    } catch (error) {
      this.failures.push({ topic, error });
      throw error;
    }
    const sent = this.sentRecords.get(topic) ?? [];
    for (const record of records) sent.push(record);
    this.sentRecords.set(topic, sent);
  }

  sent(topic: string): readonly StreamRecord[] {
    return this.sentRecords.get(topic) ?? [];
  }
}

/** JSON of a record value, or undefined. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}
