import { describe, expect, it } from 'vitest';
import { createTableInput, TABLES, type TableDeclaration, type TableKey } from '../../shared/tables.js';

const keys = Object.keys(TABLES) as TableKey[];

describe('createTableInput', () => {
  it.each(keys)('declares every key attribute of %s exactly once, and nothing else', (key) => {
    const input = createTableInput(`iot-${key}`, TABLES[key]);

    const keyNames = [
      ...(input.KeySchema ?? []),
      ...(input.GlobalSecondaryIndexes ?? []).flatMap((index) => index.KeySchema ?? []),
    ].map((element) => element.AttributeName);
    const defined = (input.AttributeDefinitions ?? []).map((definition) => definition.AttributeName);
    expect(new Set(defined).size).toBe(defined.length);
    expect(new Set(defined)).toEqual(new Set(keyNames));
  });

  it.each(keys)('makes %s an on-demand table with the declared keys', (key) => {
    const declaration: TableDeclaration = TABLES[key];

    const input = createTableInput(`iot-${key}`, declaration);

    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
    expect(input.KeySchema?.[0]).toEqual({ AttributeName: declaration.partitionKey.name, KeyType: 'HASH' });
    expect(input.KeySchema?.[1]?.AttributeName).toBe(declaration.sortKey?.name);
    expect(input.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(
      declaration.globalSecondaryIndexes?.map((index) => index.indexName),
    );
  });

  it('maps an INCLUDE projection with its attributes', () => {
    const input = createTableInput('with-include', {
      partitionKey: { name: 'pk', type: 'S' },
      globalSecondaryIndexes: [
        {
          indexName: 'byN',
          partitionKey: { name: 'n', type: 'N' },
          projection: { type: 'INCLUDE', nonKeyAttributes: ['a', 'b'] },
        },
      ],
    });

    expect(input.GlobalSecondaryIndexes?.[0]?.Projection).toEqual({
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: ['a', 'b'],
    });
    expect(input.AttributeDefinitions).toContainEqual({ AttributeName: 'n', AttributeType: 'N' });
  });

  it('refuses an attribute declared with two types', () => {
    const declaration: TableDeclaration = {
      partitionKey: { name: 'pk', type: 'S' },
      globalSecondaryIndexes: [
        { indexName: 'clash', partitionKey: { name: 'pk', type: 'N' }, projection: { type: 'ALL' } },
      ],
    };

    expect(() => createTableInput('clash-table', declaration)).toThrow(/both S and N/);
  });

  it('refuses an invalid table name', () => {
    expect(() => createTableInput('a b', TABLES.devices)).toThrow(/invalid table name/);
  });

  it('declares a TTL attribute on the tables that expire items', () => {
    expect(TABLES.messages.timeToLiveAttribute).toBe('expiresAt');
    expect(TABLES.alerts.timeToLiveAttribute).toBe('expiresAt');
  });
});
