/**
 * vitest globalSetup of the infra tests: builds dashboard/dist/ once, before any test file synthesizes
 * (the dashboard hosting deploys that folder). CI runs `npm ci && npm test` with no build step, and the
 * test files run in parallel, so building here (once, in the main process) avoids both a missing
 * folder and two files rebuilding it under each other.
 */

// Loaded at run time: dashboard/build.ts names types compiled with the DOM library, the infra without.
const BUILD_MODULE: string = '../../dashboard/build.js';

export default async function setup(): Promise<void> {
  const { buildDashboard } = (await import(BUILD_MODULE)) as { buildDashboard: () => Promise<string> };
  await buildDashboard();
}
