// Sharded batch runs: --shard I/N picks a slice that depends only on the item
// count and N, every item lands in exactly one shard, partial files round-trip
// their records to the last digit, and merging refuses partials of another
// run (naming the file and the field), duplicate shards and missing shards.
#include "Shards.h"

#include "Error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>

using namespace scalpel;
using json = nlohmann::ordered_json;

namespace {

// A run of `items` items in `count` shards; record i holds values derived
// from i, with digits that a lossy number format would change.
std::vector<Partial> run(std::size_t items, int count) {
    std::vector<Partial> out;
    for (int s = 0; s < count; ++s) {
        Partial p;
        p.command = "kn-eval";
        p.fingerprint = {{"model", "00aa"}, {"data", "00bb"}, {"options", {{"seed", 1}}}};
        p.shard = {s, count};
        p.items = items;
        for (std::size_t i : shardItems(items, p.shard))
            p.records.emplace_back(i, json{{"i", i}, {"x", 1.0 / (3.0 + static_cast<double>(i))}});
        out.push_back(p);
    }
    return out;
}

QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestShards : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void specParses_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("index");
        QTest::addColumn<int>("count");
        QTest::newRow("first of four") << "0/4" << 0 << 4;
        QTest::newRow("last of four") << "3/4" << 3 << 4;
        QTest::newRow("whole run") << "0/1" << 0 << 1;
    }
    void specParses() {
        QFETCH(QString, text);
        QFETCH(int, index);
        QFETCH(int, count);
        const ShardSpec s = parseShardSpec(text.toStdString());
        QCOMPARE(s.index, index);
        QCOMPARE(s.count, count);
        QCOMPARE(QString::fromStdString(shardName(s)), text);
    }

    void badSpecsAreRefused_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expect");
        QTest::newRow("index past count") << "5/4"
                                          << "I must be below N (shards are 0 to 3)";
        QTest::newRow("index equal to count") << "4/4"
                                              << "I must be below N";
        QTest::newRow("no shards") << "0/0"
                                   << "N must be at least 1";
        QTest::newRow("garbage") << "abc"
                                 << "--shard takes I/N";
        QTest::newRow("negative") << "-1/4"
                                  << "I is not a whole number";
        QTest::newRow("empty count") << "1/"
                                     << "N is not a whole number";
        QTest::newRow("trailing text") << "1/4x"
                                       << "N is not a whole number";
        QTest::newRow("empty") << ""
                               << "--shard takes I/N";
    }
    void badSpecsAreRefused() {
        QFETCH(QString, text);
        QFETCH(QString, expect);
        const QString e = errorOf([&] { parseShardSpec(text.toStdString()); });
        QVERIFY2(e.contains(expect), qPrintable(e));
        QVERIFY2(e.contains("'" + text + "'") || e.contains(text), qPrintable(e));
    }

    void everyItemIsInExactlyOneShard() {
        for (std::size_t items : {0, 1, 5, 6, 17})
            for (int n = 1; n <= 7; ++n) {
                std::multiset<std::size_t> seen;
                for (int s = 0; s < n; ++s) {
                    const auto slice = shardItems(items, {s, n});
                    QVERIFY(std::is_sorted(slice.begin(), slice.end()));
                    // Only the list and N decide: asking again gives the same.
                    QCOMPARE(slice, shardItems(items, {s, n}));
                    seen.insert(slice.begin(), slice.end());
                }
                QCOMPARE(seen.size(), items);
                for (std::size_t i = 0; i < items; ++i)
                    QCOMPARE(seen.count(i), std::size_t(1));
            }
    }

    void partialsRoundTripToTheLastDigit() {
        QTemporaryDir dir;
        const auto parts = run(10, 3);
        std::vector<Partial> read;
        for (const auto& p : parts) {
            const std::string path =
                dir.filePath(QString("p%1.json").arg(p.shard.index)).toStdString();
            writePartial(path, p);
            read.push_back(readPartial(path));
            QCOMPARE(QString::fromStdString(read.back().file), QString::fromStdString(path));
        }
        const MergedRun m = mergePartials(read);
        QCOMPARE(QString::fromStdString(m.command), QString("kn-eval"));
        QCOMPARE(m.records.size(), std::size_t(10));
        for (std::size_t i = 0; i < 10; ++i) {
            QCOMPARE(m.records[i].at("i").get<std::size_t>(), i);
            // Bit-identical, not merely close.
            QVERIFY(m.records[i].at("x").get<double>() == 1.0 / (3.0 + static_cast<double>(i)));
        }
        // The order of the files does not matter.
        std::reverse(read.begin(), read.end());
        QCOMPARE(mergePartials(read).records, m.records);
    }

    void anotherRunsPartialIsRefusedByName_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("expect");
        QTest::newRow("model") << "model"
                               << "model differs";
        QTest::newRow("data") << "data"
                              << "data differs";
        QTest::newRow("option") << "options"
                                << "options.seed differs";
        QTest::newRow("shard count") << "count"
                                     << "shard count differs";
        QTest::newRow("command") << "command"
                                 << "command differs";
    }
    void anotherRunsPartialIsRefusedByName() {
        QFETCH(QString, field);
        QFETCH(QString, expect);
        auto parts = run(8, 4);
        for (std::size_t i = 0; i < parts.size(); ++i)
            parts[i].file = "shard-" + std::to_string(i) + ".json";
        Partial& odd = parts[2];
        if (field == "model")
            odd.fingerprint["model"] = "ffff";
        else if (field == "data")
            odd.fingerprint["data"] = "ffff";
        else if (field == "options")
            odd.fingerprint["options"]["seed"] = 2;
        else if (field == "count")
            odd.shard = {2, 5};
        else
            odd.command = "eval-facts";
        const QString e = errorOf([&] { surveyPartials(parts); });
        QVERIFY2(e.startsWith("shard-2.json: "), qPrintable(e));
        QVERIFY2(e.contains(expect), qPrintable(e));
        QVERIFY2(e.contains("shard-0.json"), qPrintable(e));
    }

    void duplicateShardNamesBothFiles() {
        auto parts = run(8, 4);
        for (std::size_t i = 0; i < parts.size(); ++i)
            parts[i].file = "shard-" + std::to_string(i) + ".json";
        Partial again = parts[1];
        again.file = "again.json";
        parts.push_back(again);
        const QString e = errorOf([&] { surveyPartials(parts); });
        QVERIFY2(e.contains("shard 1/4 is given twice"), qPrintable(e));
        QVERIFY2(e.contains("shard-1.json") && e.contains("again.json"), qPrintable(e));
    }

    void missingShardsAreListed() {
        auto parts = run(9, 4);
        parts.erase(parts.begin() + 3);
        parts.erase(parts.begin() + 1);
        const ShardSurvey s = surveyPartials(parts);
        QCOMPARE(s.count, 4);
        QCOMPARE(s.present, (std::vector<int>{0, 2}));
        QCOMPARE(s.missing, (std::vector<int>{1, 3}));
        const QString e = errorOf([&] { mergePartials(parts); });
        QVERIFY2(e.contains("shards missing: 1/4, 3/4"), qPrintable(e));
    }

    void recordOutsideItsShardIsRefused() {
        auto parts = run(8, 4);
        parts[0].file = "shard-0.json";
        parts[0].records.emplace_back(1, json::object());
        const QString e = errorOf([&] { surveyPartials(parts); });
        QVERIFY2(e.contains("shard-0.json: a record for item 1"), qPrintable(e));
    }

    void shardWithoutItsRecordsIsRefused() {
        auto parts = run(8, 4);
        parts[3].records.clear();
        const QString e = errorOf([&] { mergePartials(parts); });
        QVERIFY2(e.contains("item 3 has no record in shard 3/4"), qPrintable(e));
    }

    void damagedFilesAreNamed() {
        QTemporaryDir dir;
        const std::string truncated = dir.filePath("cut.json").toStdString();
        std::ofstream(truncated) << "{\"scalpel_partial\": 1, \"command\": ";
        QVERIFY(
            errorOf([&] { readPartial(truncated); }).startsWith(QString::fromStdString(truncated)));
        const std::string other = dir.filePath("other.json").toStdString();
        std::ofstream(other) << "{\"relations\": {}}";
        const QString e = errorOf([&] { readPartial(other); });
        QVERIFY2(e.contains("is not a partial result file"), qPrintable(e));
        const std::string noShard = dir.filePath("noshard.json").toStdString();
        std::ofstream(noShard) << "{\"scalpel_partial\": 1, \"command\": \"kn-eval\"}";
        const QString e2 = errorOf([&] { readPartial(noShard); });
        QVERIFY2(e2.contains("no 'shard'"), qPrintable(e2));
    }

    void hashesFollowContent() {
        QTemporaryDir dir;
        const std::string a = dir.filePath("a").toStdString();
        std::ofstream(a) << "alpha";
        const std::string h = hashPath(a);
        QCOMPARE(h.size(), std::size_t(16));
        QCOMPARE(h, hashBytes("alpha"));
        std::ofstream(a) << "alphb";
        QVERIFY(hashPath(a) != h);
        const std::string folder = dir.path().toStdString();
        const std::string before = hashPath(folder);
        std::ofstream(dir.filePath("b").toStdString()) << "beta";
        QVERIFY(hashPath(folder) != before);
        QVERIFY(errorOf([&] { hashPath(folder + "/absent"); }).contains("absent"));
    }
};

QTEST_GUILESS_MAIN(TestShards)
#include "tst_shards.moc"
