// The safetensors reader refuses every malformed file with an error that
// names the file and tensor, before reading past the end of anything.
#include "Error.h"
#include "Safetensors.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

using namespace scalpel;

namespace {

std::string image(const std::string& header, const std::string& data) {
    std::string out;
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), std::data(v), s.size());
    return s;
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripKeepsValuesShapesAndMetadata() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("m.safetensors").toStdString();
        std::vector<float> a = {1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
        std::vector<float> b = {42.f};
        writeSafetensors(path, {{"layer.a", {2, 3}, a.data()}, {"b", {1}, b.data()}},
                         {{"format", "pt"}, {"note", "x"}});
        auto f = SafetensorsFile::open(path);
        QCOMPARE(f.entries().size(), std::size_t(2));
        QCOMPARE(f.entry("layer.a").shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(f.readFloat("layer.a"), a);
        QCOMPARE(f.readFloat("b"), b);
        QCOMPARE(f.metadata().at("note"), std::string("x"));
    }

    void halfAndBfloat16AreConvertedToFloat_data() {
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<uint>("bits");
        QTest::addColumn<float>("expected");
        QTest::newRow("f16 one") << "F16" << 0x3c00u << 1.0f;
        QTest::newRow("f16 -2") << "F16" << 0xc000u << -2.0f;
        QTest::newRow("f16 0.5") << "F16" << 0x3800u << 0.5f;
        QTest::newRow("f16 subnormal") << "F16" << 0x0001u << 5.960464477539063e-08f;
        QTest::newRow("f16 65504") << "F16" << 0x7bffu << 65504.0f;
        QTest::newRow("bf16 one") << "BF16" << 0x3f80u << 1.0f;
        QTest::newRow("bf16 -3") << "BF16" << 0xc040u << -3.0f;
    }
    void halfAndBfloat16AreConvertedToFloat() {
        QFETCH(QString, dtype);
        QFETCH(uint, bits);
        QFETCH(float, expected);
        const std::string header = "{\"t\":{\"dtype\":\"" + dtype.toStdString() +
                                   "\",\"shape\":[1],\"data_offsets\":[0,2]}}";
        std::string data(2, '\0');
        data[0] = static_cast<char>(bits & 0xff);
        data[1] = static_cast<char>(bits >> 8);
        auto f = SafetensorsFile::fromBytes(image(header, data), "mem");
        QCOMPARE(f.readFloat("t")[0], expected);
    }

    void malformedFilesAreClearErrors_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("mentions");
        const std::string ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        QTest::newRow("shorter than length") << QByteArray("abc", 3) << "not a safetensors";
        const std::string full = image(ok, floats({1, 2}));
        QTest::newRow("truncated data")
            << QByteArray::fromStdString(full.substr(0, full.size() - 3))
            << "'w' points past the end";
        std::string past = image(ok, floats({1, 2}));
        past[0] = static_cast<char>(0xff); // header length beyond the file
        QTest::newRow("header past end") << QByteArray::fromStdString(past) << "past the end";
        std::string huge(8, '\0');
        huge[7] = 0x10; // 2^60
        QTest::newRow("header over limit") << QByteArray::fromStdString(huge) << "over the limit";
        QTest::newRow("unknown dtype")
            << QByteArray::fromStdString(
                   image("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                         floats({1, 2})))
            << "unknown dtype 'Q4'";
        QTest::newRow("shape does not match bytes")
            << QByteArray::fromStdString(
                   image("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                         floats({1, 2})))
            << "need 12 bytes";
        QTest::newRow("not json") << QByteArray::fromStdString(image("{nope", "")) << "not a JSON";
        QTest::newRow("negative dim")
            << QByteArray::fromStdString(
                   image("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                         floats({1, 2})))
            << "negative";
        QTest::newRow("offsets reversed")
            << QByteArray::fromStdString(
                   image("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}",
                         floats({1, 2})))
            << "end before";
        QTest::newRow("overflowing shape")
            << QByteArray::fromStdString(image("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,"
                                               "4294967296],\"data_offsets\":[0,8]}}",
                                               floats({1, 2})))
            << "too large";
    }
    void malformedFilesAreClearErrors() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, mentions);
        try {
            SafetensorsFile::fromBytes(bytes.toStdString(), "bad.safetensors");
            QFAIL("no error");
        } catch (const Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.contains("bad.safetensors"), qPrintable(msg));
            QVERIFY2(msg.contains(mentions), qPrintable(msg));
        }
    }

    void missingTensorIsNamed() {
        auto f = SafetensorsFile::fromBytes(
            image("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats({1})),
            "m");
        QVERIFY_THROWS_EXCEPTION(Error, f.readFloat("nope"));
    }

    void f64IsNarrowedAndOtherDtypesAreRefused() {
        std::string d(8, '\0');
        const double x = 0.1;
        std::memcpy(d.data(), &x, 8);
        auto f = SafetensorsFile::fromBytes(
            image("{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                  "\"q\":{\"dtype\":\"F8_E5M2\",\"shape\":[8],\"data_offsets\":[0,8]}}",
                  d),
            "m.safetensors");
        QCOMPARE(f.readFloat("d"), std::vector<float>{0.1f});
        QCOMPARE(f.entry("q").byteSize(), uint64_t(8));
        try {
            f.readFloat("q");
            QFAIL("no error");
        } catch (const Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.contains("m.safetensors") && msg.contains("'q'") &&
                         msg.contains("F8_E5M2") && msg.contains("F32, F16, BF16 and F64"),
                     qPrintable(msg));
        }
        float buf[2];
        QVERIFY_THROWS_EXCEPTION(Error, f.readInto("d", buf, 2));
    }

    void halfPrecisionWritesRoundTrip_data() {
        QTest::addColumn<int>("dtype");
        QTest::newRow("F16") << int(StoredDtype::F16);
        QTest::newRow("BF16") << int(StoredDtype::BF16);
    }
    void halfPrecisionWritesRoundTrip() {
        QFETCH(int, dtype);
        const auto d = static_cast<StoredDtype>(dtype);
        QTemporaryDir dir;
        const std::string path = dir.filePath("h.safetensors").toStdString();
        // Exactly representable in both formats.
        const std::vector<float> a = {1.f, -0.5f, 0.f, 3.f, 0.125f, -96.f};
        writeSafetensors(path, {{"a", {2, 3}, a.data()}}, {}, d);
        auto f = SafetensorsFile::open(path);
        QCOMPARE(f.entry("a").dtype, std::string(dtypeName(d)));
        QCOMPARE(f.entry("a").byteSize(), uint64_t(12));
        QCOMPARE(f.readFloat("a"), a);
    }

    void duplicateNamesAreNotWritten() {
        QTemporaryDir dir;
        const std::vector<float> a = {1.f};
        QVERIFY_THROWS_EXCEPTION(Error,
                                 writeSafetensors(dir.filePath("d.safetensors").toStdString(),
                                                  {{"a", {1}, a.data()}, {"a", {1}, a.data()}}));
        QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty()); // no temporary left
    }

    void failedWriteLeavesPreviousFile() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("m.safetensors").toStdString();
        std::vector<float> a = {1.f};
        writeSafetensors(path, {{"a", {1}, a.data()}});
        QVERIFY_THROWS_EXCEPTION(
            Error, writeSafetensors(dir.filePath("missing/x.safetensors").toStdString(),
                                    {{"a", {1}, a.data()}}));
        QCOMPARE(SafetensorsFile::open(path).readFloat("a"), a);
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
