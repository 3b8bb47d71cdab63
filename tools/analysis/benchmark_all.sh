#!/usr/bin/env bash
# Every benchmark and device check mixdet has (AMP training, compile and
# op-path agreement, backbone, op and SSDLite speed) in one run, meant for
# a GPU machine (DEVICE=cpu works too).
#
#   bash tools/analysis/benchmark_all.sh [OUT_DIR]
#
# Run from the repository root. On a machine with torch + CUDA (+ timm) but
# no OpenMMLab packages, put pure-Python wheels of mmengine, mmdet and mmcv
# with mmcv_stub.py (stubs for mmcv's compiled ops: enough for backbones,
# losses and training steps, not for NMS) in .whl/: they are installed to
# /tmp/site. Every step has its own time limit (585 s in all, so the whole
# run fits in 10 minutes) and writes OUT_DIR/<step>.txt;
# OUT_DIR/summary.txt collects the tails.
#
# Environment: DEVICE (cuda), BATCH (64), ROUNDS (10), PYTHON (python3).
# A CPU dry run of the script itself:
#   DEVICE=cpu BATCH=2 ROUNDS=1 PYTHON=.venv/bin/python \
#       bash tools/analysis/benchmark_all.sh /tmp/benchmark_dry
set -uo pipefail
out=${1:-${OUT:-benchmark_results}}
device=${DEVICE:-cuda}
batch=${BATCH:-64}
rounds=${ROUNDS:-10}
py=${PYTHON:-python3}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"

if ! "$py" -c 'import mmdet, mmcv.ops' 2> /dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile \
        --target /tmp/site .whl/*.whl || exit 1
    mkdir -p /tmp/mixdet_stub
    echo 'import mmcv_stub  # noqa: F401' > /tmp/mixdet_stub/sitecustomize.py
    export PYTHONPATH="/tmp/mixdet_stub:/tmp/site:$PWD/.whl:$PWD"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

# step NAME SECONDS ARGS...: run "$py ARGS..." with a time limit.
step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(date +%T)): $*" >> "$summary"
    timeout "$limit" "$py" "$@" > "$out/$name.txt" 2>&1
    echo "   exit $?" >> "$summary"
    tail -n 25 "$out/$name.txt" >> "$summary"
    echo >> "$summary"
}

step env 20 -c "import importlib.metadata as m, torch; print(torch.__version__, \
torch.version.cuda, torch.backends.cudnn.version(), torch.cuda.get_device_name(0) \
if torch.cuda.is_available() else 'no CUDA'); print({p: m.version(p) for p in \
('timm', 'mmdet', 'mmengine') if __import__('importlib').util.find_spec(p)})"
# Live timm parity, AMP/compile/op-path agreement (CPU tests, here with timm).
step tests 100 -m pytest -q -p no:cacheprovider tests/test_mixnet.py \
    tests/test_amp_compile.py tests/test_fold_bn.py tests/test_ops.py
# tools/train.py --amp (fp16, then bf16): 2 epochs of the demo config on a
# small generated dataset, no validation (NMS needs mmcv's compiled ops).
[ -d /tmp/mixdet_shapes ] || step shapes 15 tools/misc/make_shapes_dataset.py \
    /tmp/mixdet_shapes --num-train 64 --num-val 8 --size 192
amp_run=(configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py --amp
    --data-root /tmp/mixdet_shapes --train-ann instances_train.json
    --val-ann instances_val.json --cfg-options train_cfg.max_epochs=2
    train_cfg.val_begin=100 default_hooks.logger.interval=1)
step train_amp_fp16 50 tools/train.py "${amp_run[@]}" \
    --work-dir /tmp/mixdet_amp_fp16
step train_amp_bf16 50 tools/train.py "${amp_run[@]}" \
    optim_wrapper.dtype=bfloat16 --work-dir /tmp/mixdet_amp_bf16
# Backbones: fp32 NCHW, then bf16 + channels_last.
step backbones_fp32 50 tools/analysis/benchmark_backbones.py \
    --device "$device" --batch "$batch" --rounds "$rounds"
step backbones_bf16_cl 80 tools/analysis/benchmark_backbones.py \
    --device "$device" --batch "$batch" --rounds "$rounds" --amp bf16 \
    --channels-last
# Every op path on every MixNet-S layer: the CUDA rules this GPU supports.
step ops_bf16_cl 80 tools/analysis/benchmark_mixconv.py --archs s \
    --device "$device" --batch "$batch" --repeats "$rounds" --amp bf16 \
    --channels-last
# Whole SSDLite: latency (batch 1) and training step, bf16 autocast;
# where the latency goes, by CUDA kernel.
step ssdlite_bf16 100 tools/analysis/benchmark.py --device "$device" \
    --amp bf16 --train-batch "$batch" --rounds "$((rounds * 2))" \
    --train-rounds "$rounds" --no-onnx --breakdown 8
# Last, as it matters least: fp32 op paths.
step ops_fp32 40 tools/analysis/benchmark_mixconv.py --archs s \
    --device "$device" --batch "$batch" --repeats "$rounds"
echo "done ($(date +%T))" >> "$summary"
