#!/bin/bash
# the background runs of issue 21, in priority order (resumable: rerun this script after any stop)
cd /work/ablations
APP="dotnet /work/ablate-bin/Quickstart.dll"
COMMON="--labelled-limit 10000 --finetune-epochs 2 --finetune-mixup 0 --finetune-cutmix 0 --finetune-reprob 0 --finetune-aa none --finetune-min-crop-scale 0.6 --linprobe-min-crop-scale 0.6 --threads 2 --output /work/ablations/tiny"
echo "=== $(date -u +%H:%M:%S) base point"
$APP ablate ratio --points 0.75 $COMMON || exit 1
W=/work/ablations/tiny/runs/tiny-3ep/pretrain/checkpoints/checkpoint-0002.safetensors
S=$(python3 -c "import json;print(round(json.load(open('/work/ablations/tiny/runs/tiny-3ep/pretrain.json'))['Seconds']))")
for n in 600 6000; do
  if [ ! -f /work/ablations/labels-$n/results.md ]; then
    echo "=== $(date -u +%H:%M:%S) label efficiency, $n labels"
    mkdir -p /work/ablations/labels-$n
    $APP results --model tiny --pretrained $W --pretrain-seconds $S --labelled-limit $n --finetune-epochs $((60000 / n)) --finetune-warmup 5 \
      --finetune-mixup 0 --finetune-cutmix 0 --finetune-reprob 0 --finetune-aa none --finetune-min-crop-scale 0.6 \
      --linprobe-epochs $((30000 / n)) --linprobe-min-crop-scale 0.6 --threads 2 \
      --doc /work/ablations/labels-$n/results.md --logs /work/ablations/labels-$n/logs --work /work/ablations/labels-$n/work
    echo "=== exit $?"
  fi
done
echo "=== $(date -u +%H:%M:%S) ratio, first pass"
$APP ablate ratio --points 0.25,0.5,0.75,0.9 $COMMON
for sweep in masking target ratio decoder-depth mask-token decoder-width; do
  echo "=== $(date -u +%H:%M:%S) ablate $sweep"
  $APP ablate $sweep $COMMON
  echo "=== exit $?"
done
echo "=== $(date -u +%H:%M:%S) ablate length"
$APP ablate length --points 1,2,3,6,12 $COMMON
echo "=== exit $? $(date -u +%H:%M:%S)"
