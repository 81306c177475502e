// Byte-level BPE gives exactly GPT-2's ids (golden file from the reference
// JavaScript encoder) and decodes back to the same bytes; WordLevel keeps
// added tokens whole and reports unknown words.
#include "Error.h"
#include "Tokenizer.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
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

const Tokenizer& gpt2(bool endOfTextSpecial) {
    static Tokenizer plain = Tokenizer::fromVocabAndMerges(dataPath("gpt2/encoder.json"),
                                                           dataPath("gpt2/vocab.bpe"), false);
    static Tokenizer special = Tokenizer::fromVocabAndMerges(dataPath("gpt2/encoder.json"),
                                                             dataPath("gpt2/vocab.bpe"), true);
    return endOfTextSpecial ? special : plain;
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void helloWorld() {
        QCOMPARE(gpt2(true).encode("Hello world"), (std::vector<int>{15496, 995}));
    }

    void goldenIdsMatchReferenceEncoder() {
        const auto golden = nlohmann::json::parse(slurp(dataPath("gpt2/bpe_golden.json")));
        int checked = 0;
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"].get<std::string>();
            const auto want = c["ids"].get<std::vector<int>>();
            const auto got = gpt2(false).encode(text);
            if (got != want) {
                std::string g, w;
                for (int i : got)
                    g += std::to_string(i) + " ";
                for (int i : want)
                    w += std::to_string(i) + " ";
                QFAIL(qPrintable(QString("text %1: got [%2] want [%3]")
                                     .arg(QString::fromStdString(nlohmann::json(text).dump()),
                                          QString::fromStdString(g), QString::fromStdString(w))));
            }
            QCOMPARE(gpt2(false).decode(got), text);
            ++checked;
        }
        QVERIFY(checked >= 300);
        qInfo("%d golden cases match", checked);
    }

    void endOfTextIsSpecialInHuggingFaceMode() {
        QCOMPARE(gpt2(true).encode("a<|endoftext|>b"), (std::vector<int>{64, 50256, 65}));
        QVERIFY(gpt2(false).encode("<|endoftext|>").size() > 1);
    }

    void decodeInvertsEncodeOnRandomUtf8() {
        std::mt19937 rng(7);
        const std::vector<std::string> pieces = {"a",   "Z",  " ",  "  ", "\n",       "\t", "é",
                                                 "ß",   "中", "文", "😀",  "👍🏽", "'s", "'ll",
                                                 "123", "!?", "д",  "ع",  "\u0301",   "€"};
        for (int n = 0; n < 500; ++n) {
            std::string s;
            const int len = static_cast<int>(rng() % 20);
            for (int i = 0; i < len; ++i)
                s += pieces[rng() % pieces.size()];
            QCOMPARE(gpt2(true).decode(gpt2(true).encode(s)), s);
        }
    }

    void invalidUtf8BytesSurvive() {
        const std::string s = std::string("ab\xff\xfe c\x80", 7);
        QCOMPARE(gpt2(true).decode(gpt2(true).encode(s)), s);
    }

    void wordLevelKeepsAddedTokensWhole() {
        const Tokenizer t = Tokenizer::makeWordLevel(
            {"[UNK]", "The", "capital", "of", "is", "."},
            {"United States", "United", "Washington D.C.", "Niger"}, "[UNK]");
        const Encoding e = t.encodeDetailed("The capital of United States is Washington D.C. .");
        QCOMPARE(e.tokens, (std::vector<std::string>{"The", "capital", "of", "United States", "is",
                                                     "Washington D.C.", "."}));
        QVERIFY(e.unknownWords().empty());
        // Added tokens match whole words only: "Nigeria" is not "Niger" + "ia".
        const Encoding u = t.encodeDetailed("The capital of Nigeria is");
        QCOMPARE(u.unknownWords(), (std::vector<std::string>{"Nigeria"}));
        QCOMPARE(u.ids[3], *t.unknownId());
    }

    void wordLevelJsonRoundTrip() {
        const Tokenizer t =
            Tokenizer::makeWordLevel({"[UNK]", "hello", ",", "world"}, {"New York"}, "[UNK]");
        const Tokenizer u = Tokenizer::fromJson(t.toJson(), "t");
        QCOMPARE(u.encode("hello, New York world"), t.encode("hello, New York world"));
        QCOMPARE(u.decode(u.encode("hello , world")), std::string("hello , world"));
        QCOMPARE(u.vocabSize(), t.vocabSize());
    }

    void bpeJsonRoundTrip() {
        const Tokenizer u = Tokenizer::fromJson(gpt2(true).toJson(), "t");
        QCOMPARE(u.encode("Hello world, it's 2026!"), gpt2(true).encode("Hello world, it's 2026!"));
    }

    void badTokenizerFilesAreClearErrors_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("no model") << "{\"added_tokens\":[]}"
                                  << "no 'model'";
        QTest::newRow("no vocabulary")
            << "{\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"[UNK]\"}}"
            << "no vocabulary";
        QTest::newRow("empty vocabulary") << "{\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}"
                                          << "empty";
        QTest::newRow("bad id") << "{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":-1}}}"
                                << "not a valid integer";
        QTest::newRow("unknown type") << "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}"
                                      << "Unigram";
        QTest::newRow("bpe without merges") << "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}"
                                            << "merges";
        QTest::newRow("not json") << "{"
                                  << "not a JSON";
        // Found by fuzz_tokenizer_json: a field of the wrong type used to
        // escape as a JSON library exception and end the process.
        QTest::newRow("type not a string") << "{\"model\":{\"type\":[\"a b\"]}}"
                                           << "'type' has the wrong type";
        QTest::newRow("special not a bool")
            << "{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}},"
               "\"added_tokens\":[{\"id\":0,\"content\":\"a\",\"special\":\"yes\"}]}"
            << "'special' has the wrong type";
    }
    void badTokenizerFilesAreClearErrors() {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        try {
            Tokenizer::fromJson(json.toStdString(), "tok.json");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
