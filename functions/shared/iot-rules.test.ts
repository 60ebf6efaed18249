import { describe, expect, it } from 'vitest';
import { compileRule } from '../../local/rule-runner.js';
import { mappedDevicePolicyTopics, mappedTopicRules } from './iot-rules.js';

describe('mapped topic rules (issue 14)', () => {
  it('gives a filter that dt/+/+/+ covers no rule of its own', () => {
    expect(mappedTopicRules(['dt/environmental_sensor/{deviceId}/telemetry'])).toEqual([]);
  });

  it('keeps one rule where one filter covers another', () => {
    const rules = mappedTopicRules(['iot/{deviceId}/raw', '+/{deviceId}/raw']);

    expect(rules.map((rule) => rule.topicFilter)).toEqual(['+/+/raw']);
  });

  it('refuses filters that overlap without one covering the other', () => {
    expect(() => mappedTopicRules(['iot/{deviceId}/+', '+/{deviceId}/raw'])).toThrow(/overlap/);
    expect(() => mappedTopicRules(['dt/{deviceId}/+/+'])).not.toThrow();
    expect(() => mappedTopicRules(['+/{kind}/{deviceId}/+'])).toThrow(/dt\/\+\/\+\/\+/);
  });

  it('projects the {deviceId} level as device_id, which the local rule runner evaluates the same way', () => {
    const [rule] = mappedTopicRules(['cmnd/{deviceId}/{mode}/{connector}/{component}']);
    if (!rule) return expect.fail('no rule');

    const envelope = compileRule(rule).evaluate({
      topic: 'cmnd/f2-1/access-control-mode/J1/door-sensors',
      payload: Buffer.from('{}'),
      receivedAt: 5,
    });

    expect(envelope).toEqual({
      payload: Buffer.from('{}').toString('base64'),
      topic: 'cmnd/f2-1/access-control-mode/J1/door-sensors',
      device_id: 'f2-1',
      received_at: 5,
    });
  });

  it('binds mapped policy topics to the thing, and refuses a filter without {deviceId}', () => {
    const thing = 'THING';
    const mapping = (mappingId: string, topic: string) => ({ mappingId, match: { topic } });

    expect(
      mappedDevicePolicyTopics(
        [
          mapping('a', 'iot/{deviceId}/raw'),
          mapping('b', 'cmnd/{deviceId}/{mode}/+/x'),
          mapping('c', 'dt/t/{deviceId}/telemetry'),
        ],
        thing,
      ),
    ).toEqual(['cmnd/THING/*/*/x', 'iot/THING/raw']);
    expect(() => mappedDevicePolicyTopics([mapping('d', 'shared/{site}/raw')], thing)).toThrow(
      /"d".*deviceId/,
    );
  });
});
