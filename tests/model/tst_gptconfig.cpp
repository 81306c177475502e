// config.json: required GPT-2 keys are checked by name, unknown keys ignored.
#include "Error.h"
#include "GptConfig.h"

#include <QtTest>

using namespace scalpel;

class TestGptConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsHuggingFaceGpt2Config() {
        const auto c = GptConfig::fromJson(
            "{\"activation_function\":\"gelu_new\",\"architectures\":[\"GPT2LMHeadModel\"],"
            "\"layer_norm_epsilon\":1e-05,\"model_type\":\"gpt2\",\"n_ctx\":1024,\"n_embd\":768,"
            "\"n_head\":12,\"n_layer\":12,\"n_positions\":1024,\"vocab_size\":50257,"
            "\"task_specific_params\":{\"x\":1}}",
            "c");
        QCOMPARE(c.nLayer, 12);
        QCOMPARE(c.nHead, 12);
        QCOMPARE(c.nEmbd, 768);
        QCOMPARE(c.nPositions, 1024);
        QCOMPARE(c.vocabSize, 50257);
        QCOMPARE(c.neuronsPerLayer(), 3072);
        QCOMPARE(c.activation, std::string("gelu_new"));
    }
    void roundTrips() {
        GptConfig c;
        c.nLayer = 3;
        c.nHead = 2;
        c.nEmbd = 8;
        c.nPositions = 16;
        c.vocabSize = 40;
        const auto d = GptConfig::fromJson(c.toJson(), "c");
        QCOMPARE(d.nLayer, 3);
        QCOMPARE(d.vocabSize, 40);
    }
    void badConfigsNameTheKey_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("no n_layer")
            << "{\"n_head\":2,\"n_embd\":8,\"n_positions\":8,\"vocab_size\":9}"
            << "'n_layer' is missing";
        QTest::newRow("string n_head")
            << "{\"n_layer\":1,\"n_head\":\"2\",\"n_embd\":8,\"n_positions\":8,\"vocab_size\":9}"
            << "'n_head'";
        QTest::newRow("zero vocab")
            << "{\"n_layer\":1,\"n_head\":2,\"n_embd\":8,\"n_positions\":8,\"vocab_size\":0}"
            << "'vocab_size'";
        QTest::newRow("heads do not divide")
            << "{\"n_layer\":1,\"n_head\":3,\"n_embd\":8,\"n_positions\":8,\"vocab_size\":9}"
            << "multiple";
        QTest::newRow("other architecture") << "{\"model_type\":\"llama\",\"n_layer\":1}"
                                            << "llama";
        QTest::newRow("bad activation")
            << "{\"n_layer\":1,\"n_head\":2,\"n_embd\":8,\"n_positions\":8,\"vocab_size\":9,"
               "\"activation_function\":\"swish\"}"
            << "swish";
        QTest::newRow("not an object") << "[1,2]"
                                       << "not a JSON object";
    }
    void badConfigsNameTheKey() {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        try {
            GptConfig::fromJson(json.toStdString(), "cfg.json");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
            QVERIFY(QString(e.what()).contains("cfg.json"));
        }
    }
};

QTEST_GUILESS_MAIN(TestGptConfig)
#include "tst_gptconfig.moc"
