#include "TensorNames.h"

namespace scalpel {

namespace {

std::string layerPrefix(const std::string& base, int l) {
    return base + std::to_string(l) + ".";
}

void gpt2Names(const ModelConfig& c, std::vector<TensorName>& out) {
    // Hugging Face writes GPT2LMHeadModel's tensors under "transformer.";
    // GPT2Model's (and many conversions') without it. Both load.
    auto add = [&](TensorRole r, int l, const std::string& bare, TensorLayout lay) {
        out.push_back({r, l, "transformer." + bare, {bare}, lay});
    };
    add(TensorRole::TokenEmbedding, -1, "wte.weight", TensorLayout::Plain);
    add(TensorRole::PositionEmbedding, -1, "wpe.weight", TensorLayout::Plain);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = layerPrefix("h.", l);
        add(TensorRole::AttnNormWeight, l, p + "ln_1.weight", TensorLayout::Plain);
        add(TensorRole::AttnNormBias, l, p + "ln_1.bias", TensorLayout::Plain);
        add(TensorRole::Qkv, l, p + "attn.c_attn.weight", TensorLayout::InOut);
        add(TensorRole::QkvBias, l, p + "attn.c_attn.bias", TensorLayout::Plain);
        add(TensorRole::AttnOut, l, p + "attn.c_proj.weight", TensorLayout::InOut);
        add(TensorRole::AttnOutBias, l, p + "attn.c_proj.bias", TensorLayout::Plain);
        add(TensorRole::FfnNormWeight, l, p + "ln_2.weight", TensorLayout::Plain);
        add(TensorRole::FfnNormBias, l, p + "ln_2.bias", TensorLayout::Plain);
        add(TensorRole::Up, l, p + "mlp.c_fc.weight", TensorLayout::InOut);
        add(TensorRole::UpBias, l, p + "mlp.c_fc.bias", TensorLayout::Plain);
        add(TensorRole::Down, l, p + "mlp.c_proj.weight", TensorLayout::InOut);
        add(TensorRole::DownBias, l, p + "mlp.c_proj.bias", TensorLayout::Plain);
    }
    add(TensorRole::FinalNormWeight, -1, "ln_f.weight", TensorLayout::Plain);
    add(TensorRole::FinalNormBias, -1, "ln_f.bias", TensorLayout::Plain);
}

void llamaNames(const ModelConfig& c, std::vector<TensorName>& out) {
    auto add = [&](TensorRole r, int l, const std::string& name, TensorLayout lay) {
        out.push_back({r, l, name, {}, lay});
    };
    add(TensorRole::TokenEmbedding, -1, "model.embed_tokens.weight", TensorLayout::Plain);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = layerPrefix("model.layers.", l);
        add(TensorRole::AttnNormWeight, l, p + "input_layernorm.weight", TensorLayout::Plain);
        add(TensorRole::Q, l, p + "self_attn.q_proj.weight", TensorLayout::OutIn);
        add(TensorRole::K, l, p + "self_attn.k_proj.weight", TensorLayout::OutIn);
        add(TensorRole::V, l, p + "self_attn.v_proj.weight", TensorLayout::OutIn);
        if (c.qkvBias) {
            add(TensorRole::QBias, l, p + "self_attn.q_proj.bias", TensorLayout::Plain);
            add(TensorRole::KBias, l, p + "self_attn.k_proj.bias", TensorLayout::Plain);
            add(TensorRole::VBias, l, p + "self_attn.v_proj.bias", TensorLayout::Plain);
        }
        if (c.qkNorm) {
            add(TensorRole::QNorm, l, p + "self_attn.q_norm.weight", TensorLayout::Plain);
            add(TensorRole::KNorm, l, p + "self_attn.k_norm.weight", TensorLayout::Plain);
        }
        add(TensorRole::AttnOut, l, p + "self_attn.o_proj.weight", TensorLayout::OutIn);
        if (c.attnOutBias)
            add(TensorRole::AttnOutBias, l, p + "self_attn.o_proj.bias", TensorLayout::Plain);
        add(TensorRole::FfnNormWeight, l, p + "post_attention_layernorm.weight",
            TensorLayout::Plain);
        add(TensorRole::Gate, l, p + "mlp.gate_proj.weight", TensorLayout::OutIn);
        add(TensorRole::Up, l, p + "mlp.up_proj.weight", TensorLayout::OutIn);
        add(TensorRole::Down, l, p + "mlp.down_proj.weight", TensorLayout::OutIn);
        if (c.mlpBias) {
            add(TensorRole::UpBias, l, p + "mlp.up_proj.bias", TensorLayout::Plain);
            add(TensorRole::DownBias, l, p + "mlp.down_proj.bias", TensorLayout::Plain);
        }
    }
    add(TensorRole::FinalNormWeight, -1, "model.norm.weight", TensorLayout::Plain);
    if (!c.tiedEmbeddings)
        add(TensorRole::Unembedding, -1, "lm_head.weight", TensorLayout::Plain);
}

void neoxNames(const ModelConfig& c, std::vector<TensorName>& out) {
    auto add = [&](TensorRole r, int l, const std::string& name, TensorLayout lay) {
        out.push_back({r, l, name, {}, lay});
    };
    add(TensorRole::TokenEmbedding, -1, "gpt_neox.embed_in.weight", TensorLayout::Plain);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = layerPrefix("gpt_neox.layers.", l);
        add(TensorRole::AttnNormWeight, l, p + "input_layernorm.weight", TensorLayout::Plain);
        add(TensorRole::AttnNormBias, l, p + "input_layernorm.bias", TensorLayout::Plain);
        add(TensorRole::Qkv, l, p + "attention.query_key_value.weight", TensorLayout::OutInNeoxQkv);
        if (c.qkvBias)
            add(TensorRole::QkvBias, l, p + "attention.query_key_value.bias",
                TensorLayout::OutInNeoxQkv);
        add(TensorRole::AttnOut, l, p + "attention.dense.weight", TensorLayout::OutIn);
        if (c.attnOutBias)
            add(TensorRole::AttnOutBias, l, p + "attention.dense.bias", TensorLayout::Plain);
        add(TensorRole::FfnNormWeight, l, p + "post_attention_layernorm.weight",
            TensorLayout::Plain);
        add(TensorRole::FfnNormBias, l, p + "post_attention_layernorm.bias", TensorLayout::Plain);
        add(TensorRole::Up, l, p + "mlp.dense_h_to_4h.weight", TensorLayout::OutIn);
        add(TensorRole::UpBias, l, p + "mlp.dense_h_to_4h.bias", TensorLayout::Plain);
        add(TensorRole::Down, l, p + "mlp.dense_4h_to_h.weight", TensorLayout::OutIn);
        add(TensorRole::DownBias, l, p + "mlp.dense_4h_to_h.bias", TensorLayout::Plain);
    }
    add(TensorRole::FinalNormWeight, -1, "gpt_neox.final_layer_norm.weight", TensorLayout::Plain);
    add(TensorRole::FinalNormBias, -1, "gpt_neox.final_layer_norm.bias", TensorLayout::Plain);
    if (!c.tiedEmbeddings)
        add(TensorRole::Unembedding, -1, "embed_out.weight", TensorLayout::Plain);
}

void bertNames(const ModelConfig& c, std::vector<TensorName>& out) {
    auto add = [&](TensorRole r, int l, const std::string& name, TensorLayout lay) {
        out.push_back({r, l, name, {}, lay});
    };
    // Checkpoints converted from the original TensorFlow release name
    // LayerNorm parameters gamma and beta.
    auto addNorm = [&](TensorRole weight, TensorRole bias, int l, const std::string& base) {
        out.push_back({weight, l, base + ".weight", {base + ".gamma"}, TensorLayout::Plain});
        out.push_back({bias, l, base + ".bias", {base + ".beta"}, TensorLayout::Plain});
    };
    add(TensorRole::TokenEmbedding, -1, "bert.embeddings.word_embeddings.weight",
        TensorLayout::Plain);
    add(TensorRole::PositionEmbedding, -1, "bert.embeddings.position_embeddings.weight",
        TensorLayout::Plain);
    add(TensorRole::TokenTypeEmbedding, -1, "bert.embeddings.token_type_embeddings.weight",
        TensorLayout::Plain);
    addNorm(TensorRole::EmbeddingNormWeight, TensorRole::EmbeddingNormBias, -1,
            "bert.embeddings.LayerNorm");
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = layerPrefix("bert.encoder.layer.", l);
        add(TensorRole::Q, l, p + "attention.self.query.weight", TensorLayout::OutIn);
        add(TensorRole::QBias, l, p + "attention.self.query.bias", TensorLayout::Plain);
        add(TensorRole::K, l, p + "attention.self.key.weight", TensorLayout::OutIn);
        add(TensorRole::KBias, l, p + "attention.self.key.bias", TensorLayout::Plain);
        add(TensorRole::V, l, p + "attention.self.value.weight", TensorLayout::OutIn);
        add(TensorRole::VBias, l, p + "attention.self.value.bias", TensorLayout::Plain);
        add(TensorRole::AttnOut, l, p + "attention.output.dense.weight", TensorLayout::OutIn);
        add(TensorRole::AttnOutBias, l, p + "attention.output.dense.bias", TensorLayout::Plain);
        // Post-norm: the attention norm follows the attention's residual sum,
        // the FFN norm the FFN's.
        addNorm(TensorRole::AttnNormWeight, TensorRole::AttnNormBias, l,
                p + "attention.output.LayerNorm");
        add(TensorRole::Up, l, p + "intermediate.dense.weight", TensorLayout::OutIn);
        add(TensorRole::UpBias, l, p + "intermediate.dense.bias", TensorLayout::Plain);
        add(TensorRole::Down, l, p + "output.dense.weight", TensorLayout::OutIn);
        add(TensorRole::DownBias, l, p + "output.dense.bias", TensorLayout::Plain);
        addNorm(TensorRole::FfnNormWeight, TensorRole::FfnNormBias, l, p + "output.LayerNorm");
    }
    add(TensorRole::HeadDense, -1, "cls.predictions.transform.dense.weight", TensorLayout::OutIn);
    add(TensorRole::HeadDenseBias, -1, "cls.predictions.transform.dense.bias", TensorLayout::Plain);
    addNorm(TensorRole::FinalNormWeight, TensorRole::FinalNormBias, -1,
            "cls.predictions.transform.LayerNorm");
    // Hugging Face ties the decoder's bias to this one; either name loads.
    out.push_back({TensorRole::UnembeddingBias,
                   -1,
                   "cls.predictions.bias",
                   {"cls.predictions.decoder.bias"},
                   TensorLayout::Plain});
    if (!c.tiedEmbeddings)
        add(TensorRole::Unembedding, -1, "cls.predictions.decoder.weight", TensorLayout::Plain);
}

} // namespace

std::vector<TensorName> tensorNames(const ModelConfig& c) {
    std::vector<TensorName> out;
    if (c.family == "gpt2")
        gpt2Names(c, out);
    else if (c.family == "llama")
        llamaNames(c, out);
    else if (c.family == "gpt_neox")
        neoxNames(c, out);
    else if (c.family == "bert")
        bertNames(c, out);
    return out;
}

const char* roleName(TensorRole r) {
    switch (r) {
    case TensorRole::TokenEmbedding:
        return "token embedding";
    case TensorRole::PositionEmbedding:
        return "position embedding";
    case TensorRole::TokenTypeEmbedding:
        return "token-type embedding";
    case TensorRole::EmbeddingNormWeight:
        return "embedding norm";
    case TensorRole::EmbeddingNormBias:
        return "embedding norm bias";
    case TensorRole::AttnNormWeight:
        return "attention norm";
    case TensorRole::AttnNormBias:
        return "attention norm bias";
    case TensorRole::Q:
        return "query projection";
    case TensorRole::K:
        return "key projection";
    case TensorRole::V:
        return "value projection";
    case TensorRole::QBias:
        return "query bias";
    case TensorRole::KBias:
        return "key bias";
    case TensorRole::VBias:
        return "value bias";
    case TensorRole::Qkv:
        return "fused query/key/value projection";
    case TensorRole::QkvBias:
        return "fused query/key/value bias";
    case TensorRole::QNorm:
        return "query norm";
    case TensorRole::KNorm:
        return "key norm";
    case TensorRole::AttnOut:
        return "attention output projection";
    case TensorRole::AttnOutBias:
        return "attention output bias";
    case TensorRole::FfnNormWeight:
        return "FFN norm";
    case TensorRole::FfnNormBias:
        return "FFN norm bias";
    case TensorRole::Gate:
        return "FFN gate projection";
    case TensorRole::Up:
        return "FFN up projection";
    case TensorRole::UpBias:
        return "FFN up bias";
    case TensorRole::Down:
        return "FFN down projection";
    case TensorRole::DownBias:
        return "FFN down bias";
    case TensorRole::HeadDense:
        return "masked-LM head transform";
    case TensorRole::HeadDenseBias:
        return "masked-LM head transform bias";
    case TensorRole::FinalNormWeight:
        return "final norm";
    case TensorRole::FinalNormBias:
        return "final norm bias";
    case TensorRole::Unembedding:
        return "unembedding";
    case TensorRole::UnembeddingBias:
        return "unembedding bias";
    }
    return "tensor";
}

} // namespace scalpel
