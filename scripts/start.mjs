// Placeholder until the "Local mode" issue lands: say so plainly instead of pretending to run.
console.error(
  'npm start is not ready yet: the local runtime (embedded MQTT broker, local log, dynalite, DuckDB, API)\n' +
    'arrives with the "Local mode" issue. Today you can run the tests (npm test) and the core benchmark (npm run bench).',
);
process.exit(1);
