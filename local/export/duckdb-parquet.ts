/**
 * The local Parquet encoder: DuckDB (already the local time-series store). The rows are appended to a
 * table of a throw-away database file, `COPY ... TO` writes the Parquet file, and the file is streamed
 * and deleted. A database file rather than ':memory:', so a year of rows lives on disk, not in the
 * process; one thread and a small memory limit, since this runs beside the pipeline on a shared machine.
 * https://duckdb.org/docs/stable/sql/statements/copy.html
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBAppender, DuckDBInstance } from '@duckdb/node-api';
import {
  type ExportCell,
  type ExportColumn,
  type ExportRow,
  type ExportValueType,
  type ParquetEncoder,
  TIME_COLUMN,
} from '../../functions/core/export.js';

const SQL_TYPES: Record<ExportValueType, string> = {
  DOUBLE: 'DOUBLE',
  INT32: 'INTEGER',
  BOOLEAN: 'BOOLEAN',
  VARCHAR: 'VARCHAR',
};

/** A double-quoted identifier: column names carry registry units, which may hold any character. */
const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

function appendCell(appender: DuckDBAppender, type: ExportValueType, cell: ExportCell): void {
  if (cell === null) appender.appendNull();
  else if (type === 'DOUBLE' && typeof cell === 'number') appender.appendDouble(cell);
  else if (type === 'INT32' && typeof cell === 'number') appender.appendInteger(cell);
  else if (type === 'BOOLEAN' && typeof cell === 'boolean') appender.appendBoolean(cell);
  else if (type === 'VARCHAR') appender.appendVarchar(String(cell));
  // A value of another type than the registry declares (a definition changed since it was stored).
  else appender.appendNull();
}

export const duckdbParquetEncoder: ParquetEncoder = async function* encode(
  columns: readonly ExportColumn[],
  batches: AsyncIterable<readonly ExportRow[]>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'iot-export-'));
  try {
    const instance = await DuckDBInstance.create(join(dir, 'export.duckdb'), {
      threads: '1',
      memory_limit: '256MB',
      temp_directory: dir,
    });
    const file = join(dir, 'export.parquet');
    try {
      const connection = await instance.connect();
      try {
        // Stored columns are c0..cN (times as epoch ms); the names and the timestamp come in the COPY.
        const definitions = columns.map((column, i) => `c${i} ${SQL_TYPES[column.valueType]}`);
        await connection.run(
          `CREATE TABLE rows (t BIGINT NOT NULL${definitions.map((d) => `, ${d}`).join('')})`,
        );
        const appender = await connection.createAppender('rows');
        try {
          for await (const rows of batches) {
            for (const row of rows) {
              appender.appendBigInt(BigInt(row.time));
              columns.forEach((column, i) => {
                appendCell(appender, column.valueType, row.cells[i] ?? null);
              });
              appender.endRow();
            }
            appender.flushSync();
          }
        } finally {
          appender.closeSync();
        }
        const select = [
          `timezone('UTC', epoch_ms(t)) AS ${quoted(TIME_COLUMN)}`,
          ...columns.map((column, i) => `c${i} AS ${quoted(column.name)}`),
        ].join(', ');
        // The path is ours (mkdtemp); single quotes doubled all the same.
        await connection.run(
          `COPY (SELECT ${select} FROM rows ORDER BY t) TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION snappy)`,
        );
      } finally {
        connection.closeSync();
      }
    } finally {
      instance.closeSync();
    }
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }))
      yield chunk as Uint8Array;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
