#!/usr/bin/env bash
# Check a built collection artifact: it holds what users need and none of the test or dev files.
set -euo pipefail
artifact=$1
listing=$(tar -tzf "$artifact")
for required in MANIFEST.json FILES.json README.md LICENSE meta/runtime.yml playbooks/site.yml \
  roles/synapse/tasks/main.yml roles/postgres/tasks/main.yml; do
  grep -qx "$required" <<<"$listing" || { echo "artifact lacks $required" >&2; exit 1; }
done
if grep -E '^(\.venv|\.cache|\.git|molecule|tests|bench|\.ci)(/|$)|__pycache__' <<<"$listing"; then
  echo "artifact contains development files (above)" >&2
  exit 1
fi
echo "artifact OK: $(wc -l <<<"$listing") entries in $artifact"
