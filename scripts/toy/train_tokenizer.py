#!/usr/bin/env python3
"""Trains the toy model's SentencePiece BPE tokenizer the way LLaMA's is set up (byte fallback, digits split, no
normalisation, UNK 0 / BOS 1 / EOS 2, no padding id) on a composed corpus, and writes reference encodings made by
sentencepiece itself for a few strings, which a test compares with our TextTokenizer.

usage: train_tokenizer.py CORPUS.txt OUT_PREFIX VOCAB_SIZE CASES.json
"""
import json
import sys
import sentencepiece as spm

spm.set_random_generator_seed(7)

corpus, prefix, vocab, cases_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
spm.SentencePieceTrainer.train(
    input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=vocab,
    character_coverage=1.0, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
    remove_extra_whitespaces=False, add_dummy_prefix=True, allow_whitespace_only_pieces=True,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, user_defined_symbols=[], max_sentence_length=16384,
    input_sentence_size=200000, shuffle_input_sentence=True, num_threads=2, minloglevel=2)

processor = spm.SentencePieceProcessor(model_file=prefix + ".model")
texts = [
    "Hello world",
    "### User\nWho are you?\n\n### Dromedary\nI am Dromedary, an AI assistant.",
    "User: What is 12 × 7?\n\nWatson (internal thoughts): I am a helpful, ethical, and reliable assistant.",
    "###\n6. Instruction: Name three rivers in Ghana.\n6. Input:\n<noinput>",
    "  Leading spaces, tabs\tand ünïcödé — 東京 🐪 2021-09-30",
    "",
]
cases = [{"text": t, "ids": [processor.bos_id()] + processor.encode(t)} for t in texts]
with open(cases_path, "w", encoding="utf-8") as f:
    json.dump(cases, f, ensure_ascii=False, indent=1)
    f.write("\n")
