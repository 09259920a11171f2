#!/usr/bin/env bash
# Dev helper (not used by tests or CI): render every .svg in a folder to a .png beside it,
# to look at Unfold's plots without a browser.
#   scripts/render-svg.sh [folder=.] [zoom=1]
set -euo pipefail
dir="${1:-.}"
zoom="${2:-1}"
if ! command -v rsvg-convert >/dev/null 2>&1; then
  echo "render-svg: rsvg-convert not found. Install it with one of:" >&2
  echo "  Debian/Ubuntu: sudo apt-get install -y librsvg2-bin" >&2
  echo "  Fedora:        sudo dnf install -y librsvg2-tools" >&2
  echo "  macOS:         brew install librsvg" >&2
  exit 1
fi
if [ ! -d "$dir" ]; then
  echo "render-svg: '$dir' is not a directory" >&2
  exit 1
fi
shopt -s nullglob
files=("$dir"/*.svg)
if [ ${#files[@]} -eq 0 ]; then
  echo "render-svg: no .svg files in '$dir'"
  exit 0
fi
for svg in "${files[@]}"; do
  png="${svg%.svg}.png"
  rsvg-convert --zoom="$zoom" -o "$png" "$svg"
  echo "$svg -> $png"
done
