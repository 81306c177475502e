#!/usr/bin/python3
"""Writes tiny random models of every supported family in exact Hugging Face
layout (config.json, model.safetensors or an index and shards,
tokenizer.json, or for BERT vocab.txt + tokenizer_config.json) and golden
figures computed by an independent reference forward pass written here in
plain PyTorch, following each family's Hugging Face modeling conventions:
the weights are used as stored (nn.Linear [out, in]), GPT-NeoX's fused qkv
is split per head as its attention splits it, rotary embeddings use the
rotate-half convention with Hugging Face's inverse-frequency formulas
(default, linear and llama3 scaling), and BERT (modeling_bert.py's
BertForMaskedLM) sums word, position and token-type 0 embeddings and norms
them, attends bidirectionally, norms after each residual sum (post-LN), uses
the exact erf GELU, and predicts through the masked-LM head (dense, GELU,
LayerNorm, decoder plus its bias).

golden.json per model: the prompt ids, log-probabilities of the next token at
every position (for BERT: of the token at every position), and
knowledge-neuron integrated-gradient scores (m = 20, zero baseline, every
layer) for one target token at the last position, or for BERT at the
prompt's [MASK] as in Dai et al. (ACL 2022), section 3.

Needs Debian's python3-torch (run with /usr/bin/python3).
Usage: /usr/bin/python3 make_families.py [OUT_DIR]
"""
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 64
PROMPT = [3, 17, 42, 5, 9, 60, 2, 11]
TARGET = 23
STEPS = 20


# ---------------------------------------------------------------- writing files

def safetensors_bytes(tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_model(folder, config, tensors, dtype="F32", shards=1):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        if f.endswith(".safetensors") or f.endswith(".json"):
            os.remove(os.path.join(folder, f))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    vocab = {"[UNK]": 0}
    for i in range(1, VOCAB):
        vocab["w%d" % i] = i
    tok = {"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None,
           "decoder": None,
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}}
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    if shards == 1:
        with open(os.path.join(folder, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(tensors, dtype))
        return
    per = (len(tensors) + shards - 1) // shards
    weight_map, total = {}, 0
    for s in range(shards):
        part = tensors[s * per:(s + 1) * per]
        name = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(safetensors_bytes(part, dtype))
        for n, t in part:
            weight_map[n] = name
            total += t.numel() * (2 if dtype == "BF16" else 4)
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


# ---------------------------------------------------------------- reference model

def rms_norm(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def inverse_frequencies(cfg, dim):
    base = cfg.get("rope_theta", cfg.get("rotary_emb_base", 10000.0))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.get("rope_scaling")
    if scaling:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "linear":
            inv = inv / scaling["factor"]
        elif kind == "llama3":
            factor = scaling["factor"]
            low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
            old = scaling["original_max_position_embeddings"]
            low_wavelen, high_wavelen = old / low, old / high
            wavelen = 2 * math.pi / inv
            out = torch.where(wavelen > low_wavelen, inv / factor, inv)
            smooth = (old / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * out / factor + smooth * out
            medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
            inv = torch.where(medium, smoothed, out)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rotary(q, k, inv, positions, rotary_dims):
    freqs = positions.float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    qr, qp = q[..., :rotary_dims], q[..., rotary_dims:]
    kr, kp = k[..., :rotary_dims], k[..., rotary_dims:]
    qr = qr * cos + rotate_half(qr) * sin
    kr = kr * cos + rotate_half(kr) * sin
    return torch.cat((qr, qp), -1), torch.cat((kr, kp), -1)


def attention(q, k, v, heads, kv_heads):
    # q [T, H, d], k/v [T, KV, d]
    groups = heads // kv_heads
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    T, d = q.shape[0], q.shape[-1]
    scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(d)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, heads * d)


def act(name, x):
    if name == "silu":
        return torch.nn.functional.silu(x)
    if name == "gelu":
        return torch.nn.functional.gelu(x)
    return torch.nn.functional.gelu(x, approximate="tanh")


def forward(cfg, W, ids, neuron_override=None, record=None):
    """Returns log-probabilities [R, T, V]. neuron_override: (layer, values
    [R, N]) replaces that layer's neurons at the last position, one row per
    value row. record: a dict that receives each layer's last-position
    neurons."""
    mt = cfg["model_type"]
    R = 1 if neuron_override is None else neuron_override[1].shape[0]
    T = len(ids)
    ids_t = torch.tensor(ids)
    positions = torch.arange(T)
    outs = []
    for r in range(R):
        if mt == "gpt_neox":
            h = W["gpt_neox.embed_in.weight"][ids_t]
        else:
            h = W["model.embed_tokens.weight"][ids_t]
        for l in range(cfg["num_hidden_layers"]):
            def neurons_of(x):
                if mt == "gpt_neox":
                    p = "gpt_neox.layers.%d.mlp." % l
                    a = act(cfg["hidden_act"], x @ W[p + "dense_h_to_4h.weight"].T + W[p + "dense_h_to_4h.bias"])
                else:
                    p = "model.layers.%d.mlp." % l
                    a = act(cfg["hidden_act"], x @ W[p + "gate_proj.weight"].T) * (x @ W[p + "up_proj.weight"].T)
                if record is not None:
                    record[l] = a[-1].detach()
                if neuron_override is not None and neuron_override[0] == l:
                    a = torch.cat((a[:-1], neuron_override[1][r:r + 1]), 0)
                return a

            def down(a):
                if mt == "gpt_neox":
                    p = "gpt_neox.layers.%d.mlp." % l
                    return a @ W[p + "dense_4h_to_h.weight"].T + W[p + "dense_4h_to_h.bias"]
                return a @ W["model.layers.%d.mlp.down_proj.weight" % l].T

            if mt == "gpt_neox":
                p = "gpt_neox.layers.%d." % l
                eps = cfg["layer_norm_eps"]
                H = cfg["num_attention_heads"]
                d = cfg["hidden_size"] // H
                x = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
                qkv = x @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"]
                qkv = qkv.view(T, H, 3 * d)
                q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
                rot = int(d * cfg["rotary_pct"])
                q, k = apply_rotary(q.transpose(0, 1), k.transpose(0, 1), inverse_frequencies(cfg, rot), positions, rot)
                q, k = q.transpose(0, 1), k.transpose(0, 1)
                a = attention(q, k, v, H, H) @ W[p + "attention.dense.weight"].T + W[p + "attention.dense.bias"]
                if cfg["use_parallel_residual"]:
                    x2 = layer_norm(h, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], eps)
                    h = h + a + down(neurons_of(x2))
                else:
                    h = h + a
                    x2 = layer_norm(h, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], eps)
                    h = h + down(neurons_of(x2))
            else:
                p = "model.layers.%d." % l
                eps = cfg["rms_norm_eps"]
                H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
                d = cfg.get("head_dim", cfg["hidden_size"] // H)
                x = rms_norm(h, W[p + "input_layernorm.weight"], eps)

                def proj(name, n):
                    y = x @ W[p + "self_attn.%s.weight" % name].T
                    if p + "self_attn.%s.bias" % name in W:
                        y = y + W[p + "self_attn.%s.bias" % name]
                    return y.view(T, n, d)
                q, k, v = proj("q_proj", H), proj("k_proj", KV), proj("v_proj", KV)
                if mt == "qwen3":
                    q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
                    k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
                q, k = apply_rotary(q.transpose(0, 1), k.transpose(0, 1), inverse_frequencies(cfg, d), positions, d)
                q, k = q.transpose(0, 1), k.transpose(0, 1)
                h = h + attention(q, k, v, H, KV) @ W[p + "self_attn.o_proj.weight"].T
                x2 = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
                h = h + down(neurons_of(x2))
        if mt == "gpt_neox":
            h = layer_norm(h, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], cfg["layer_norm_eps"])
            head = W["embed_out.weight"] if not cfg["tie_word_embeddings"] else W["gpt_neox.embed_in.weight"]
        else:
            h = rms_norm(h, W["model.norm.weight"], cfg["rms_norm_eps"])
            head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
        outs.append(torch.log_softmax(h @ head.T, -1))
    return torch.stack(outs)


def bert_forward(cfg, W, ids, neuron_override=None, record=None, at=None):
    """BertForMaskedLM's log-probabilities [R, T, V]; neuron_override and
    record act at position `at` (the mask)."""
    R = 1 if neuron_override is None else neuron_override[1].shape[0]
    T = len(ids)
    ids_t = torch.tensor(ids)
    eps = cfg["layer_norm_eps"]
    H = cfg["num_attention_heads"]
    d = cfg["hidden_size"] // H
    gelu = torch.nn.functional.gelu  # exact erf form, BERT's "gelu"

    def ln(x, base):
        suffix = (".gamma", ".beta") if base + ".gamma" in W else (".weight", ".bias")
        return layer_norm(x, W[base + suffix[0]], W[base + suffix[1]], eps)

    def dense(x, base):
        return x @ W[base + ".weight"].T + W[base + ".bias"]
    outs = []
    for r in range(R):
        e = "bert.embeddings."
        h = (W[e + "word_embeddings.weight"][ids_t] + W[e + "position_embeddings.weight"][:T] +
             W[e + "token_type_embeddings.weight"][0])
        h = ln(h, e + "LayerNorm")
        for l in range(cfg["num_hidden_layers"]):
            p = "bert.encoder.layer.%d." % l
            q = dense(h, p + "attention.self.query").view(T, H, d)
            k = dense(h, p + "attention.self.key").view(T, H, d)
            v = dense(h, p + "attention.self.value").view(T, H, d)
            scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(d)  # no causal mask
            ctx = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * d)
            h = ln(h + dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            a = gelu(dense(h, p + "intermediate.dense"))
            if record is not None:
                record[l] = a[at].detach()
            if neuron_override is not None and neuron_override[0] == l:
                a = torch.cat((a[:at], neuron_override[1][r:r + 1], a[at + 1:]), 0)
            h = ln(h + dense(a, p + "output.dense"), p + "output.LayerNorm")
        t = ln(gelu(dense(h, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
        decoder = W.get("cls.predictions.decoder.weight", W["bert.embeddings.word_embeddings.weight"])
        bias = W["cls.predictions.bias"] if "cls.predictions.bias" in W else W["cls.predictions.decoder.bias"]
        outs.append(torch.log_softmax(t @ decoder.T + bias, -1))
    return torch.stack(outs)


def bert_ig_scores(cfg, W, ids, target, at):
    base = {}
    bert_forward(cfg, W, ids, record=base, at=at)
    alphas = torch.arange(1, STEPS + 1, dtype=torch.float32) / STEPS
    scores = []
    for l in range(cfg["num_hidden_layers"]):
        x = base[l]
        rows = (alphas[:, None] * x[None, :]).clone().requires_grad_(True)
        p = bert_forward(cfg, W, ids, (l, rows), at=at)[:, at, target].exp()
        grad, = torch.autograd.grad(p.sum(), rows)
        scores.append((x * grad.sum(0) / STEPS).tolist())
    return scores


def ig_scores(cfg, W, ids, target):
    base = {}
    forward(cfg, W, ids, record=base)
    alphas = torch.arange(1, STEPS + 1, dtype=torch.float32) / STEPS
    scores = []
    for l in range(cfg["num_hidden_layers"]):
        x = base[l]
        rows = (alphas[:, None] * x[None, :]).clone().requires_grad_(True)
        p = forward(cfg, W, ids, (l, rows))[:, -1, target].exp()
        grad, = torch.autograd.grad(p.sum(), rows)
        scores.append((x * grad.sum(0) / STEPS).tolist())
    return scores


# ---------------------------------------------------------------- the models

def random_weights(cfg, gen):
    mt = cfg["model_type"]
    D, N, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    d = cfg.get("head_dim", D // H)

    def rnd(*shape, scale=0.2):
        return torch.randn(*shape, generator=gen) * scale

    def norm_w(n):
        return 1.0 + rnd(n, scale=0.1)
    W = []
    if mt == "gpt_neox":
        W.append(("gpt_neox.embed_in.weight", rnd(V, D, scale=0.5)))
        for l in range(L):
            p = "gpt_neox.layers.%d." % l
            W += [(p + "input_layernorm.weight", norm_w(D)), (p + "input_layernorm.bias", rnd(D, scale=0.05)),
                  (p + "post_attention_layernorm.weight", norm_w(D)),
                  (p + "post_attention_layernorm.bias", rnd(D, scale=0.05)),
                  (p + "attention.query_key_value.weight", rnd(3 * D, D)),
                  (p + "attention.query_key_value.bias", rnd(3 * D, scale=0.05)),
                  (p + "attention.dense.weight", rnd(D, D)), (p + "attention.dense.bias", rnd(D, scale=0.05)),
                  (p + "mlp.dense_h_to_4h.weight", rnd(N, D)), (p + "mlp.dense_h_to_4h.bias", rnd(N, scale=0.05)),
                  (p + "mlp.dense_4h_to_h.weight", rnd(D, N)), (p + "mlp.dense_4h_to_h.bias", rnd(D, scale=0.05))]
        W += [("gpt_neox.final_layer_norm.weight", norm_w(D)), ("gpt_neox.final_layer_norm.bias", rnd(D, scale=0.05))]
        if not cfg["tie_word_embeddings"]:
            W.append(("embed_out.weight", rnd(V, D, scale=0.5)))
        return W
    W.append(("model.embed_tokens.weight", rnd(V, D, scale=0.5)))
    bias = mt == "qwen2"
    for l in range(L):
        p = "model.layers.%d." % l
        W += [(p + "input_layernorm.weight", norm_w(D)),
              (p + "self_attn.q_proj.weight", rnd(H * d, D)), (p + "self_attn.k_proj.weight", rnd(KV * d, D)),
              (p + "self_attn.v_proj.weight", rnd(KV * d, D)), (p + "self_attn.o_proj.weight", rnd(D, H * d))]
        if bias:
            W += [(p + "self_attn.q_proj.bias", rnd(H * d, scale=0.1)), (p + "self_attn.k_proj.bias", rnd(KV * d, scale=0.1)),
                  (p + "self_attn.v_proj.bias", rnd(KV * d, scale=0.1))]
        if mt == "qwen3":
            W += [(p + "self_attn.q_norm.weight", norm_w(d)), (p + "self_attn.k_norm.weight", norm_w(d))]
        W += [(p + "post_attention_layernorm.weight", norm_w(D)),
              (p + "mlp.gate_proj.weight", rnd(N, D)), (p + "mlp.up_proj.weight", rnd(N, D)),
              (p + "mlp.down_proj.weight", rnd(D, N))]
    W.append(("model.norm.weight", norm_w(D)))
    if not cfg["tie_word_embeddings"]:
        W.append(("lm_head.weight", rnd(V, D, scale=0.5)))
    return W


def bert_weights(cfg, gen, old_names):
    """BertForMaskedLM's tensors; old_names: LayerNorm gamma/beta as in
    checkpoints converted from TensorFlow, and the decoder's bias under its
    own name."""
    D, N, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]

    def rnd(*shape, scale=0.2):
        return torch.randn(*shape, generator=gen) * scale

    def norm(base):
        w, b = (".gamma", ".beta") if old_names else (".weight", ".bias")
        return [(base + w, 1.0 + rnd(D, scale=0.1)), (base + b, rnd(D, scale=0.05))]

    def dense(base, out, inp):
        return [(base + ".weight", rnd(out, inp)), (base + ".bias", rnd(out, scale=0.05))]
    e = "bert.embeddings."
    W = [(e + "word_embeddings.weight", rnd(V, D, scale=0.5)),
         (e + "position_embeddings.weight", rnd(cfg["max_position_embeddings"], D, scale=0.3)),
         (e + "token_type_embeddings.weight", rnd(cfg["type_vocab_size"], D, scale=0.3))]
    W += norm(e + "LayerNorm")
    for l in range(L):
        p = "bert.encoder.layer.%d." % l
        for name in ("query", "key", "value"):
            W += dense(p + "attention.self." + name, D, D)
        W += dense(p + "attention.output.dense", D, D) + norm(p + "attention.output.LayerNorm")
        W += dense(p + "intermediate.dense", N, D) + dense(p + "output.dense", D, N)
        W += norm(p + "output.LayerNorm")
    W += dense("cls.predictions.transform.dense", D, D) + norm("cls.predictions.transform.LayerNorm")
    W.append(("cls.predictions.decoder.bias" if old_names else "cls.predictions.bias", rnd(V, scale=0.1)))
    if not cfg.get("tie_word_embeddings", True):
        W.append(("cls.predictions.decoder.weight", rnd(V, D, scale=0.5)))
    return W


def bert(**extra):
    cfg = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
           "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
           "vocab_size": VOCAB, "max_position_embeddings": 64, "type_vocab_size": 2,
           "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute",
           "pad_token_id": 0, "torch_dtype": "float32"}
    cfg.update(extra)
    return cfg


# BERT's vocabulary: its special tokens, then the words w5 .. w63.
BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(5, VOCAB)]
# "[CLS] w17 w42 w9 [MASK] w60 w11 [SEP]"
BERT_PROMPT = [2, 17, 42, 9, 4, 60, 11, 3]
BERT_MASK_AT = 4

BERT_MODELS = [
    ("bert", bert(), False),
    ("bert-gamma-beta-untied", bert(tie_word_embeddings=False), True),
]


def write_bert(folder, cfg, tensors):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        if f.endswith(".safetensors") or f.endswith(".json") or f.endswith(".txt"):
            os.remove(os.path.join(folder, f))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    # BertTokenizerFast's files: no tokenizer.json.
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(BERT_VOCAB) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                   "mask_token": "[MASK]"}, f, indent=2)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(tensors, "F32"))


def llama_like(model_type, arch, **extra):
    cfg = {"model_type": model_type, "architectures": [arch], "hidden_size": 32,
           "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 4, "vocab_size": VOCAB, "max_position_embeddings": 64,
           "rms_norm_eps": 1e-6, "hidden_act": "silu", "rope_theta": 10000.0,
           "tie_word_embeddings": False, "torch_dtype": "float32"}
    cfg.update(extra)
    return cfg


def neox(**extra):
    cfg = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "hidden_size": 32,
           "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
           "vocab_size": VOCAB, "max_position_embeddings": 64, "layer_norm_eps": 1e-5,
           "hidden_act": "gelu", "rotary_pct": 0.25, "rotary_emb_base": 10000,
           "use_parallel_residual": True, "tie_word_embeddings": False, "torch_dtype": "float32"}
    cfg.update(extra)
    return cfg


MODELS = [
    ("llama-gqa-llama3rope", llama_like("llama", "LlamaForCausalLM", num_key_value_heads=2,
                                        rope_theta=500000.0,
                                        rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                      "original_max_position_embeddings": 16})),
    ("llama-tied-linear", llama_like("llama", "LlamaForCausalLM", tie_word_embeddings=True,
                                     rope_scaling={"type": "linear", "factor": 2.0})),
    ("mistral", llama_like("mistral", "MistralForCausalLM", num_key_value_heads=1, head_dim=8,
                           sliding_window=4096)),
    ("qwen2", llama_like("qwen2", "Qwen2ForCausalLM", num_key_value_heads=2, rope_theta=1000000.0,
                         tie_word_embeddings=True, use_sliding_window=False)),
    ("qwen3", llama_like("qwen3", "Qwen3ForCausalLM", num_key_value_heads=2, head_dim=16,
                         rope_theta=1000000.0, tie_word_embeddings=True, attention_bias=False)),
    ("pythia", neox()),
    ("neox-sequential", neox(use_parallel_residual=False, rotary_pct=0.5)),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    for i, (name, cfg) in enumerate(MODELS):
        gen = torch.Generator().manual_seed(1000 + i)
        tensors = random_weights(cfg, gen)
        if name == "llama-gqa-llama3rope":
            # Values a BF16 file holds exactly, so the BF16 shards and the F32
            # single file are the same model.
            tensors = [(n, t.to(torch.bfloat16).to(torch.float32)) for n, t in tensors]
        W = dict(tensors)
        folder = os.path.join(out, name)
        write_model(folder, cfg, tensors)
        with torch.no_grad():
            logprobs = forward(cfg, W, PROMPT)[0]
        golden = {"prompt": PROMPT, "target": TARGET, "steps": STEPS,
                  "logprobs": [[round(v, 7) for v in row] for row in logprobs.tolist()],
                  "ig": [[float("%.8g" % v) for v in row] for row in ig_scores(cfg, W, PROMPT, TARGET)]}
        with open(os.path.join(folder, "golden.json"), "w") as f:
            json.dump(golden, f)
        if name == "llama-gqa-llama3rope":
            write_model(os.path.join(out, name + "-bf16-shards"), cfg, tensors, "BF16", shards=2)
        print("wrote", folder)
    for i, (name, cfg, old_names) in enumerate(BERT_MODELS):
        gen = torch.Generator().manual_seed(2000 + i)
        tensors = bert_weights(cfg, gen, old_names)
        W = dict(tensors)
        folder = os.path.join(out, name)
        write_bert(folder, cfg, tensors)
        with torch.no_grad():
            logprobs = bert_forward(cfg, W, BERT_PROMPT)[0]
        golden = {"prompt": BERT_PROMPT, "target": TARGET, "steps": STEPS, "mask_position": BERT_MASK_AT,
                  "logprobs": [[round(v, 7) for v in row] for row in logprobs.tolist()],
                  "ig": [[float("%.8g" % v) for v in row]
                         for row in bert_ig_scores(cfg, W, BERT_PROMPT, TARGET, BERT_MASK_AT)]}
        with open(os.path.join(folder, "golden.json"), "w") as f:
            json.dump(golden, f)
        print("wrote", folder)


if __name__ == "__main__":
    main()
