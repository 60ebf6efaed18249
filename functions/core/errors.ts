/** A registry that cannot be compiled: the message names the type, the field and the fix. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}
