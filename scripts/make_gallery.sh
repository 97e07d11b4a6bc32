#!/usr/bin/env bash
# scripts/make_gallery.sh — remakes the README's gallery, docs/gallery/, with
# synth's own commands on the built-in network (no download), each image at
# most 60 kB.
#
#   scripts/make_gallery.sh [SYNTH]     SYNTH: the executable (default build/synth)
#
# The commands are the ones printed under each picture in the README. The
# animation strip puts the six frames side by side with ffmpeg's tile filter
# (and synth animate --encode makes the GIF), so ffmpeg must be on PATH.
# Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
synth=${1:-build/synth}
[ -x "$synth" ] || { echo "make_gallery: $synth is not built (run scripts/bootstrap)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make_gallery: ffmpeg is not on PATH (apt-get install ffmpeg)" >&2; exit 1; }
out=docs/gallery
frames=$(mktemp -d)
trap 'rm -rf "$frames"' EXIT
mkdir -p "$out"
E=docs/examples

run() { echo "+ synth ${*}" >&2; "$synth" "$@" --quiet; }

run style --content $E/content.jpg --style $E/style.jpg --size 256 -o $out/style.jpg
run dream --input $E/content.jpg --size 256 -o $out/dream.jpg
run animate --input $E/content.jpg --size 96 --frames 6 --zoom 1.15 --rotate 2 --out-dir "$frames" \
    --encode $out/zoom.gif --fps 4
ffmpeg -nostdin -y -loglevel error -i "$frames/frame_%05d.png" -frames:v 1 -vf 'tile=6x1:padding=2' \
    -q:v 4 $out/zoom_strip.jpg
run poster --classes 0-5 --cols 3 --cell 96 --iters 64 --title "Channels 0-5" \
    -o $out/poster.jpg

for f in $out/*; do
    size=$(stat -c %s "$f")
    echo "$f: $size bytes"
    [ "$size" -le 61440 ] || { echo "make_gallery: $f is over 60 kB" >&2; exit 1; }
done
