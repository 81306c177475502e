#pragma once
// Moving a Transformer's weights to and from Hugging Face checkpoints through
// the family's tensor-name table (TensorNames.h), with each family's layout
// fix: nn.Linear matrices transposed, GPT-NeoX's per-head interleaved fused
// qkv split into q | k | v, separate q, k and v projections fused.
// Engine-internal: includes LibTorch.
#include "Transformer.h"
#include "WeightStore.h"

#include <string>
#include <utility>
#include <vector>

namespace scalpel {

// Loads every tensor the table names from `store`; an absent tensor, a wrong
// shape, an unsupported dtype or a non-finite value is an Error naming the
// tensor and the file. `progress` (fraction done) returning false cancels
// with the weights half loaded (the caller discards the network).
void loadWeights(TransformerImpl& net, const WeightStore& store,
                 const std::function<bool(double)>& progress = {});

// The network's tensors under their checkpoint names, in the checkpoint's
// layout, on the CPU, in table order. `prefix` is prepended to each name.
std::vector<std::pair<std::string, torch::Tensor>>
checkpointTensors(TransformerImpl& net, const std::string& prefix = {});

// Writes a model folder's weights in the family's own names and layout:
// model.safetensors, or an index and shards of at most maxShardBytes.
void saveWeightsFolder(TransformerImpl& net, const std::string& dir, StoredDtype dtype,
                       uint64_t maxShardBytes);

// Writes model.safetensors (F32) in the family's own names and layout.
void saveWeights(TransformerImpl& net, const std::string& safetensorsPath,
                 const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

} // namespace scalpel
