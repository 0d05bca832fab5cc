#!/usr/bin/env bash
# Leave-one-family-out runs that compare panel options (docs/training.md):
# face-fer-v9's recipe from face-fer-v3, short, against the two VGG-style training-panel
# members only, with one option changed; then benchmarks/panel/transfer_check.py asks the
# ResNet-style member (unseen by these runs) how decoded faces read. The held-out panel
# plays no part. Usage: benchmarks/panel/transfer_runs.sh [VARIANT ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DATA=${DATA:-../shared/data/fer2013/fer2013_trainval.npz}

variant() {  # NAME: the options that differ between the runs
    case "$1" in
        logits) echo "" ;;
        noise) echo "--panel-noise 0.04" ;;
        features) echo "--panel-feature-weight 0.2" ;;
        features-0.6) echo "--panel-feature-weight 0.6" ;;
        features-1.5) echo "--panel-feature-weight 1.5" ;;
        features-3) echo "--panel-feature-weight 3" ;;
        features-6) echo "--panel-feature-weight 6" ;;
        *) echo "unknown variant: $1" >&2; exit 2 ;;
    esac
}

run() {
    # shellcheck disable=SC2046
    facecodec train codec --data "$DATA" --split train --val-split val --epochs 4 --epoch-size 4800 \
        --init face-fer-v3 --seed 0 --out "runs/transfer/$1" --model face-fer-v9 --batch-size 32 --lr 0.0001 \
        --lmbda-min 8e-05 --lmbda-max 0.1 --quality-range 1 8 --val-qualities 1,4 --quality-power 1.5 \
        --no-augment --task-weight 0.1 --feature-weight 0.0 --agreement-weight 0.0 --semantic-weight 0.05 \
        --guide-lr-scale 3.0 --panel panel-vgg-v1,panel-vgg-v2 --panel-weight 1.0 \
        --adversarial-weight 0.05 --feature-match-weight 0.1 --discriminator-lr 0.0002 --no-amp --resume $(variant "$1")
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(logits noise features features-0.6 features-1.5 features-3 features-6)
for v in "${variants[@]}"; do run "$v"; done
ckpts=(); for v in "${variants[@]}"; do ckpts+=("runs/transfer/$v/last.pt"); done
python benchmarks/panel/transfer_check.py "${ckpts[@]}" --data "$DATA" \
    --json runs/transfer/check.json
