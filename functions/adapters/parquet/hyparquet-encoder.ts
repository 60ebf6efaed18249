/**
 * The Lambda path's Parquet encoder: hyparquet-writer (https://github.com/hyparam/hyparquet-writer).
 *
 * Why this library: pure JavaScript with one dependency (hyparquet, same authors), about 1 MB
 * unpacked for both and far less once bundled, so no native binary to build for Lambda's arm64 and no
 * WebAssembly start-up (parquet-wasm ships a multi-MB .wasm and wants Arrow tables; @dsnp/parquetjs
 * pulls thrift, brotli-wasm, bson and the S3 client). Its `ParquetWriter` writes one row group per
 * `write` call and hands the bytes to the writer's `flush`, so each batch of rows leaves as soon as it
 * is encoded: the encoder holds one batch, not the file. Actively released (0.17, 2026) with the
 * reader it is tested against; DuckDB reads its files back in our tests.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ExportColumn, ExportRow, ExportValueType, ParquetEncoder } from '../../core/export.js';
import { TIME_COLUMN } from '../../core/export.js';

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

const ELEMENTS: Record<ExportValueType, Omit<SchemaElement, 'name'>> = {
  DOUBLE: { type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  INT32: { type: 'INT32', repetition_type: 'OPTIONAL' },
  BOOLEAN: { type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
  VARCHAR: { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
};

/** A ByteWriter whose flushed bytes are taken out by the encoder after each row group. */
class ChunkWriter extends ByteWriter {
  readonly chunks: Uint8Array[] = [];
  flush(): void {
    if (this.index === 0) return;
    this.chunks.push(this.getBytes().slice());
    this.index = 0;
  }
  override finish(): void {
    this.flush();
  }
  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

export const hyparquetEncoder: ParquetEncoder = async function* encode(
  columns: readonly ExportColumn[],
  batches: AsyncIterable<readonly ExportRow[]>,
) {
  const writer = new ChunkWriter();
  const schema: SchemaElement[] = [
    { name: 'root', num_children: columns.length + 1 },
    {
      name: TIME_COLUMN,
      type: 'INT64',
      repetition_type: 'REQUIRED',
      converted_type: 'TIMESTAMP_MILLIS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
    },
    ...columns.map((column) => ({ name: column.name, ...ELEMENTS[column.valueType] }) as SchemaElement),
  ];
  const parquet = new ParquetWriter({ writer, schema, createdBy: 'iot-cloud export (hyparquet-writer)' });
  for await (const rows of batches) {
    if (rows.length === 0) continue;
    await parquet.write({
      columnData: [
        { name: TIME_COLUMN, data: rows.map((row) => BigInt(row.time)) },
        ...columns.map((column, i) => ({ name: column.name, data: rows.map((row) => row.cells[i] ?? null) })),
      ],
      // One row group per batch: the batch's bytes can leave before the next batch is read.
      rowGroupSize: rows.length,
    });
    yield* writer.take();
  }
  await parquet.finish();
  yield* writer.take();
};
