#!/usr/bin/env bash
# Does the training panel's feature term (--panel-feature-weight) help recognizers that never
# saw the codec? face-fer-v9 trained 8 more epochs with its own recipe, once with the term
# (weight 1.5, the best of benchmarks/panel/transfer_runs.sh) and once without (same start,
# data, schedule and seed), each measured on FER2013 val with the held-out panel like the
# shipped codecs. Neither variant is shipped (docs/training.md has the figures).
# Usage: benchmarks/feature_term_v9.sh [features|control ...]
# Figures land in runs/feature-term/VARIANT/weights/MANIFEST.json (benchmarks/manifest_tables.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}

variant() {
    case "$1" in
        features) echo "--lmbda-min 3e-05 --panel-feature-weight 1.5" ;;
        control) echo "--lmbda-min 8e-05" ;;
        *) echo "unknown variant: $1" >&2; exit 2 ;;
    esac
}

run() {
    local out=runs/feature-term/$1
    # shellcheck disable=SC2046
    facecodec train codec --data "$DATA" --split train --val-split val --epochs 8 --epoch-size 6400 \
        --init face-fer-v9 --seed 1 --out "$out" --model face-fer-v9 --batch-size 32 --lr 0.0001 \
        --lmbda-max 0.1 --quality-range 1 8 --val-qualities 1,4,8 --quality-power 1.5 \
        --no-augment --task-weight 0.1 --feature-weight 0.0 --agreement-weight 0.0 --semantic-weight 0.05 \
        --guide-lr-scale 3.0 --panel panel-vgg-v1,panel-vgg-v2,panel-resnet-v1 --panel-weight 1.0 \
        --adversarial-weight 0.05 --feature-match-weight 0.1 --discriminator-lr 0.0002 --no-amp --resume \
        $(variant "$1")
    rm -rf "$out/weights" && cp -r weights "$out/weights"  # measured beside the shipped models
    facecodec train export "$out/last.pt" --name face-fer-v9 --out "$out/weights" \
        --measure-data "$DATA" --measure-split val --device cpu
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(features control)
for v in "${variants[@]}"; do run "$v"; done
