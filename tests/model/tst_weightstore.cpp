// Model folders load the same floats whether single-file or sharded, in
// F32, F16 or BF16; every broken folder is an Error naming the file and the
// tensor; pickle checkpoints are refused with a way out; reading a tensor
// does not map the whole file into the resident set.
#include "Error.h"
#include "Safetensors.h"
#include "WeightStore.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

using namespace scalpel;

namespace {

struct Model {
    std::vector<std::string> names;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<std::vector<float>> data;
    std::vector<SafetensorsTensor> tensors() const {
        std::vector<SafetensorsTensor> out;
        for (std::size_t i = 0; i < names.size(); ++i)
            out.push_back({names[i], shapes[i], data[i].data()});
        return out;
    }
};

// A tiny llama-shaped model with seeded normal weights.
Model randomModel(unsigned seed) {
    Model m;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        m.names.push_back(name);
        m.shapes.push_back(shape);
    };
    add("model.embed_tokens.weight", {64, 16});
    for (int l = 0; l < 3; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {16});
        add(p + "self_attn.q_proj.weight", {16, 16});
        add(p + "self_attn.k_proj.weight", {8, 16});
        add(p + "mlp.gate_proj.weight", {40, 16});
        add(p + "mlp.down_proj.weight", {16, 40});
    }
    add("model.norm.weight", {16});
    add("lm_head.weight", {64, 16});
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 0.5f);
    for (const auto& shape : m.shapes) {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        std::vector<float> v(static_cast<std::size_t>(n));
        for (float& x : v)
            x = normal(rng);
        m.data.push_back(std::move(v));
    }
    return m;
}

std::string image(const std::string& header, const std::string& data) {
    std::string out;
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return out + header + data;
}

void writeText(const QString& path, const std::string& text) {
    std::ofstream(path.toStdString(), std::ios::binary) << text;
}

std::string readText(const QString& path) {
    std::ifstream in(path.toStdString(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The conversion before vectorisation, as the reference.
float referenceHalf(uint16_t h) {
    const float sign = (h & 0x8000) ? -1.f : 1.f;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    if (exp == 0)
        return sign * std::ldexp(static_cast<float>(mant), -24);
    if (exp == 31)
        return mant ? std::nanf("") : sign * INFINITY;
    return sign * std::ldexp(1.f + mant / 1024.f, exp - 15);
}

long statusKb(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0)
            return std::stol(line.substr(std::strlen(field) + 1));
    return -1;
}

#define QVERIFY_ERROR(expr, ...)                                                                   \
    do {                                                                                           \
        try {                                                                                      \
            expr;                                                                                  \
            QFAIL("no error from " #expr);                                                         \
        } catch (const Error& e) {                                                                 \
            const QString msg = QString::fromUtf8(e.what());                                       \
            for (const char* want : {__VA_ARGS__})                                                 \
                QVERIFY2(msg.contains(QString::fromUtf8(want)), qPrintable(msg));                  \
        }                                                                                          \
    } while (0)

} // namespace

class TestWeightStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void singleAndShardedGiveIdenticalFloats_data() {
        QTest::addColumn<int>("dtype");
        QTest::newRow("F32") << int(StoredDtype::F32);
        QTest::newRow("F16") << int(StoredDtype::F16);
        QTest::newRow("BF16") << int(StoredDtype::BF16);
    }
    void singleAndShardedGiveIdenticalFloats() {
        QFETCH(int, dtype);
        const auto d = static_cast<StoredDtype>(dtype);
        const Model m = randomModel(7);
        QTemporaryDir single, sharded;
        QCOMPARE(writeSafetensorsFolder(single.path().toStdString(), m.tensors(), d, 1ull << 30),
                 std::vector<std::string>{"model.safetensors"});
        const auto files =
            writeSafetensorsFolder(sharded.path().toStdString(), m.tensors(), d, 4096);
        QVERIFY(files.size() > 3);
        QCOMPARE(files.back(), std::string(WeightStore::kIndexFile));

        const WeightStore a = WeightStore::open(single.path().toStdString());
        const WeightStore b = WeightStore::open(sharded.path().toStdString());
        QCOMPARE(b.files().size(), files.size() - 1);
        QCOMPARE(a.names(), b.names());
        QCOMPARE(a.size(), m.names.size());
        const float tol = d == StoredDtype::F32 ? 0.f : d == StoredDtype::F16 ? 1e-3f : 8e-3f;
        for (std::size_t i = 0; i < m.names.size(); ++i) {
            const auto& name = m.names[i];
            QCOMPARE(a.entry(name).shape, m.shapes[i]);
            QCOMPARE(b.entry(name).shape, m.shapes[i]);
            QCOMPARE(b.entry(name).dtype, std::string(dtypeName(d)));
            const auto va = a.readFloat(name);
            std::vector<float> vb(m.data[i].size(), -1.f);
            b.readInto(name, vb.data(), vb.size());
            QCOMPARE(va, vb); // bit-identical between layouts
            for (std::size_t k = 0; k < va.size(); ++k)
                QVERIFY2(std::fabs(va[k] - m.data[i][k]) <= tol * std::fabs(m.data[i][k]) + 1e-7f,
                         qPrintable(QString::fromStdString(name)));
        }
        QCOMPARE(a.parameterCount(), b.parameterCount());
        QCOMPARE(b.dominantDtype(), std::string(dtypeName(d)));
        QCOMPARE(b.metadata().at("format"), std::string("pt"));
    }

    void shardedLayoutMatchesTransformers() {
        const Model m = randomModel(3);
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString();
        // lm_head (64 x 16 BF16 = 2048 bytes) exceeds a 1500-byte shard: alone.
        const auto files = writeSafetensorsFolder(path, m.tensors(), StoredDtype::BF16, 1500);
        QCOMPARE(files.front(), std::string("model-00001-of-000") +
                                    std::to_string(files.size() - 1) + ".safetensors");
        const auto index = nlohmann::json::parse(readText(dir.filePath(WeightStore::kIndexFile)));
        uint64_t bytes = 0;
        for (const auto& s : m.shapes) {
            uint64_t n = 2;
            for (int64_t d : s)
                n *= static_cast<uint64_t>(d);
            bytes += n;
        }
        QCOMPARE(index["metadata"]["total_size"].get<uint64_t>(), bytes);
        QCOMPARE(index["weight_map"].size(), m.names.size());
        const WeightStore store = WeightStore::open(path);
        QCOMPARE(store.entry("lm_head.weight").file,
                 index["weight_map"]["lm_head.weight"].get<std::string>());
        QCOMPARE(store.bytesByDtype().at("BF16"), bytes);
        QCOMPARE(store.totalBytes(), bytes);
        // The index file itself and a shard file open too.
        QCOMPARE(WeightStore::open(dir.filePath(WeightStore::kIndexFile).toStdString()).size(),
                 m.names.size());
        QVERIFY(
            WeightStore::open(dir.filePath(QString::fromStdString(files[0])).toStdString()).size() >
            0);

        // Rewriting as one file removes the shards and the index.
        writeSafetensorsFolder(path, m.tensors(), StoredDtype::BF16, 1ull << 30);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"model.safetensors"});
    }

    void roundingIsToNearestEven_data() {
        QTest::addColumn<bool>("bf16");
        QTest::addColumn<float>("value");
        QTest::addColumn<uint>("bits");
        QTest::newRow("bf16 one") << true << 1.f << 0x3f80u;
        QTest::newRow("bf16 tie down to even") << true << 1.f + 0x1p-8f << 0x3f80u;
        QTest::newRow("bf16 tie up to even") << true << 1.f + 3 * 0x1p-8f << 0x3f82u;
        QTest::newRow("bf16 above tie") << true << 1.f + 0x1p-8f + 0x1p-20f << 0x3f81u;
        QTest::newRow("bf16 -0") << true << -0.f << 0x8000u;
        QTest::newRow("bf16 inf") << true << INFINITY << 0x7f80u;
        QTest::newRow("f16 one") << false << 1.f << 0x3c00u;
        QTest::newRow("f16 tie down to even") << false << 1.f + 0x1p-11f << 0x3c00u;
        QTest::newRow("f16 tie up to even") << false << 1.f + 3 * 0x1p-11f << 0x3c02u;
        QTest::newRow("f16 max") << false << 65504.f << 0x7bffu;
        QTest::newRow("f16 just below overflow") << false << 65519.f << 0x7bffu;
        QTest::newRow("f16 overflow") << false << 65520.f << 0x7c00u;
        QTest::newRow("f16 huge") << false << 1e30f << 0x7c00u;
        QTest::newRow("f16 smallest subnormal") << false << 0x1p-24f << 0x0001u;
        QTest::newRow("f16 tie to zero") << false << 0x1p-25f << 0x0000u;
        QTest::newRow("f16 tie to 2") << false << 3 * 0x1p-25f << 0x0002u;
        QTest::newRow("f16 -2") << false << -2.f << 0xc000u;
    }
    void roundingIsToNearestEven() {
        QFETCH(bool, bf16);
        QFETCH(float, value);
        QFETCH(uint, bits);
        QCOMPARE(uint(bf16 ? floatToBfloat16(value) : floatToHalf(value)), bits);
    }

    void everyHalfSurvivesARoundTrip() {
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const auto b = static_cast<uint16_t>(h);
            const float f = halfToFloat(b);
            const float ref = referenceHalf(b);
            if (std::isnan(ref)) {
                QVERIFY(std::isnan(f) && std::isnan(halfToFloat(floatToHalf(f))));
            } else {
                QCOMPARE(f, ref);
                QCOMPARE(uint(floatToHalf(f)), uint(h));
            }
            const float g = bfloat16ToFloat(b);
            if (std::isnan(g))
                QVERIFY(std::isnan(bfloat16ToFloat(floatToBfloat16(g))));
            else
                QCOMPARE(uint(floatToBfloat16(g)), uint(h));
        }
    }

    void rawDataIsTheStoredBytes() {
        QTemporaryDir dir;
        const std::vector<float> v = {1.f, -2.5f, 3.f};
        writeSafetensorsFolder(dir.path().toStdString(), {{"w", {3}, v.data()}}, StoredDtype::BF16,
                               1 << 20);
        const WeightStore s = WeightStore::open(dir.path().toStdString());
        QCOMPARE(s.entry("w").byteSize, uint64_t(6));
        uint16_t raw[3];
        std::memcpy(raw, s.rawData("w"), 6);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(uint(raw[i]), uint(floatToBfloat16(v[i])));
        s.release("w");
        std::memcpy(raw, s.rawData("w"), 6); // still readable after release
        QCOMPARE(uint(raw[1]), uint(floatToBfloat16(-2.5f)));
    }

    void headerTotalsCountEveryDtype() {
        QTemporaryDir dir;
        const std::string header = R"({"__metadata__":{"format":"pt"},)"
                                   R"("pos":{"dtype":"I64","shape":[4],"data_offsets":[0,32]},)"
                                   R"("w":{"dtype":"F16","shape":[2,3],"data_offsets":[32,44]},)"
                                   R"("q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[44,48]}})";
        writeText(dir.filePath("model.safetensors"), image(header, std::string(48, '\0')));
        const WeightStore s = WeightStore::open(dir.path().toStdString());
        QCOMPARE(s.parameterCount(), int64_t(14));
        QCOMPARE(s.bytesByDtype(),
                 (std::map<std::string, uint64_t>{{"F16", 12}, {"F8_E4M3", 4}, {"I64", 32}}));
        QCOMPARE(s.dominantDtype(), std::string("F16"));
        QCOMPARE(s.readFloat("w"), std::vector<float>(6, 0.f));
        std::vector<float> buf(4);
        QVERIFY_ERROR(s.readInto("pos", buf.data(), 4), "model.safetensors", "'pos'", "I64",
                      "F32, F16, BF16");
        QVERIFY_ERROR(s.readInto("q", buf.data(), 4), "model.safetensors", "'q'", "F8_E4M3");
        QVERIFY_ERROR(s.readInto("w", buf.data(), 4), "'w'", "6 elements");
        const std::string folder = dir.path().toStdString();
        QVERIFY_ERROR(s.entry("nope"), "'nope'", folder.c_str());
    }

    void brokenFoldersNameFileAndTensor_data() {
        QTest::addColumn<QString>("index");
        QTest::addColumn<QStringList>("mentions");
        QTest::newRow("not json") << "{\"weight_map\": "
                                  << QStringList{"index.json", "not valid JSON"};
        QTest::newRow("no weight_map")
            << R"({"metadata":{}})" << QStringList{"index.json", "'weight_map'"};
        QTest::newRow("weight_map a list")
            << R"({"weight_map":["a"]})" << QStringList{"index.json", "not an object"};
        QTest::newRow("file not a string")
            << R"({"weight_map":{"a":1}})" << QStringList{"index.json", "weight_map['a']"};
        QTest::newRow("escaping path") << R"({"weight_map":{"a":"../a.safetensors"}})"
                                       << QStringList{"weight_map['a']", "../a.safetensors"};
        QTest::newRow("missing shard")
            << R"({"weight_map":{"a":"s1.safetensors","z":"gone.safetensors"}})"
            << QStringList{"gone.safetensors", "'z'"};
        QTest::newRow("tensor absent from shard")
            << R"({"weight_map":{"a":"s1.safetensors","c":"s1.safetensors"}})"
            << QStringList{"index.json", "'c'", "s1.safetensors", "does not hold it"};
        QTest::newRow("duplicate across shards")
            << R"({"weight_map":{"a":"s1.safetensors","dup":"s3.safetensors"}})"
            << QStringList{"'a'", "s1.safetensors", "s3.safetensors", "both"};
        QTest::newRow("offsets outside the shard")
            << R"({"weight_map":{"t":"short.safetensors"}})"
            << QStringList{"short.safetensors", "'t'", "past the end"};
        QTest::newRow("unknown dtype")
            << R"({"weight_map":{"t":"odd.safetensors"}})"
            << QStringList{"odd.safetensors", "'t'", "unknown dtype 'Q4'"};
    }
    void brokenFoldersNameFileAndTensor() {
        QFETCH(QString, index);
        QFETCH(QStringList, mentions);
        QTemporaryDir dir;
        const std::vector<float> v = {1.f, 2.f};
        writeSafetensors(dir.filePath("s1.safetensors").toStdString(),
                         {{"a", {1}, v.data()}, {"b", {1}, v.data()}});
        writeSafetensors(dir.filePath("s2.safetensors").toStdString(), {{"c", {2}, v.data()}});
        writeSafetensors(dir.filePath("s3.safetensors").toStdString(),
                         {{"a", {1}, v.data()}, {"dup", {1}, v.data()}});
        writeText(dir.filePath("short.safetensors"),
                  image(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                        std::string(8, '\0')));
        writeText(dir.filePath("odd.safetensors"),
                  image(R"({"t":{"dtype":"Q4","shape":[4],"data_offsets":[0,2]}})",
                        std::string(2, '\0')));
        writeText(dir.filePath(WeightStore::kIndexFile), index.toStdString());
        try {
            WeightStore::open(dir.path().toStdString());
            QFAIL("no error");
        } catch (const Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            for (const QString& want : mentions)
                QVERIFY2(msg.contains(want), qPrintable(msg));
        }
    }

    void pickleCheckpointsAreRefused_data() {
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QStringList>("mentions");
        const QStringList why = {"pickle", "runs any code", "safe_serialization=True",
                                 "save_pretrained"};
        QTest::newRow("pytorch_model.bin") << QStringList{"config.json", "pytorch_model.bin"}
                                           << (QStringList{"pytorch_model.bin"} + why);
        QTest::newRow("sharded bin")
            << QStringList{"pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"}
            << (QStringList{"pytorch_model.bin.index.json"} + why);
        QTest::newRow("pt") << QStringList{"weights.pt"} << (QStringList{"weights.pt"} + why);
        QTest::newRow("ckpt") << QStringList{"last.ckpt"} << (QStringList{"last.ckpt"} + why);
        QTest::newRow("pth") << QStringList{"m.pth"} << (QStringList{"m.pth"} + why);
        QTest::newRow("nothing") << QStringList{"config.json", "training_args.bin"}
                                 << QStringList{"no model weights", "model.safetensors",
                                                "model.safetensors.index.json"};
        QTest::newRow("other safetensors name")
            << QStringList{"adapter_model.safetensors"}
            << QStringList{"adapter_model.safetensors", "needs model.safetensors"};
    }
    void pickleCheckpointsAreRefused() {
        QFETCH(QStringList, files);
        QFETCH(QStringList, mentions);
        QTemporaryDir dir;
        for (const QString& f : files)
            writeText(dir.filePath(f), "\x80\x02}q\x00."); // a pickle never opened
        try {
            WeightStore::open(dir.path().toStdString());
            QFAIL("no error");
        } catch (const Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.contains(dir.path()), qPrintable(msg));
            for (const QString& want : mentions)
                QVERIFY2(msg.contains(want), qPrintable(msg));
        }
        // With safetensors beside it, the pickle is simply ignored.
        const std::vector<float> v = {1.f};
        writeSafetensorsFolder(dir.path().toStdString(), {{"w", {1}, v.data()}}, StoredDtype::F32,
                               1 << 20);
        refusePickleCheckpoint(dir.path().toStdString());
        QCOMPARE(WeightStore::open(dir.path().toStdString()).readFloat("w"), v);
    }

    void folderIsCreatedAndReadFromThreads() {
        const Model m = randomModel(11);
        QTemporaryDir dir;
        const std::string path = dir.filePath("new/model").toStdString();
        writeSafetensorsFolder(path, m.tensors(), StoredDtype::BF16, 2048);
        const WeightStore s = WeightStore::open(path);
        std::vector<std::vector<float>> out(m.names.size());
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (std::size_t i = t; i < m.names.size(); i += 4)
                    out[i] = s.readFloat(m.names[i]);
            });
        for (auto& t : threads)
            t.join();
        for (std::size_t i = 0; i < m.names.size(); ++i)
            QCOMPARE(out[i], s.readFloat(m.names[i]));
    }

    void missingPathIsNamed() {
        QVERIFY_ERROR(WeightStore::open("/nonexistent/model"), "/nonexistent/model");
    }

    void readingDoesNotMapTheWholeFile() {
        {
            std::ifstream probe("/proc/self/clear_refs");
            if (!probe || statusKb("VmHWM:") < 0)
                QSKIP("no /proc/self/clear_refs or VmHWM here");
        }
        QTemporaryDir dir;
        const std::size_t n = 24u << 20; // 48 MiB of BF16
        {
            std::vector<float> src(n);
            for (std::size_t i = 0; i < n; ++i)
                src[i] = static_cast<float>(i % 128) * 0.5f;
            writeSafetensorsFolder(dir.path().toStdString(), {{"big", {int64_t(n)}, src.data()}},
                                   StoredDtype::BF16, 1ull << 32);
        }
        std::vector<float> dst(n, -1.f); // resident before the baseline
        const WeightStore s = WeightStore::open(dir.path().toStdString());
        {
            std::ofstream reset("/proc/self/clear_refs");
            reset << "5"; // peak RSS := current RSS
        }
        const long before = statusKb("VmRSS:");
        if (statusKb("VmHWM:") > before + 1024)
            QSKIP("this kernel does not reset VmHWM through clear_refs");
        s.readInto("big", dst.data(), n);
        const long growthKb = statusKb("VmHWM:") - before;
        QCOMPARE(dst[129], 0.5f);
        QCOMPARE(dst[n - 1], static_cast<float>((n - 1) % 128) * 0.5f);
        const long fileKb = static_cast<long>(n * 2 / 1024);
        QVERIFY2(
            growthKb < fileKb / 2,
            qPrintable(
                QString("peak RSS grew by %1 KiB for a %2 KiB file").arg(growthKb).arg(fileKb)));
    }
};

QTEST_GUILESS_MAIN(TestWeightStore)
#include "tst_weightstore.moc"
