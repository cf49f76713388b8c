#!/usr/bin/env bash
# A release pipeline for one model: generate and build its classifier, check
# it on this machine (the golden self-test), measure its accuracy on a
# labelled sample with a gate, and publish the artifacts only when the gate
# passes.
#
#   examples/ci/pipeline.sh VARIANT SAMPLE OUT_DIR
#
# SAMPLE is an ImageFolder directory (one sub-folder per class, named by its
# synset such as n01440764 or by its index) or a CSV list of path,label.
# Environment:
#   LUCIDGEN           the lucidgen to run (default: lucidgen on PATH)
#   LUCIDGEN_OPTIONS   generation options, e.g. "--weights ckpt.safetensors --target avx2"
#                      (default: the released checkpoint from the hub cache)
#   MIN_TOP1, MIN_TOP5 the gates, in percent (unset: no gate)
#
# OUT_DIR gets model.c, model.h, model.bin, model.json (the generated
# sources, blob and per-layer report), the classifier `model`, eval.json (the
# accuracy report) and SHA256SUMS. Exit 0: published; 1: the self-test
# failed or the accuracy is below a gate (OUT_DIR then holds eval.json only);
# 2: bad input.
set -euo pipefail
if [ $# -ne 3 ]; then
  sed -n '2,21p' "$0" >&2
  exit 2
fi
VARIANT=$1 SAMPLE=$2 OUT=$3
LUCIDGEN=${LUCIDGEN:-lucidgen}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== generate and build $VARIANT"
# shellcheck disable=SC2086  # LUCIDGEN_OPTIONS is a list of options
"$LUCIDGEN" build "$VARIANT" ${LUCIDGEN_OPTIONS:-} -o "$WORK/model"

echo "== self-test on this machine"
"$WORK/model" --selftest

echo "== accuracy on $SAMPLE"
gates=()
if [ -n "${MIN_TOP1:-}" ]; then gates+=(--min-top1 "$MIN_TOP1"); fi
if [ -n "${MIN_TOP5:-}" ]; then gates+=(--min-top5 "$MIN_TOP5"); fi
if [ -d "$SAMPLE" ]; then set_option=--eval; else set_option=--eval-list; fi
status=0
"$WORK/model" "$set_option" "$SAMPLE" --eval-report "$WORK/eval.json" "${gates[@]}" || status=$?
mkdir -p "$OUT"
if [ "$status" -ne 0 ]; then
  if [ -f "$WORK/eval.json" ]; then cp "$WORK/eval.json" "$OUT/eval.json"; fi
  echo "== not published: the accuracy gate failed (exit $status); see $OUT/eval.json" >&2
  exit "$status"
fi

echo "== publish to $OUT"
cp "$WORK/model.build/model.c" "$WORK/model.build/model.h" "$WORK/model.build/model.json" "$OUT/"
cp "$WORK/model.bin" "$OUT/model.bin"
cp "$WORK/model" "$OUT/model"
cp "$WORK/eval.json" "$OUT/eval.json"
(cd "$OUT" && sha256sum model.c model.h model.bin model.json model eval.json > SHA256SUMS)
ls -l "$OUT"
