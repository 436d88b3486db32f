#!/usr/bin/env bash
# Copy the collection's files (tracked, and new ones git does not ignore) into DEST, e.g.
# .../ansible_collections/homeserver/synapse: the tools that need the collection under that path (ansible-test
# sanity, antsibull-changelog) run on the copy, never on the checkout.
#   tests/harness/copy_collection.sh DEST
set -euo pipefail
dest=$1
cd "$(dirname "$0")/../.."
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
  if [[ -e "$path" ]]; then printf '%s\0' "$path"; fi
done | tar --null -T - -cf - | tar -xf - -C "$dest"
