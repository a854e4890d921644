#!/bin/sh
# Bad input to `bidora info` and `bidora eval`: each case must exit with
# status 1 and print exactly one line on stderr that names the file (and
# the line, key or tensor) and what is wrong. Never a crash.
. tests/cli/expect_lib

model_copy() { rm -rf "$T/m"; cp -r "$REF/tiny_bert" "$T/m"; }
st="$T/m/model.safetensors"

# --- safetensors ---
model_copy; head -c 5 "$REF/tiny_bert/model.safetensors" >"$st"
expect "model.safetensors" "truncated\|shorter\|too short" -- "$BIDORA" info "$T/m"
model_copy; printf '\377\377\377\377\000\000\000\000' | dd of="$st" bs=1 count=8 conv=notrunc 2>/dev/null
expect "model.safetensors" "header" -- "$BIDORA" info "$T/m"
model_copy; head -c 60000 "$REF/tiny_bert/model.safetensors" >"$st"
expect "model.safetensors" "past the end\|beyond\|out of range\|truncated" -- "$BIDORA" info "$T/m"
# an unknown dtype: rewrite one "F32" in the header as "Q32" (same length)
model_copy; sed -i '1s/"dtype":"F32"/"dtype":"Q32"/' "$st"
expect "model.safetensors" "Q32" -- "$BIDORA" info "$T/m"
# shape that does not match the byte size: [32] -> [33] on one tensor
model_copy; sed -i '1s/"shape":\[32\],"data_offsets"/"shape":[33],"data_offsets"/' "$st"
expect "model.safetensors" "size\|bytes" -- "$BIDORA" info "$T/m"
# a missing tensor: rename one in the header (same length, so offsets hold)
model_copy; sed -i '1s/"bert.encoder.layer.1.output.dense.weight"/"bert.encoder.layer.1.output.dense.weighX"/' "$st"
expect "model.safetensors" "missing tensor" "bert.encoder.layer.1.output.dense.weight" -- "$BIDORA" info "$T/m"
# a sharded model whose index names a shard that is not there
rm -rf "$T/s"; cp -r "$REF/tiny_bert_sharded" "$T/s"; rm "$T/s/model-00002-of-00003.safetensors"
expect "model-00002-of-00003.safetensors" -- "$BIDORA" info "$T/s"
rm -rf "$T/m"; mkdir "$T/m"; cp "$REF/tiny_bert/config.json" "$T/m/"
expect "no model.safetensors" -- "$BIDORA" info "$T/m"

# --- config.json ---
model_copy; sed -i '/"hidden_size"/d' "$T/m/config.json"
expect "config.json" "hidden_size" "missing" -- "$BIDORA" info "$T/m"
model_copy; sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": "2"/' "$T/m/config.json"
expect "config.json" "num_hidden_layers" "integer" -- "$BIDORA" info "$T/m"
model_copy; sed -i 's/"hidden_act": "gelu"/"hidden_act": "swish3"/' "$T/m/config.json"
expect "config.json" "swish3" -- "$BIDORA" info "$T/m"
model_copy; printf '{"hidden_size": 32,' >"$T/m/config.json"
expect "config.json" "invalid JSON" -- "$BIDORA" info "$T/m"
model_copy; sed -i 's/"intermediate_size": 37/"intermediate_size": 38/' "$T/m/config.json"
expect "model.safetensors" "intermediate.dense.weight" "shape" -- "$BIDORA" info "$T/m"
expect "nonexistent" -- "$BIDORA" info "$T/nonexistent"

# --- CSV ---
csv() { printf "$1" >"$T/d.csv"; }
csv 'text,label\na,positive\nb,negative,extra\n'
expect "d.csv:3" "field" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$T/d.csv"
csv 'sentence,label\na,positive\n'
expect "d.csv" "text" "sentence" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$T/d.csv"
csv 'text,label\n'
expect "d.csv" "no rows\|no data" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$T/d.csv"
csv 'text,score\na,1.5\nb,high\n'
expect "d.csv:3" "high" -- "$BIDORA" eval --model "$REF/tiny_bert_nohead" --data "$T/d.csv" label_column=score task=regression
csv 'text,label\na,positive\nb,amazing\n'
expect "d.csv:3" "amazing" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$T/d.csv"
expect "missing.csv" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$T/missing.csv"
# --- arguments ---
expect "max_length" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$REF/tiny.csv" max_length=abc
expect "max_length=100" "64" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$REF/tiny.csv" max_length=100
expect "colour" "unknown key" -- "$BIDORA" eval --model "$REF/tiny_bert" --data "$REF/tiny.csv" colour=red

echo "bad_input: $fails failure(s)"
[ "$fails" = 0 ]
