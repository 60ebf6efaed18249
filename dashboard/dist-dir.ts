import { join } from 'node:path';

/** Where `npm run build:dashboard` writes the dashboard and where the local server serves it from. */
export const DASHBOARD_DIST_DIR = join(import.meta.dirname, 'dist');
