#!/usr/bin/env bash
# Build (or find cached) both releases' test images and their wheelhouses, and print the two image references:
#   HS_TEST_IMAGE_TRIXIE=<ref> and HS_TEST_IMAGE_BOOKWORM=<ref>, one per line.
# The two debootstraps wait mostly on the network and on dpkg, so they run at once; the wheelhouses follow
# one after the other (their containers share the apt archive). `make test` starts this in the background
# while lint, sanity and the unit tests keep the cores busy (a fresh machine's ten minutes or so of image
# building then costs little wall time); on a machine that has them it returns in a second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for release in trixie bookworm; do
  tests/harness/build_image.sh "$release" >"$work/$release" 2>"$work/$release.log" &
  echo $! >"$work/$release.pid"
done
status=0
for release in trixie bookworm; do
  if ! wait "$(cat "$work/$release.pid")"; then
    echo "images.sh: the $release image failed to build:" >&2
    cat "$work/$release.log" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] || exit 1
for release in trixie bookworm; do
  tests/harness/wheelhouse.sh "$(cat "$work/$release")" >&2
done
echo "HS_TEST_IMAGE_TRIXIE=$(cat "$work/trixie")"
echo "HS_TEST_IMAGE_BOOKWORM=$(cat "$work/bookworm")"
