#pragma once
// Hook sites of the transformer's forward pass. LibTorch has no forward
// hooks in C++, so a pass takes its hooks as an argument; nothing is global.
// Engine-internal: includes LibTorch.
#include <torch/torch.h>

#include <vector>

namespace scalpel {

enum class HookSite {
    Embedding,       // token (+ position) embedding, before block 0 (layer -1)
    BlockInput,      // residual stream entering block l
    AttentionOutput, // block l's attention output, before it joins the residual
    Neurons,         // block l's FFN neurons: the input of its down projection
    FfnOutput,       // block l's FFN output (down projection, bias included)
    BlockOutput,     // residual stream leaving block l
};

enum class HookOp {
    Read,    // *sink = the tensor (graph kept: the caller may differentiate)
    Scale,   // multiply by `value`
    Add,     // add `value`
    Replace, // replace by `value` (gradients flow to it)
};

// One hook. Positions index the input of this call (0 = its first token).
// With position >= 0, `value` is [rows, width] (or broadcastable to it) and
// touches that position only; with position -1 it applies at every position
// (Scale: [rows, width] or [width]; Add / Replace: broadcastable to the
// whole [rows, time, width] tensor). `rows` picks batch rows (empty: all).
struct Hook {
    HookSite site = HookSite::Neurons;
    int layer = -1;
    HookOp op = HookOp::Read;
    int64_t position = -1;
    torch::Tensor value;
    std::vector<int64_t> rows;
    torch::Tensor* sink = nullptr;
};

struct Hooks {
    std::vector<Hook> list;

    bool empty() const { return list.empty(); }
    Hooks& add(Hook h) {
        list.push_back(std::move(h));
        return *this;
    }
    // Applies, in order, every hook at (site, layer) to t [rows, time, width].
    torch::Tensor apply(HookSite site, int layer, torch::Tensor t) const;
};

// `hooks` may be null: nothing to apply.
inline torch::Tensor applyHooks(const Hooks* hooks, HookSite site, int layer, torch::Tensor t) {
    return hooks && !hooks->empty() ? hooks->apply(site, layer, std::move(t)) : t;
}

} // namespace scalpel
