/** Loads `config.json` in the browser; its shape and parser live in ../config-shape.ts. */
import { type DashboardConfig, DEFAULT_CONFIG, parseConfig } from '../config-shape.js';

export { type AuthConfig, type DashboardConfig, DEFAULT_CONFIG, parseConfig } from '../config-shape.js';

export async function loadConfig(): Promise<{ config: DashboardConfig; problems: string[] }> {
  try {
    const response = await fetch('config.json', { cache: 'no-cache' });
    if (!response.ok) return { config: DEFAULT_CONFIG, problems: [`config.json: HTTP ${response.status}`] };
    return parseConfig(await response.json());
  } catch (error) {
    return { config: DEFAULT_CONFIG, problems: [`config.json: ${String(error)}`] };
  }
}
