#!/usr/bin/env bash
# Rebuilds the embedded toy base model in models/toy from scratch: composes the corpus from our own texts, trains
# a 2,048-piece SentencePiece BPE tokenizer, then runs `dromedary pretrain` on the CPU with models/toy/config.json.
# Needs Debian's python3-sentencepiece (apt-get install -y python3-sentencepiece) and the .NET SDK.
# Settings can be overridden: STEPS, BATCH, SEQ_LEN, LR, WARMUP, SEED, WORK (scratch folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python=/usr/bin/python3
work="${WORK:-$root/build/toy}"
steps="${STEPS:-1200}" batch="${BATCH:-2}" seq_len="${SEQ_LEN:-2048}" lr="${LR:-3e-3}" warmup="${WARMUP:-40}" seed="${SEED:-1}"
mkdir -p "$work"

"$python" "$root/scripts/toy/compose_corpus.py" "$root" "$work/corpus.txt" "$work/tokenizer-text.txt" --documents 4000 --seed 7
"$python" "$root/scripts/toy/train_tokenizer.py" "$work/tokenizer-text.txt" "$work/tokenizer" 4096 \
    "$root/tests/fixtures/toy-tokenizer-cases.json"

dotnet build "$root/src/Runner" -c Release -v quiet -nologo
rm -rf "$work/run"
time dotnet "$root/src/Runner/bin/Release/net10.0/dromedary.dll" pretrain \
    --config "$root/models/toy/config.json" --tokenizer "$work/tokenizer.model" --corpus "$work/corpus.txt" \
    --seq-len "$seq_len" --batch "$batch" --steps "$steps" --lr "$lr" --warmup "$warmup" --schedule cosine \
    --seed "$seed" --checkpoint-every 10 --dtype f16 --out "$work/run"

cp "$work/run/model.safetensors" "$work/run/tokenizer.model" "$work/run/loss.svg" "$work/run/metrics.jsonl" "$root/models/toy/"
echo "models/toy rebuilt: $(du -sh "$root/models/toy" | cut -f1)"
