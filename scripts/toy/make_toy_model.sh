#!/usr/bin/env bash
# Rebuilds the embedded toy base model in models/toy from scratch: composes the corpora from our own texts, trains
# a 4,096-piece SentencePiece BPE tokenizer, then runs `dromedary pretrain` on the CPU with models/toy/config.json in
# three phases, each starting from the last one's weights: hint-copy drills numbered from 1 at 512-token windows (they
# teach the lookup stage 1c needs), drills numbered from random starts (they carry it to the numbers 6-10 of the real
# prompt), then the stage documents, with drills mixed in, at the full 2,048-token context.
# Needs Debian's python3-sentencepiece (apt-get install -y python3-sentencepiece) and the .NET SDK.
# Settings can be overridden: STEPS, BATCH, SEQ_LEN, LR, WARMUP, SEED (second phase), DRILL_STEPS, WORK (scratch folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python=/usr/bin/python3
work="${WORK:-$root/build/toy}"
steps="${STEPS:-1000}" batch="${BATCH:-2}" seq_len="${SEQ_LEN:-2048}" lr="${LR:-3e-3}" warmup="${WARMUP:-40}" seed="${SEED:-1}"
drill_steps="${DRILL_STEPS:-3000}"
mkdir -p "$work"

"$python" "$root/scripts/toy/compose_corpus.py" "$root" "$work/corpus.txt" "$work/tokenizer-text.txt" --documents 4000 --seed 7 \
    --drill-documents 1500 --drill-corpus "$work/drill.txt" "$work/offset-drill.txt"
"$python" "$root/scripts/toy/train_tokenizer.py" "$work/tokenizer-text.txt" "$work/tokenizer" 4096 \
    "$root/tests/fixtures/toy-tokenizer-cases.json"

dotnet build "$root/src/Runner" -c Release -v quiet -nologo
dromedary() { dotnet "$root/src/Runner/bin/Release/net10.0/dromedary.dll" "$@"; }
common=(--config "$root/models/toy/config.json" --tokenizer "$work/tokenizer.model" --checkpoint-every 10 --dtype f16)

rm -rf "$work/drill-run" "$work/offset-drill-run" "$work/run"
time dromedary pretrain "${common[@]}" --corpus "$work/drill.txt" --seq-len 512 --batch 4 --steps "$drill_steps" \
    --lr 2e-3 --warmup 40 --schedule constant --seed 1 --out "$work/drill-run"
time dromedary pretrain "${common[@]}" --corpus "$work/offset-drill.txt" --init "$work/drill-run/model.safetensors" \
    --seq-len 512 --batch 4 --steps 1000 --lr 2e-3 --warmup 40 --schedule constant --seed 2 --out "$work/offset-drill-run"
time dromedary pretrain "${common[@]}" --corpus "$work/corpus.txt" --init "$work/offset-drill-run/model.safetensors" \
    --seq-len "$seq_len" --batch "$batch" --steps "$steps" --lr "$lr" --warmup "$warmup" --schedule cosine \
    --seed "$seed" --out "$work/run"

cp "$work/run/model.safetensors" "$work/run/tokenizer.model" "$work/run/loss.svg" "$work/run/metrics.jsonl" "$root/models/toy/"
echo "models/toy rebuilt: $(du -sh "$root/models/toy" | cut -f1)"
