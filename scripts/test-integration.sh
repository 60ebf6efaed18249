#!/usr/bin/env bash
# npm run test:integration: the integration tier, the project's code against real peers (an Apache
# Kafka broker, moto's AWS API server). Fetches what it needs once into git-ignored caches (the Kafka
# jars pinned in integration/kafka/pom.xml, moto pinned in integration/aws/requirements.txt), then
# runs vitest.integration.config.ts, whose globalSetup starts both peers and stops them after.
# Without Java 17+, Maven or Python 3 it reports itself skipped; with CI=true that is a failure.
# Extra arguments go to vitest (a file filter, --reporter=...).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "integration: cannot run in CI: $1" >&2
    exit 1
  fi
  echo "integration: skipped: $1"
  exit 0
}

command -v java >/dev/null || skip "no java on PATH (Java 17 or later runs the Kafka broker)"
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_major:-0}" -ge 17 ] 2>/dev/null || skip "java ${java_major:-unknown} found; Kafka 4 needs Java 17 or later"
command -v python3 >/dev/null || skip "no python3 on PATH (moto's AWS API server is Python)"

# Each cache is rebuilt when its manifest changes: the stamp holds the manifest's hash.
stale() { [ ! -f "$1" ] || [ "$(cat "$1")" != "$(sha256sum "$2" | cut -d' ' -f1)" ]; }

LIBS=.cache/kafka-libs
if stale "$LIBS/.manifest" integration/kafka/pom.xml; then
  command -v mvn >/dev/null || skip "no mvn on PATH to fetch the Kafka jars into $LIBS"
  echo "integration: fetching the Kafka broker's jars into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -f integration/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$LIBS" -DincludeScope=runtime
  sha256sum integration/kafka/pom.xml | cut -d' ' -f1 >"$LIBS/.manifest"
fi

VENV=.venv-integration
if stale "$VENV/.manifest" integration/aws/requirements.txt; then
  echo "integration: installing moto into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || skip "python3 cannot create a virtual environment (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r integration/aws/requirements.txt
  sha256sum integration/aws/requirements.txt | cut -d' ' -f1 >"$VENV/.manifest"
fi

exec npx vitest run -c vitest.integration.config.ts "$@"
