#!/usr/bin/env bash
# The commands that made the recognizer panel (benchmarks/panel/*.safetensors).
# Usage: benchmarks/panel/train_panel.sh [MEMBER ...]   (default: every member, in order)
# Each member trains on FER2013 `train` originals only, then is exported here with its
# accuracy on `val` originals. Runs resume where they stopped (--resume).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}
RUNS=${RUNS:-runs/panel}

train() {  # NAME EPOCHS SEED
    facecodec train classifier --model "$1" --data "$DATA" --epochs "$2" --seed "$3" \
        --batch-size 128 --lr 3e-3 --out "$RUNS/$1" --resume
    facecodec train export "$RUNS/$1/last.pt" --name "$1" --out benchmarks/panel \
        --measure-data "$DATA" --measure-split val
}

member() {
    case "$1" in
        # fer-cnn-v1's shipped weights (VGG-style, trained on originals only), stored in float16
        rec-vgg-a) python benchmarks/panel/copy_member.py fer-cnn-v1 rec-vgg-a --measure-data "$DATA" ;;
        rec-vgg-b) train rec-vgg-b 10 11 ;;
        rec-resnet-a) train rec-resnet-a 18 12 ;;
        rec-dense-a) train rec-dense-a 14 13 ;;
        rec-mobile-a) train rec-mobile-a 14 14 ;;
        rec-inception-a) train rec-inception-a 14 15 ;;
        *) echo "unknown panel member: $1" >&2; exit 2 ;;
    esac
}

members=("$@")
[ ${#members[@]} -gt 0 ] || members=(rec-vgg-b rec-resnet-a rec-dense-a rec-mobile-a rec-inception-a rec-vgg-a)
for m in "${members[@]}"; do member "$m"; done
