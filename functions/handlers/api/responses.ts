/**
 * Response shapes of the API that are not contract types, as plain types with no imports: the handler
 * returns them and the dashboard (a browser bundle) reads them, from this one declaration.
 */

/** GET /api/stats: every figure measured, none estimated. */
export interface StatsSnapshot {
  readonly windowMinutes: number;
  readonly totals: { raw: number; enriched: number; dlq: number; alerts: number };
  readonly byDeviceType: Record<string, number>;
  readonly quality: { GOOD: number; SUSPECT: number; BAD: number };
  readonly perMinute: readonly {
    minute: string;
    raw: number;
    enriched: number;
    dlq: number;
    alerts: number;
  }[];
  readonly devicesSeen: number;
  readonly lastMessageTime: string | null;
  readonly dlqReasons: Record<string, number>;
  /** Measured by the runtime: where the pipeline stands now. Each figure only where it is measured. */
  readonly pipeline?: {
    /** Records consumers have yet to process, over all consumers (local mode). */
    readonly consumerLag?: number;
    /** Points in the time-series store (local mode). */
    readonly storedPoints?: number;
    /** Device timestamp to points committed in the store, for telemetry in the window. */
    readonly latencyMs?: {
      readonly p50: number | null;
      readonly p99: number | null;
      readonly samples: number;
    };
  };
}
