#!/usr/bin/env bash
# The main job, end to end: compile a timm model to C, link the classifier,
# check it on this machine (golden self-test) and classify the example images.
#
#   examples/classify.sh [VARIANT]        (default convnext_tiny_fb_in1k)
#
# Weights: the released checkpoint from the Hugging Face hub cache when it is
# there (lucidgen fetch VARIANT fills it; offline here), else deterministic
# random weights so the pipeline still runs without a network.
set -euo pipefail
cd "$(dirname "$0")/.."
VARIANT=${1:-convnext_tiny_fb_in1k}
LUCIDGEN=${LUCIDGEN:-build/lucidgen}
OUT=build/demo/$VARIANT
mkdir -p build/demo

if "$LUCIDGEN" fetch "$VARIANT" --offline --quiet >/dev/null 2>&1; then
  echo "== using the cached checkpoint of $VARIANT"
  WEIGHTS=(--offline)
else
  echo "== no cached checkpoint of $VARIANT (run 'lucidgen fetch $VARIANT' with a network); using --random-init"
  WEIGHTS=(--random-init=0)
fi
"$LUCIDGEN" build "$VARIANT" "${WEIGHTS[@]}" -o "$OUT"
"$OUT" --selftest
"$OUT" --topk 5 examples/images/*
"$OUT" --bench 5
