// config.json of every family read into one architecture description, and
// the tensor-name table each family's loader uses; bad configs are errors
// naming the file and the key.
#include "Error.h"
#include "ModelConfig.h"
#include "TensorNames.h"

#include <QtTest>

using namespace scalpel;

namespace {

QString errorOf(const std::string& json) {
    try {
        ModelConfig::fromJson(json, "cfg.json");
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

bool hasName(const ModelConfig& c, const std::string& name) {
    for (const auto& t : tensorNames(c))
        if (t.name == name)
            return true;
    return false;
}

} // namespace

class TestModelConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsLlama32() {
        // Llama-3.2-1B's config.json (the keys that matter).
        const auto c = ModelConfig::fromJson(
            R"({"architectures":["LlamaForCausalLM"],"bos_token_id":128000,
            "eos_token_id":[128001,128008,128009],"head_dim":64,"hidden_act":"silu",
            "hidden_size":2048,"intermediate_size":8192,"max_position_embeddings":131072,
            "model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,
            "num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_scaling":{"factor":32.0,
            "high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,
            "rope_type":"llama3"},"rope_theta":500000.0,"tie_word_embeddings":true,
            "torch_dtype":"bfloat16","vocab_size":128256})",
            "c");
        QCOMPARE(QString::fromStdString(c.family), QString("llama"));
        QCOMPARE(c.layers, 16);
        QCOMPARE(c.heads, 32);
        QCOMPARE(c.kvHeads, 8);
        QCOMPARE(c.headDim, 64);
        QCOMPARE(c.neurons, 8192);
        QVERIFY(c.gatedMlp);
        QVERIFY(c.norm == NormKind::RmsNorm);
        QVERIFY(c.positions == PositionKind::Rotary);
        QCOMPARE(c.rotaryDims, 64);
        QCOMPARE(QString::fromStdString(c.ropeScaling.type), QString("llama3"));
        QCOMPARE(c.ropeScaling.factor, 32.0);
        QCOMPARE(c.ropeScaling.originalContext, 8192);
        QVERIFY(c.tiedEmbeddings);
        QVERIFY(!c.qkvBias);
        QCOMPARE(c.bosTokenId, 128000);
        QCOMPARE(c.eosTokenId, 128001);
        // Llama-3.2-1B has 1,235,814,400 parameters with its tied embedding.
        QCOMPARE(c.parameterCount(), int64_t(1235814400));
        QVERIFY(!hasName(c, "lm_head.weight"));
        QVERIFY(hasName(c, "model.layers.15.mlp.down_proj.weight"));
    }

    void familyDifferences() {
        const char* base = R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
            "num_attention_heads":4,"vocab_size":100)";
        auto qwen2 =
            ModelConfig::fromJson(std::string("{\"model_type\":\"qwen2\",") + base + "}", "c");
        QVERIFY(qwen2.qkvBias);
        QVERIFY(!qwen2.attnOutBias);
        QVERIFY(hasName(qwen2, "model.layers.0.self_attn.k_proj.bias"));
        auto qwen3 = ModelConfig::fromJson(
            std::string("{\"model_type\":\"qwen3\",\"head_dim\":32,") + base + "}", "c");
        QVERIFY(qwen3.qkNorm);
        QCOMPARE(qwen3.headDim, 32); // explicit, not 64 / 4
        QVERIFY(hasName(qwen3, "model.layers.1.self_attn.q_norm.weight"));
        auto mistral = ModelConfig::fromJson(
            std::string("{\"model_type\":\"mistral\",\"sliding_window\":4096,") + base + "}", "c");
        QCOMPARE(mistral.slidingWindow, 4096);
        auto neox = ModelConfig::fromJson(
            std::string("{\"model_type\":\"gpt_neox\",\"rotary_pct\":0.25,") + base + "}", "c");
        QVERIFY(neox.parallelResidual);
        QCOMPARE(neox.rotaryDims, 4); // 25% of 16
        QVERIFY(!neox.tiedEmbeddings);
        QCOMPARE(QString::fromStdString(neox.activation), QString("gelu"));
        QVERIFY(hasName(neox, "embed_out.weight"));
        QVERIFY(hasName(neox, "gpt_neox.layers.0.attention.query_key_value.weight"));
    }

    void roundTripsThroughItsOwnJson_data() {
        QTest::addColumn<QString>("json");
        QTest::newRow("llama") << R"({"model_type":"llama","hidden_size":32,"intermediate_size":48,
            "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":64,
            "rope_scaling":{"type":"linear","factor":2.0}})";
        QTest::newRow("gpt_neox") << R"({"model_type":"gpt_neox","hidden_size":32,
            "intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":64,
            "rotary_pct":0.5,"use_parallel_residual":false})";
        QTest::newRow("bert") << R"({"model_type":"bert","hidden_size":32,
            "intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":64,
            "type_vocab_size":3,"tie_word_embeddings":false})";
    }

    void readsBertBaseCased() {
        // bert-base-cased's config.json: the paper's model (Dai et al., ACL
        // 2022, section 4.1).
        const auto c = ModelConfig::fromJson(
            R"({"architectures":["BertForMaskedLM"],"attention_probs_dropout_prob":0.1,
            "gradient_checkpointing":false,"hidden_act":"gelu","hidden_dropout_prob":0.1,
            "hidden_size":768,"initializer_range":0.02,"intermediate_size":3072,
            "layer_norm_eps":1e-12,"max_position_embeddings":512,"model_type":"bert",
            "num_attention_heads":12,"num_hidden_layers":12,"pad_token_id":0,
            "position_embedding_type":"absolute","transformers_version":"4.6.0.dev0",
            "type_vocab_size":2,"use_cache":true,"vocab_size":28996})",
            "c");
        QCOMPARE(QString::fromStdString(c.family), QString("bert"));
        QVERIFY(!c.causal);
        QVERIFY(c.postNorm && c.embeddingNorm && c.headTransform && c.unembeddingBias);
        QVERIFY(c.tiedEmbeddings);
        QCOMPARE(c.tokenTypes, 2);
        QCOMPARE(QString::fromStdString(c.activation), QString("gelu"));
        QCOMPARE(c.normEps, 1e-12);
        QCOMPARE(c.contextLength, 512);
        QCOMPARE(c.headDim, 64);
        // BertForMaskedLM's parameter count (no pooler): 108,340,804.
        QCOMPARE(c.parameterCount(), int64_t(108340804));
        QVERIFY(hasName(c, "bert.encoder.layer.11.output.dense.weight"));
        QVERIFY(hasName(c, "cls.predictions.transform.dense.weight"));
        QVERIFY(hasName(c, "cls.predictions.bias"));
        QVERIFY(!hasName(c, "cls.predictions.decoder.weight")); // tied
        for (const auto& t : tensorNames(c))
            if (t.name == "bert.embeddings.LayerNorm.weight")
                QCOMPARE(t.alternatives,
                         std::vector<std::string>{"bert.embeddings.LayerNorm.gamma"});
    }
    void roundTripsThroughItsOwnJson() {
        QFETCH(QString, json);
        const auto a = ModelConfig::fromJson(json.toStdString(), "a");
        const auto b = ModelConfig::fromJson(a.toJson(), "b");
        QCOMPARE(b.toJson(), a.toJson());
        QCOMPARE(b.parameterCount(), a.parameterCount());
        QCOMPARE(b.rotaryDims, a.rotaryDims);
        QCOMPARE(b.parallelResidual, a.parallelResidual);
    }

    void badConfigsNameTheKey_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("unknown model_type")
            << R"({"model_type":"mamba"})"
            << "model_type 'mamba' is not supported (supported: gpt2, llama, mistral, qwen2, "
               "qwen3, gpt_neox, bert)";
        QTest::newRow("relative positions")
            << R"({"model_type":"bert","hidden_size":32,"intermediate_size":48,
               "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":64,
               "position_embedding_type":"relative_key"})"
            << "position_embedding_type 'relative_key' is not supported";
        QTest::newRow("bert decoder")
            << R"({"model_type":"bert","hidden_size":32,"intermediate_size":48,
               "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":64,"is_decoder":true})"
            << "'is_decoder'";
        QTest::newRow("kv heads do not divide heads")
            << R"({"model_type":"llama","hidden_size":64,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":6,"num_key_value_heads":4,
               "vocab_size":9})"
            << "num_attention_heads (6) is not divisible by num_key_value_heads (4)";
        QTest::newRow("hidden not divisible without head_dim")
            << R"({"model_type":"llama","hidden_size":50,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9})"
            << "hidden_size (50) is not divisible by num_attention_heads (4)";
        QTest::newRow("absurd size")
            << R"({"model_type":"llama","hidden_size":99999999999,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9})"
            << "'hidden_size' must be a positive integer";
        QTest::newRow("missing layers")
            << R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":8,
               "num_attention_heads":4,"vocab_size":9})"
            << "'num_hidden_layers' is missing";
        QTest::newRow("unknown rope scaling")
            << R"({"model_type":"llama","hidden_size":64,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9,
               "rope_scaling":{"rope_type":"yarn","factor":4}})"
            << "rope_scaling type 'yarn' is not supported";
        QTest::newRow("bad activation")
            << R"({"model_type":"gpt_neox","hidden_size":64,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9,
               "hidden_act":"swiglu2"})"
            << "hidden_act 'swiglu2' is not supported";
        QTest::newRow("odd rotary dims")
            << R"({"model_type":"gpt_neox","hidden_size":64,"intermediate_size":8,
               "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9,"rotary_pct":0.1})"
            << "rotary";
    }
    void badConfigsNameTheKey() {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        const QString e = errorOf(json.toStdString());
        QVERIFY2(e.contains(mentions), qPrintable(e));
        QVERIFY2(e.contains("cfg.json"), qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "tst_modelconfig.moc"
