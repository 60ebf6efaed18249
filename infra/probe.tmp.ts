import { synthesizeEnvironment } from './test/synth.ts';
const name = (process.argv[2] ?? 'dev') as 'dev';
const env = synthesizeEnvironment(name);
const r = env.nag.validateScope(env.app);
for (const v of r.violations) console.log('NAG', v.ruleName, v.violatingResources.map((x) => x.resourceLogicalId).join(' | '));
const t = JSON.stringify(env.platformTemplate.toJSON());
console.log('imports', [...new Set(t.match(/Fn::ImportValue":"[^"]+/g) ?? [])]);
console.log('params', Object.keys(env.platformTemplate.toJSON().Parameters ?? {}));
