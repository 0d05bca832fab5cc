#!/usr/bin/env bash
# face-fer-v9 trained 8 more epochs with its own recipe and one change, from the same start,
# data, schedule and seed, to measure what a change buys (docs/training.md has the figures):
#   control     the recipe unchanged
#   features    the training panel's feature term (--panel-feature-weight 1.5, the best of
#               benchmarks/panel/transfer_runs.sh) and a lower distortion floor
#   no-task     no cross-entropy term through fer-cnn-joint-v1, a classifier once trained
#               together with a codec (the one network whose reading the stripes serve)
#   realism     no-task, and the face discriminator's terms three times as strong
#   detail      no-task, and the detail floor (--detail-weight 3e-3, every quality): decoded fine
#               detail must be the original's, so low qualities stop drawing stripes
#   detail-1e-3 the same, with --detail-weight 1e-3 (and detail-3e-4 with 3e-4)
# Usage: benchmarks/v9_variants.sh train|measure VARIANT ...
#   train    the 8 epochs (resumable: run it again to go on)
#   measure  export and measure like a shipped codec: FER2013 val, real files, the held-out
#            panel (run only on a variant chosen without it; figures land in
#            runs/v9-variants/VARIANT/weights/MANIFEST.json, benchmarks/manifest_tables.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}

REAL="--adversarial-weight 0.05 --feature-match-weight 0.1"  # face-fer-v9's realism terms
variant() {
    case "$1" in
        control) echo "--lmbda-min 8e-05 --task-weight 0.1 $REAL" ;;
        features) echo "--lmbda-min 3e-05 --task-weight 0.1 $REAL --panel-feature-weight 1.5" ;;
        no-task) echo "--lmbda-min 8e-05 --task-weight 0 $REAL" ;;
        realism) echo "--lmbda-min 8e-05 --task-weight 0 --adversarial-weight 0.15 --feature-match-weight 0.3" ;;
        detail) echo "--lmbda-min 8e-05 --task-weight 0 $REAL --detail-weight 3e-3" ;;
        detail-3e-4) echo "--lmbda-min 8e-05 --task-weight 0 $REAL --detail-weight 3e-4" ;;
        detail-1e-3) echo "--lmbda-min 8e-05 --task-weight 0 $REAL --detail-weight 1e-3" ;;
        *) echo "unknown variant: $1" >&2; exit 2 ;;
    esac
}

train() {
    # shellcheck disable=SC2046
    facecodec train codec --data "$DATA" --split train --val-split val --epochs 8 --epoch-size 6400 \
        --init face-fer-v9 --seed 1 --out "runs/v9-variants/$1" --model face-fer-v9 --batch-size 32 --lr 0.0001 \
        --lmbda-max 0.1 --quality-range 1 8 --val-qualities 1,4,8 --quality-power 1.5 \
        --no-augment --feature-weight 0.0 --agreement-weight 0.0 --semantic-weight 0.05 \
        --guide-lr-scale 3.0 --panel panel-vgg-v1,panel-vgg-v2,panel-resnet-v1 --panel-weight 1.0 \
        --discriminator-lr 0.0002 --no-amp --resume \
        $(variant "$1")
}

measure() {
    local out=runs/v9-variants/$1
    rm -rf "$out/weights" && cp -r weights "$out/weights"  # measured beside the shipped models
    facecodec train export "$out/last.pt" --name face-fer-v9 --out "$out/weights" \
        --measure-data "$DATA" --measure-split val --device cpu
}

step=${1:?usage: benchmarks/v9_variants.sh train|measure VARIANT ...}; shift
case "$step" in train|measure) ;; *) echo "unknown step: $step" >&2; exit 2 ;; esac
[ $# -gt 0 ] || { echo "name at least one variant" >&2; exit 2; }
for v in "$@"; do "$step" "$v"; done
