// scalpel-cli over the golden strings of every tokenizer (accented Latin,
// CJK, emoji with joiners, special-token text, ...): `tokenize` prints valid
// JSON whose ids equal Hugging Face's (special tokens included), and
// `predict` prints valid JSON and runs exactly those ids. Each tokenizer sits
// in a tiny random Llama-family model folder built here.
#include "LanguageModel.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace scalpel;
using json = nlohmann::json;

namespace {

std::string dataPath(const std::string& rel) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/" + rel;
}

json runCli(const QStringList& args, QString* error) {
    QProcess p;
    p.start(QStringLiteral(SCALPEL_CLI), args);
    if (!p.waitForFinished(120000)) {
        *error = "timed out";
        return {};
    }
    const QByteArray out = p.readAllStandardOutput();
    if (p.exitCode() != 0) {
        *error = QString::fromUtf8(p.readAllStandardError());
        return {};
    }
    auto j = json::parse(out.toStdString(), nullptr, false);
    if (j.is_discarded())
        *error = "not JSON: " + QString::fromUtf8(out.left(300));
    return j;
}

// A random one-layer Llama whose vocabulary fits the tokenizer, with the
// tokenizer file copied in unchanged.
void makeModel(const std::string& tokenizerDir, const std::string& out) {
    const Tokenizer tok = Tokenizer::fromFile(tokenizerDir + "/tokenizer.json");
    ModelConfig c;
    c.modelType = c.family = "llama";
    c.layers = 1;
    c.hidden = 8;
    c.heads = 2;
    c.kvHeads = 1;
    c.headDim = 4;
    c.neurons = 8;
    c.vocabSize = tok.vocabSize();
    c.contextLength = 4096;
    c.norm = NormKind::RmsNorm;
    c.activation = "silu";
    c.gatedMlp = true;
    c.positions = PositionKind::Rotary;
    c.rotaryDims = 4;
    c.tiedEmbeddings = true;
    LanguageModel::createRandom(c, tok, 1)->save(out);
    std::filesystem::copy_file(tokenizerDir + "/tokenizer.json", out + "/tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void tokenizeAndPredictCarryEveryString_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"llama3_1", "qwen3", "mistral", "bert", "toy-bpe", "toy-unigram"})
            QTest::newRow(n) << n;
    }

    void tokenizeAndPredictCarryEveryString() {
        QFETCH(QString, name);
        const std::string dir = dataPath("tokenizers/" + name.toStdString());
        QTemporaryDir model;
        makeModel(dir, model.path().toStdString());
        std::ifstream in(dir + "/golden.json");
        const json golden = json::parse(in);
        // The strings that are not plain ASCII, where byte-level tokens split
        // characters, plus the first few of the rest.
        int ascii = 0, tried = 0;
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"].get<std::string>();
            bool plain = true;
            for (unsigned char ch : text)
                plain = plain && ch < 0x80;
            if (plain && ascii++ >= 3)
                continue;
            if (++tried > 10)
                break;
            QString error;
            const json tok = runCli(
                {"tokenize", "--model", model.path(), "--text", QString::fromStdString(text)},
                &error);
            QVERIFY2(error.isEmpty(), qPrintable(QString::fromStdString(text) + ": " + error));
            QCOMPARE(tok["ids"].get<std::vector<int>>(), c["ids"].get<std::vector<int>>());
            QCOMPARE(tok["tokens"].get<std::vector<std::string>>(),
                     c["tokens"].get<std::vector<std::string>>());
            const json plainTok = runCli({"tokenize", "--model", model.path(), "--text",
                                          QString::fromStdString(text), "--no-special-tokens"},
                                         &error);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QCOMPARE(plainTok["ids"].get<std::vector<int>>(),
                     c["ids_plain"].get<std::vector<int>>());
            const bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
            if (blank)
                continue; // a blank prompt is refused by design ("the prompt is empty")
            const json pred = runCli({"predict", "--model", model.path(), "--prompt",
                                      QString::fromStdString(text), "--top-k", "3"},
                                     &error);
            QVERIFY2(error.isEmpty(), qPrintable(QString::fromStdString(text) + ": " + error));
            QCOMPARE(pred["ids"].get<std::vector<int>>(), tok["ids"].get<std::vector<int>>());
            QCOMPARE(pred["top"].size(), std::size_t(3));
        }
        QVERIFY(tried > 5);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
