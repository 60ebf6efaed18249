/**
 * How simulated and provisioned devices are named (`breaker-00001`): one place, so a provisioned fleet
 * and a simulated one name the same devices.
 */
const ID_PREFIX: Readonly<Record<string, string>> = {
  smart_breaker: 'breaker',
  smart_meter: 'meter',
  environmental_sensor: 'env',
  f2_access_controller: 'f2',
};

/** Short, readable prefixes for the shipped types; other types use their id. */
export const defaultIdPrefix = (deviceType: string): string => ID_PREFIX[deviceType] ?? deviceType;

export const deviceIdFor = (prefix: string, ordinal: number): string =>
  `${prefix}-${String(ordinal).padStart(5, '0')}`;
