#!/usr/bin/env bash
# The commands that made the recognizer panel (benchmarks/panel/*.safetensors).
# Usage: benchmarks/panel/train_panel.sh [MEMBER ...]   (default: every member, in order)
# Each member trains on FER2013 `train` originals only, then is exported here with its
# accuracy on `val` originals. Runs resume where they stopped (--resume).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}
RUNS=${RUNS:-runs/panel}
mkdir -p "$RUNS"

train() {  # NAME EPOCHS SEED
    facecodec train classifier --model "$1" --data "$DATA" --epochs "$2" --seed "$3" \
        --batch-size 128 --lr 3e-3 --out "$RUNS/$1" --resume
    export_member "$1" "$RUNS/$1/last.pt"
}

refine() {  # NAME EPOCHS SEED ROUND: another cosine cycle (lower peak rate) from what was exported last
    facecodec train classifier --model "$1" --data "$DATA" --epochs "$2" --seed "$3" \
        --batch-size 128 --lr 1e-3 --init "benchmarks/panel/$1.safetensors" --out "$RUNS/$1-refine$4" --resume
    export_member "$1" "$RUNS/$1-refine$4/last.pt"
}

export_member() {  # NAME CHECKPOINT
    facecodec train export "$2" --name "$1" --out benchmarks/panel \
        --measure-data "$DATA" --measure-split val
}

member() {
    case "$1" in
        # fer-cnn-v1 of facecodec 0.1 (VGG-style, trained on originals only), stored in float16
        panel-vgg-v1)
            git show b4f45e9:weights/fer-cnn-v1.safetensors > "$RUNS/fer-cnn-v1.safetensors"
            git show b4f45e9:weights/MANIFEST.json > "$RUNS/manifest-0.1.json"
            python benchmarks/panel/copy_member.py "$RUNS/fer-cnn-v1.safetensors" panel-vgg-v1 \
                --manifest "$RUNS/manifest-0.1.json" --measure-data "$DATA" ;;
        panel-vgg-v2) train panel-vgg-v2 10 11 ;;
        panel-resnet-v1) train panel-resnet-v1 18 12 ;;
        panel-dense-v1) train panel-dense-v1 10 13; refine panel-dense-v1 8 23 1; refine panel-dense-v1 10 33 2 ;;
        panel-mobile-v1) train panel-mobile-v1 10 14; refine panel-mobile-v1 8 24 1 ;;
        panel-inception-v1) train panel-inception-v1 10 15 ;;
        *) echo "unknown panel member: $1" >&2; exit 2 ;;
    esac
}

members=("$@")
[ ${#members[@]} -gt 0 ] || members=(panel-vgg-v2 panel-resnet-v1 panel-dense-v1 panel-mobile-v1 panel-inception-v1 panel-vgg-v1)
for m in "${members[@]}"; do member "$m"; done
