// Sharded batch commands of scalpel-cli, run as a user runs them on the
// built-in model and a small fact world (the first 8 facts of each of its
// relations, tests/data/shards): the partials of every shard, merged, print
// exactly what the unsharded run prints (kn-eval, eval-facts); a bad
// --shard, a missing or duplicate shard and a partial of another run or
// model are refused with one line on stderr, exit status 1 and no result
// file.
#include <QDir>
#include <QFile>
#include "CliRun.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

namespace {

using Run = scalpel::test::CliRun;

QString smallFacts() {
    return qEnvironmentVariable("SCALPEL_TEST_DATA") + "/shards/facts.json";
}

// Two relations of eight facts: enough for kn-eval's comparisons with
// another relation, small enough for seconds.
QString twoRelations() {
    return qEnvironmentVariable("SCALPEL_TEST_DATA") + "/shards/two-relations.json";
}

// One thread: the runs are small, and a busy machine's other cores make
// LibTorch's spinning threads the slow part.
Run runCli(const QStringList& args) {
    return scalpel::test::runCli(args, 1);
}

QString readText(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll());
}

// The printed JSON without its timing line, which differs between runs.
QString withoutSeconds(const QString& json) {
    QStringList keep;
    for (const QString& line : json.split('\n'))
        if (!line.startsWith(QLatin1String("  \"seconds\": ")))
            keep << line;
    return keep.join('\n');
}

// Runs `args` in `count` shards into `dir`, returns the partials' paths.
QStringList runShards(const QStringList& args, int count, const QString& dir) {
    QStringList parts;
    for (int i = 0; i < count; ++i) {
        const QString part = QDir(dir).filePath(QString("part-%1.json").arg(i));
        const Run r = runCli(
            args + QStringList{"--shard", QString("%1/%2").arg(i).arg(count), "--partial", part});
        if (r.exitCode != 0) {
            qWarning("%s", qPrintable(r.err));
            return {};
        }
        parts << part;
    }
    return parts;
}

} // namespace

class TestShardCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mergedKnEvalEqualsTheUnshardedRun() {
        const QStringList args{"kn-eval", "--facts", twoRelations(), "--facts-per-relation", "1"};
        const Run whole = runCli(args);
        QVERIFY2(whole.exitCode == 0, qPrintable(whole.err));
        QTemporaryDir dir;
        // One relation per shard, listed out of order.
        QStringList parts = runShards(args, 2, dir.path());
        QCOMPARE(parts.size(), 2);
        std::reverse(parts.begin(), parts.end());
        const QString out = dir.filePath("merged.json");
        const Run merge = runCli(QStringList{"merge"} + parts + QStringList{"--out", out});
        QVERIFY2(merge.exitCode == 0, qPrintable(merge.err));
        QCOMPARE(withoutSeconds(readText(out)), withoutSeconds(whole.out));
    }

    void mergedEvalFactsEqualsTheUnshardedRun() {
        const QStringList args{"eval-facts", "--facts", smallFacts(), "--split", "train"};
        const Run whole = runCli(args);
        QVERIFY2(whole.exitCode == 0, qPrintable(whole.err));
        QTemporaryDir dir;
        // Six relations in four shards: two of two, two of one.
        const QStringList parts = runShards(args, 4, dir.path());
        QCOMPARE(parts.size(), 4);
        const QString out = dir.filePath("merged.json");
        const Run merge = runCli(QStringList{"merge"} + parts + QStringList{"--out", out});
        QVERIFY2(merge.exitCode == 0, qPrintable(merge.err));
        // eval-facts prints no timing: the very same text.
        QCOMPARE(readText(out), whole.out);

        // --missing lists what is still to run.
        const Run some = runCli({"merge", "--missing", parts[0], parts[2]});
        QVERIFY2(some.exitCode == 0, qPrintable(some.err));
        QVERIFY2(some.out.contains("\"1/4\"") && some.out.contains("\"3/4\""),
                 qPrintable(some.out));
        QVERIFY2(some.out.contains("\"complete\": false"), qPrintable(some.out));

        // A merge with shards missing names them, fails and writes nothing.
        const QString none = dir.filePath("none.json");
        const Run missing = runCli({"merge", parts[0], parts[2], "--out", none});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains("shards missing: 1/4, 3/4"), qPrintable(missing.err));
        QVERIFY(!QFile::exists(none));

        // The same shard twice: both files named.
        const QString copy = dir.filePath("copy.json");
        QVERIFY(QFile::copy(parts[1], copy));
        const Run twice = runCli(QStringList{"merge"} + parts + QStringList{copy, "--out", none});
        QCOMPARE(twice.exitCode, 1);
        QVERIFY2(twice.err.contains("shard 1/4 is given twice") && twice.err.contains(parts[1]) &&
                     twice.err.contains(copy),
                 qPrintable(twice.err));
        QVERIFY(!QFile::exists(none));

        // A shard run with other options belongs to another run.
        const QString heldout = dir.filePath("heldout.json");
        const Run other = runCli({"eval-facts", "--facts", smallFacts(), "--split", "heldout",
                                  "--shard", "1/4", "--partial", heldout});
        QVERIFY2(other.exitCode == 0, qPrintable(other.err));
        const Run mixed = runCli({"merge", parts[0], heldout, parts[2], parts[3], "--out", none});
        QCOMPARE(mixed.exitCode, 1);
        QVERIFY2(mixed.err.contains(heldout + ": options.split differs"), qPrintable(mixed.err));
        QVERIFY(!QFile::exists(none));
        QCOMPARE(mixed.err.count('\n'), 1);

        // So does one run on other data: the same facts but the last.
        std::ifstream in(smallFacts().toStdString());
        nlohmann::json world = nlohmann::json::parse(in);
        world["facts"].erase(world["facts"].size() - 1);
        world["templates"] =
            qEnvironmentVariable("SCALPEL_RESOURCE_DIR").toStdString() + "/facts/templates.json";
        const QString fewer = dir.filePath("fewer.json");
        std::ofstream(fewer.toStdString()) << world.dump();
        const QString otherData = dir.filePath("other-data.json");
        const Run od = runCli({"eval-facts", "--facts", fewer, "--split", "train", "--shard", "1/4",
                               "--partial", otherData});
        QVERIFY2(od.exitCode == 0, qPrintable(od.err));
        const Run mixedData =
            runCli({"merge", parts[0], otherData, parts[2], parts[3], "--out", none});
        QCOMPARE(mixedData.exitCode, 1);
        QVERIFY2(mixedData.err.contains(otherData + ": data differs from " + parts[0]),
                 qPrintable(mixedData.err));
        QVERIFY(!QFile::exists(none));
    }

    void partialOfAnotherModelIsRefused() {
        QTemporaryDir dir;
        // The built-in model's files plus one more: another model folder.
        const QString builtIn = qEnvironmentVariable("SCALPEL_RESOURCE_DIR") + "/models/factworld";
        const QString copy = dir.filePath("model");
        QVERIFY(QDir().mkpath(copy));
        for (const QString& name : QDir(builtIn).entryList(QDir::Files))
            QVERIFY(QFile::copy(builtIn + "/" + name, copy + "/" + name));
        QFile extra(copy + "/NOTES");
        QVERIFY(extra.open(QIODevice::WriteOnly));
        extra.write("fine-tuned elsewhere\n");
        extra.close();
        const QString a = dir.filePath("a.json"), b = dir.filePath("b.json");
        QCOMPARE(runCli({"eval-facts", "--shard", "0/2", "--partial", a}).exitCode, 0);
        QCOMPARE(runCli({"eval-facts", "--model", copy, "--shard", "1/2", "--partial", b}).exitCode,
                 0);
        const QString out = dir.filePath("out.json");
        const Run r = runCli({"merge", a, b, "--out", out});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(b + ": model differs from " + a), qPrintable(r.err));
        QVERIFY(!QFile::exists(out));
    }

    void badShardSpecsAreRefused_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("expect");
        QTest::newRow("5/4") << "5/4"
                             << "I must be below N";
        QTest::newRow("0/0") << "0/0"
                             << "N must be at least 1";
        QTest::newRow("garbage") << "two"
                                 << "--shard takes I/N";
        QTest::newRow("half") << "1/"
                              << "N is not a whole number";
    }
    void badShardSpecsAreRefused() {
        QFETCH(QString, spec);
        QFETCH(QString, expect);
        QTemporaryDir dir;
        const QString part = dir.filePath("p.json");
        for (const QString& command : {"kn-eval", "eval-facts"}) {
            const Run r = runCli({command, "--shard", spec, "--partial", part});
            QCOMPARE(r.exitCode, 1);
            QVERIFY2(r.err.contains(expect), qPrintable(r.err));
            QVERIFY2(r.err.contains(spec), qPrintable(r.err));
            QCOMPARE(r.err.count('\n'), 1);
            QVERIFY(!QFile::exists(part));
        }
    }

    void mergeRefusesWhatIsNotAPartial() {
        QTemporaryDir dir;
        const QString bogus = dir.filePath("result.json");
        QFile f(bogus);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"relations\": {}}\n");
        f.close();
        const Run r = runCli({"merge", bogus, "--out", dir.filePath("out.json")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(bogus + " is not a partial result file"), qPrintable(r.err));
        const Run none = runCli({"merge", "--out", dir.filePath("out.json")});
        QCOMPARE(none.exitCode, 1);
        QVERIFY2(none.err.contains("give the partial result files"), qPrintable(none.err));
    }
};

QTEST_GUILESS_MAIN(TestShardCli)
#include "tst_shardcli.moc"
