#!/bin/sh
# Model directories that are inconsistent or hold nonsense (issue 11, items
# 7, 9 and 11): each bad case must exit with status 1 and one stderr line
# naming the file (and key or tensor) and what is wrong, never a crash or a
# NaN loss; valid files as transformers and PEFT write them must load.
. tests/cli/expect_lib

model_copy() { rm -rf "$T/m"; cp -r "$REF/tiny_bert" "$T/m"; }
cfg="$T/m/config.json"
st="$T/m/model.safetensors"
eval_m() { "$BIDORA" eval --model "$T/m" --data "$REF/tiny.csv"; }
train_m() { "$BIDORA" train -c configs/tiny.ini model="$T/m" out_dir="$T/runs" max_steps=2 eval_every=0 "$@"; }

# --- item 7: the vocabulary must fit the embedding table ---
# 600 lines ahead of tiny_bert's 308: every real word gets an id past vocab_size
model_copy
for i in $(seq 1 600); do echo "pad$i"; done >"$T/extra"
cat "$T/extra" "$REF/tiny_bert/vocab.txt" >"$T/m/vocab.txt"
expect "vocab.txt: 908 tokens" "config.json has vocab_size 308" -- eval_m
expect "vocab.txt: 908 tokens" "config.json has vocab_size 308" -- train_m run_name=vocab
expect "vocab.txt: 908 tokens" "config.json has vocab_size 308" -- "$BIDORA" info "$T/m"
# no vocab.txt at all: info still describes the model
model_copy; rm "$T/m/vocab.txt"
succeed "info without vocab.txt" -- "$BIDORA" info "$T/m"
grep -q "tokenizer    none (no tokenizer.json, vocab.json or vocab.txt)" "$T/out" || { echo "FAIL: info without vocab.txt"; fails=$((fails + 1)); }
# one line too many is already too many
model_copy; echo "extra" >>"$T/m/vocab.txt"
expect "vocab.txt: 309 tokens" "vocab_size 308" -- eval_m
# an added token whose id is past the table
model_copy
sed -i 's/"model_max_length": 64/"model_max_length": 64, "added_tokens_decoder": {"0": {"content": "[PAD]", "special": true}, "400": {"content": "<far>", "special": true}}/' "$T/m/tokenizer_config.json"
expect "tokenizer_config.json" "<far>" "id 400" "vocab_size 308" -- eval_m
# pad_token_id past the table
model_copy; sed -i 's/"pad_token_id": 0/"pad_token_id": 308/' "$cfg"
expect "config.json" "pad_token_id 308" "vocab_size 308" -- "$BIDORA" info "$T/m"

# --- item 9: dropout probabilities, rank, NaN/Inf weights ---
model_copy; sed -i 's/"hidden_dropout_prob": 0.1/"hidden_dropout_prob": 1.0/' "$cfg"
expect "config.json" "hidden_dropout_prob" "\[0, 1)" -- "$BIDORA" info "$T/m"
model_copy; sed -i 's/"attention_probs_dropout_prob": 0.1/"attention_probs_dropout_prob": -0.5/' "$cfg"
expect "config.json" "attention_probs_dropout_prob" -- "$BIDORA" info "$T/m"
model_copy; sed -i 's/"classifier_dropout": null/"classifier_dropout": 1.5/' "$cfg"
expect "config.json" "classifier_dropout" -- eval_m
model_copy; sed -i 's/"hidden_dropout_prob": 0.1/"hidden_dropout_prob": 1e999/' "$cfg"
expect "config.json" -- "$BIDORA" info "$T/m"
# rank 33 on 32 x 32 query/value matrices
model_copy
expect "rank 33" "query" "\[32, 32\]" -- train_m run_name=rank rank=33
expect "rank 40" "intermediate.dense" "\[37, 32\]" -- train_m run_name=rank2 rank=40 target_modules=intermediate.dense
# a NaN as the first data element (bert.embeddings.LayerNorm.bias[0]), an Inf as the last (classifier.weight[95])
hl=$(od -An -tu8 -N8 "$st" | tr -d ' ')
model_copy; printf '\000\000\300\177' | dd of="$st" bs=1 seek=$((8 + hl)) conv=notrunc 2>/dev/null
expect "model.safetensors" "bert.embeddings.LayerNorm.bias" "NaN" -- eval_m
size=$(wc -c <"$st")
model_copy; printf '\000\000\200\377' | dd of="$st" bs=1 seek=$((size - 4)) conv=notrunc 2>/dev/null
expect "model.safetensors" "classifier.weight" "Inf" "element 95" -- "$BIDORA" info "$T/m"

# --- item 11: numbers beyond 64-bit integers are valid JSON ---
# tokenizer_config.json as transformers 4.46.3 saves it without a length limit (tests/ref/gen_tokenizer_nolimit.py)
model_copy; cp "$REF/tokenizer_nolimit/tokenizer_config.json" "$T/m/tokenizer_config.json"
grep -q '"model_max_length": 1000000000000000019884624838656' "$T/m/tokenizer_config.json" || { echo "FAIL: fixture"; fails=$((fails + 1)); }
succeed "tokenizer_config.json with model_max_length int(1e30): eval" -- eval_m
grep -q "^accuracy" "$T/out" || { echo "FAIL: no metrics from eval"; fails=$((fails + 1)); }
succeed "... and info" -- "$BIDORA" info "$T/m"
grep -q "tokenizer    WordPiece, 308 tokens" "$T/out" || { echo "FAIL: info did not load the tokenizer"; sed 's/^/     /' "$T/out" | tail -2; fails=$((fails + 1)); }
succeed "... and train" -- train_m run_name=bigint
# config.json and special_tokens_map.json holding big integers (negative too) in keys bidora does not read
model_copy
sed -i 's/"use_cache": true/"use_cache": true, "big": 123456789012345678901234567890, "neg": -9223372036854775809/' "$cfg"
sed -i 's/"mask_token": "\[MASK\]"/"mask_token": "[MASK]", "x": 99999999999999999999/' "$T/m/special_tokens_map.json"
succeed "config.json with integers beyond 64 bits" -- eval_m
# ... but vocab_size itself cannot be one
model_copy; sed -i 's/"vocab_size": 308/"vocab_size": 30800000000000000000000/' "$cfg"
expect "config.json" "vocab_size" "out of range" -- "$BIDORA" info "$T/m"
# a safetensors header with an offset beyond 64 bits: a clear error (17 bytes longer: the length prefix follows)
model_copy; sed -i '1s/"data_offsets":\[0,128\]/"data_offsets":[0,99999999999999999999]/' "$st"
n=$((hl + 17)); le=""
for i in 0 1 2 3 4 5 6 7; do le="$le\\$(printf %03o $(((n >> (8 * i)) & 255)))"; done
printf "$le" | dd of="$st" bs=1 conv=notrunc 2>/dev/null
grep -q '99999999999999999999' "$st" || { echo "FAIL: fixture"; fails=$((fails + 1)); }
expect "model.safetensors" "bert.embeddings.LayerNorm.bias" "data_offsets" "64-bit" -- "$BIDORA" info "$T/m"
# an adapter_config.json with a big integer (PEFT leaves room for any key)
rm -rf "$T/a"; cp -r "$REF/peft_lora" "$T/a"
sed -i 's/"peft_type": "LORA"/"peft_type": "LORA", "revision": 100000000000000000000/' "$T/a/adapter_config.json"
grep -q '100000000000000000000' "$T/a/adapter_config.json" || { echo "FAIL: fixture"; fails=$((fails + 1)); }
succeed "adapter_config.json with an integer beyond 64 bits" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$REF/tiny.csv" --adapter "$T/a"

# a text pair on a model with one token type: refused up front, not clamped to type 0
model_copy; sed -i 's/"type_vocab_size": 2/"type_vocab_size": 1/' "$cfg"
expect "config.json" "type_vocab_size 1" "text_pair_column" -- "$BIDORA" eval --model "$T/m" --data "$REF/tiny.csv" text_pair_column=text_b
expect "config.json" "type_vocab_size 1" "text_pair_column" -- train_m text_pair_column=text_b run_name=types

[ "$fails" = 0 ] && echo "all bad-model cases passed" || echo "$fails case(s) failed"
[ "$fails" = 0 ]
