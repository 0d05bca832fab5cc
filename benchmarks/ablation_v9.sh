#!/usr/bin/env bash
# What each term of face-fer-v9's training buys: its training run (docs/training.md) repeated
# with one term removed, from the same start (face-fer-v3), data, schedule and seed, then
# measured on FER2013 val with the held-out recognizer panel like the shipped codec.
# Usage: benchmarks/ablation_v9.sh [VARIANT ...]   (default: no-panel no-discriminator)
# Figures land in runs/ablation/VARIANT/weights/MANIFEST.json (benchmarks/manifest_tables.py prints them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}
PANEL=panel-vgg-v1,panel-vgg-v2,panel-resnet-v1

variant() {  # NAME: the options that differ from face-fer-v9's run
    case "$1" in
        no-panel) echo "--adversarial-weight 0.05 --feature-match-weight 0.1" ;;
        no-discriminator) echo "--panel $PANEL --panel-weight 1.0" ;;
        *) echo "unknown variant: $1" >&2; exit 2 ;;
    esac
}

run() {
    local name=$1 out=runs/ablation/$1
    # shellcheck disable=SC2046
    facecodec train codec --data "$DATA" --split train --val-split val --epochs 8 --epoch-size 6400 \
        --init face-fer-v3 --seed 0 --out "$out" --model face-fer-v9 --batch-size 32 --lr 0.0001 \
        --lmbda-min 8e-05 --lmbda-max 0.1 --quality-range 1 8 --val-qualities 1,4,8 --quality-power 1.5 \
        --no-augment --task-weight 0.1 --feature-weight 0.0 --agreement-weight 0.0 --semantic-weight 0.05 \
        --guide-lr-scale 3.0 --discriminator-lr 0.0002 --no-amp --resume $(variant "$name")
    rm -rf "$out/weights" && cp -r weights "$out/weights"  # measured beside the shipped models
    facecodec train export "$out/last.pt" --name face-fer-v9 --out "$out/weights" \
        --measure-data "$DATA" --measure-split val --qualities 1,2,4,8 --device cpu
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(no-panel no-discriminator)
for v in "${variants[@]}"; do run "$v"; done
