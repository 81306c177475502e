// The Tokenizer API beyond ids: special tokens on request, begin/end ids,
// spellings and display text that are always valid UTF-8, Hugging Face's
// decode next to the byte-exact one, and clear errors for components
// Scalpel does not implement.
#include "Error.h"
#include "Tokenizer.h"

#include <QtTest>

using namespace scalpel;

namespace {

std::string dataPath(const std::string& rel) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/" + rel;
}

const Tokenizer& load(const std::string& name) {
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end())
        it = cache
                 .emplace(name,
                          Tokenizer::fromFile(dataPath("tokenizers/" + name + "/tokenizer.json")))
                 .first;
    return it->second;
}

bool validUtf8(const std::string& s) {
    // QString::fromUtf8 would drop a leading byte order mark, so check by hand.
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
        if (n == 0 || i + n > s.size())
            return false;
        for (int k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2)
                return false;
        i += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

class TestTokenizerApi : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void specialTokensOnRequest() {
        const Tokenizer& llama = load("llama3_1");
        QCOMPARE(llama.encode("Hello world"), (std::vector<int>{128000, 9906, 1917}));
        QCOMPARE(llama.encode("Hello world", false), (std::vector<int>{9906, 1917}));
        QCOMPARE(load("mistral").encode("Hello world"), (std::vector<int>{1, 22557, 1526}));
        QCOMPARE(llama.bosId(), std::optional<int>(128000));
        QCOMPARE(load("mistral").bosId(), std::optional<int>(1));
        QCOMPARE(load("mistral").eosId(), std::optional<int>(2));
        QCOMPARE(load("bert").bosId(), std::optional<int>(101));
        QCOMPARE(load("bert").eosId(), std::optional<int>(102));
        QCOMPARE(load("mistral").kind(), Tokenizer::Kind::Bpe);
        QCOMPARE(llama.kind(), Tokenizer::Kind::ByteLevelBpe);
        QCOMPARE(load("bert").kind(), Tokenizer::Kind::WordPiece);
        QCOMPARE(load("toy-unigram").kind(), Tokenizer::Kind::Unigram);
    }

    void offsetsPointIntoTheText() {
        const std::string text = "Hello M\xc3\xa1laga";
        const Encoding e = load("llama3_1").encodeDetailed(text);
        QCOMPARE(e.spellings, (std::vector<std::string>{"<|begin_of_text|>", "Hello", "\xc4\xa0M",
                                                        "\xc3\x83\xc2\xa1l", "aga"}));
        QCOMPARE(e.tokens[2], std::string(" M"));
        QCOMPARE(e.offsets[0], (std::pair<std::size_t, std::size_t>(0, 0)));
        QCOMPARE(e.offsets[4], (std::pair<std::size_t, std::size_t>(10, 13)));
        QCOMPARE(e.charOffsets(text)[4], (std::pair<std::size_t, std::size_t>(9, 12)));
        QVERIFY(e.special[0] && !e.special[1]);
    }

    void tokenTextIsAlwaysValidUtf8() {
        for (const char* name : {"llama3_1", "mistral"}) {
            const Tokenizer& t = load(name);
            for (int id = 0; id < t.vocabSize(); ++id) {
                const std::string s = t.displayText(id), sp = t.tokenSpelling(id);
                if (!validUtf8(s) || !validUtf8(sp))
                    QFAIL(qPrintable(QString("%1: id %2").arg(name).arg(id)));
            }
        }
        // Part of a four-byte emoji: one replacement character.
        const Tokenizer& llama = load("llama3_1");
        const Encoding e = llama.encodeDetailed("\xf0\x9f\x99\x82", false);
        QVERIFY(e.ids.size() > 1);
        QCOMPARE(e.tokens[0], std::string("\xef\xbf\xbd"));
        QCOMPARE(load("mistral").displayText(*load("mistral").tokenId("\xe2\x96\x81Hello")),
                 std::string(" Hello"));
        QCOMPARE(load("bert").displayText(*load("bert").tokenId("##ing")), std::string("ing"));
    }

    void decodeKeepsBytesOrFollowsHuggingFace() {
        const Tokenizer& llama = load("llama3_1");
        const auto ids = llama.encode("\xf0\x9f\x99\x82", false);
        QVERIFY(ids.size() > 1);
        const std::vector<int> head(ids.begin(), ids.end() - 1);
        const std::vector<int> tail(ids.end() - 1, ids.end());
        QCOMPARE(llama.decode(head) + llama.decode(tail), std::string("\xf0\x9f\x99\x82"));
        QCOMPARE(llama.decode(head, false), std::string("\xef\xbf\xbd"));
        QCOMPARE(llama.decode(llama.encode("Hi"), true), std::string("Hi"));
        QCOMPARE(llama.decode(llama.encode("Hi"), false), std::string("<|begin_of_text|>Hi"));
    }

    void unsupportedComponentsAreNamed_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        const QString model = R"("model":{"type":"WordLevel","vocab":{"a":0},"unk_token":"a"})";
        QTest::newRow("normalizer") << "{\"normalizer\":{\"type\":\"Foo\"}," + model + "}"
                                    << "normalizer type 'Foo' is not supported (supported: NFC";
        QTest::newRow("pre_tokenizer") << "{\"pre_tokenizer\":{\"type\":\"Bar\"}," + model + "}"
                                       << "pre_tokenizer type 'Bar'";
        QTest::newRow("post_processor") << "{\"post_processor\":{\"type\":\"Baz\"}," + model + "}"
                                        << "post_processor type 'Baz'";
        QTest::newRow("decoder") << "{\"decoder\":{\"type\":\"CTC\"}," + model + "}"
                                 << "decoder type 'CTC'";
        QTest::newRow("model") << R"({"model":{"type":"Qux"}})"
                               << "model type 'Qux' is not supported";
        QTest::newRow("bad regex")
            << "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},"
               "\"behavior\":\"Isolated\"}," +
                   model + "}"
            << "cannot compile the pattern";
    }
    void unsupportedComponentsAreNamed() {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        try {
            Tokenizer::fromJson(json.toStdString(), "tokenizer.json");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
            QVERIFY(QString(e.what()).startsWith("tokenizer.json: "));
        }
    }
};

QTEST_GUILESS_MAIN(TestTokenizerApi)
#include "tst_tokenizer_api.moc"
