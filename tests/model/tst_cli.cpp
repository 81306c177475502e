// scalpel-cli over the golden strings of every tokenizer (accented Latin,
// CJK, emoji with joiners, special-token text, ...), each through argv:
// `tokenize` prints valid JSON whose ids equal Hugging Face's, with the
// special tokens and without, and `predict` runs exactly those ids. The
// strings of one tokenizer go in one call (--text and --prompt repeat). Each
// tokenizer sits in a tiny random Llama-family model folder built here.
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
        // characters, plus the first few of the rest; each goes through argv.
        std::vector<json> cases;
        int ascii = 0;
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"].get<std::string>();
            bool plain = true;
            for (unsigned char ch : text)
                plain = plain && ch < 0x80;
            if (plain && ascii++ >= 3)
                continue;
            cases.push_back(c);
            if (cases.size() == 10)
                break;
        }
        QVERIFY(cases.size() > 5);
        // A blank prompt is refused by design ("the prompt is empty"): only
        // `tokenize` takes those.
        auto blank = [](const json& c) {
            return c["text"].get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos;
        };
        auto args = [&](const char* command, const char* option, bool withBlank) {
            QStringList a{command, "--model", model.path()};
            for (const json& c : cases)
                if (withBlank || !blank(c))
                    a << option << QString::fromStdString(c["text"].get<std::string>());
            return a;
        };
        QString error;
        // Several strings in one call: one JSON object each, in order.
        const json tok = runCli(args("tokenize", "--text", true), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const json plainTok =
            runCli(args("tokenize", "--text", true) << "--no-special-tokens", &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const json pred = runCli(args("predict", "--prompt", false) << "--top-k"
                                                                    << "3",
                                 &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const json plainPred = runCli(args("predict", "--prompt", false) << "--top-k"
                                                                         << "3"
                                                                         << "--no-special-tokens",
                                      &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(tok.is_array() && plainTok.is_array() && pred.is_array() && plainPred.is_array());
        QCOMPARE(tok.size(), cases.size());
        std::size_t predicted = 0;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const json& c = cases[i];
            const QByteArray text = QByteArray::fromStdString(c["text"].get<std::string>());
            QVERIFY2(tok[i]["ids"] == c["ids"], text);
            QVERIFY2(tok[i]["tokens"] == c["tokens"], text);
            QVERIFY2(plainTok[i]["ids"] == c["ids_plain"], text);
            if (blank(c))
                continue;
            // `predict` runs exactly the ids `tokenize` prints, with the
            // special tokens and without.
            QVERIFY2(pred[predicted]["ids"] == c["ids"], text);
            QVERIFY2(plainPred[predicted]["ids"] == c["ids_plain"], text);
            QCOMPARE(pred[predicted]["top"].size(), std::size_t(3));
            ++predicted;
        }
        QCOMPARE(pred.size(), predicted);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
