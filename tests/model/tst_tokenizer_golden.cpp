// Real tokenizer.json files (Llama 3.1, Qwen 3, Mistral, BERT), BERT folders
// with only vocab.txt and tokenizer_config.json (uncased, cased, accents
// kept), and two made for the purpose (Unigram with byte fallback; BPE with
// a subword prefix, an end-of-word suffix and every split behavior) give
// exactly the ids, tokens, character offsets and decoded text of Hugging
// Face's tokenizers (tests/data/tokenizers/make_goldens.js wrote the
// expectations).
#include "Tokenizer.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace scalpel;

namespace {

std::string dataPath(const std::string& rel) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/" + rel;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

template <typename T> std::string show(const T& v) {
    return nlohmann::json(v).dump();
}

} // namespace

class TestTokenizerGolden : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesHuggingFace_data() {
        QTest::addColumn<QString>("name");
        for (const char* n :
             {"llama3_1", "qwen3", "mistral", "bert", "bert-vocab-txt", "bert-vocab-txt-cased",
              "bert-vocab-txt-keep-accents", "toy-unigram", "toy-bpe"})
            QTest::newRow(n) << QString(n);
    }
    void matchesHuggingFace() {
        QFETCH(QString, name);
        const std::string dir = "tokenizers/" + name.toStdString() + "/";
        // The vocab.txt folders have no tokenizer.json: the folder loader
        // builds BERT's pipeline from vocab.txt and tokenizer_config.json.
        const Tokenizer t = Tokenizer::fromModelFolder(dataPath(dir));
        const auto golden = nlohmann::json::parse(slurp(dataPath(dir + "golden.json")));
        int checked = 0, failed = 0;
        QStringList report;
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"].get<std::string>();
            const Encoding e = t.encodeDetailed(text);
            std::vector<std::pair<std::size_t, std::size_t>> wantOffsets;
            for (const auto& o : c["offsets"])
                wantOffsets.emplace_back(o[0].get<std::size_t>(), o[1].get<std::size_t>());
            const std::vector<int> ids = c["ids"];
            const std::vector<int> plainIds = c["ids_plain"];
            const std::vector<std::string> tokens = c["tokens"];
            std::string what;
            if (e.ids != ids)
                what += " ids " + show(e.ids) + " want " + show(ids);
            if (t.encode(text, false) != plainIds)
                what += " plain ids " + show(t.encode(text, false)) + " want " + show(plainIds);
            if (e.spellings != tokens)
                what += " tokens " + show(e.spellings) + " want " + show(tokens);
            if (e.ids == ids && e.charOffsets(text) != wantOffsets)
                what += " offsets " + show(e.charOffsets(text)) + " want " + show(wantOffsets);
            if (t.decode(ids, false) != c["decoded"].get<std::string>())
                what += " decoded " + show(t.decode(ids, false)) + " want " + c["decoded"].dump();
            if (t.decode(ids, true) != c["decoded_skip"].get<std::string>())
                what += " decoded(skip) " + show(t.decode(ids, true)) + " want " +
                        c["decoded_skip"].dump();
            ++checked;
            if (!what.empty()) {
                ++failed;
                if (report.size() < 12)
                    report << QString::fromStdString(nlohmann::json(text).dump() + ":" + what);
            }
        }
        qInfo("%s: %d of %d golden cases match", qPrintable(name), checked - failed, checked);
        QVERIFY2(failed == 0, qPrintable(report.join("\n")));
        QVERIFY(checked >= 300);
    }

    // What a saved model folder holds: the tokenizer written back out
    // (LanguageModel::save) loads to one that encodes every golden string
    // the same, vocabularies of 128,000 and 151,000 tokens included.
    void savedTokenizerEncodesTheSame_data() { matchesHuggingFace_data(); }
    void savedTokenizerEncodesTheSame() {
        QFETCH(QString, name);
        const std::string dir = "tokenizers/" + name.toStdString() + "/";
        const Tokenizer t = Tokenizer::fromModelFolder(dataPath(dir));
        const Tokenizer u = Tokenizer::fromJson(t.toJson(), name.toStdString());
        QCOMPARE(u.vocabSize(), t.vocabSize());
        const auto golden = nlohmann::json::parse(slurp(dataPath(dir + "golden.json")));
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"].get<std::string>();
            QVERIFY2(u.encode(text) == c["ids"].get<std::vector<int>>(), text.c_str());
            QVERIFY2(u.encode(text, false) == c["ids_plain"].get<std::vector<int>>(), text.c_str());
        }
    }

    // As Hugging Face's WordPiece: a word longer than
    // max_input_chars_per_word (100 characters) is the unknown token; the
    // mask token is a special token that survives lower-casing.
    void bertVocabTxtLongWordsAndMask() {
        const Tokenizer t = Tokenizer::fromModelFolder(dataPath("tokenizers/bert-vocab-txt"));
        QCOMPARE(t.encode(std::string(101, 'a')), (std::vector<int>{101, 100, 102}));
        QVERIFY(t.encode(std::string(100, 'a')) != (std::vector<int>{101, 100, 102}));
        QCOMPARE(t.maskId(), std::optional<int>(103));
        QCOMPARE(t.encode("The capital of Ireland is [MASK]."),
                 (std::vector<int>{101, 1996, 3007, 1997, 3163, 2003, 103, 1012, 102}));
    }
};

QTEST_GUILESS_MAIN(TestTokenizerGolden)
#include "tst_tokenizer_golden.moc"
