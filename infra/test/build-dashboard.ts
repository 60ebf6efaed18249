/**
 * vitest globalSetup of the infra tests: builds dashboard/dist/ once, before any test file synthesizes
 * (the dashboard hosting deploys that folder). CI runs `npm ci && npm test` with no build step, and the
 * test files run in parallel, so building here (once, in the main process) avoids both a missing
 * folder and two files rebuilding it under each other.
 */
import { buildDashboard } from '../../dashboard/build.js';

export default async function setup(): Promise<void> {
  await buildDashboard();
}
