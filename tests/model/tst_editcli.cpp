// The edit-set commands of scalpel-cli run as a user runs them:
// convert-edits prints the detected format and writes the same records
// back, check-edits prints its problems as JSON, eval-edits --edits prints
// EasyEdit's metrics per method and mode, eval-edits --scope-index on
// compares the index with the exact scan, bad input is one line on stderr
// and exit status 1, and every command answers --help.
#include "CliRun.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using json = nlohmann::json;

namespace {

std::string dataPath(const std::string& name) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/edits/" + name;
}

using Run = scalpel::test::CliRun;
using scalpel::test::runCli;

json parse(const QString& s) {
    return json::parse(s.toStdString(), nullptr, false);
}

json readJson(const QString& path) {
    std::ifstream in(path.toStdString());
    std::stringstream s;
    s << in.rdbuf();
    return json::parse(s.str(), nullptr, false);
}

} // namespace

class TestEditCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyCommandAnswersHelp_data() {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("expect");
        QTest::newRow("convert-edits") << "convert-edits"
                                       << "--to counterfact|zsre|mquake";
        QTest::newRow("export-facts") << "export-facts"
                                      << "--format counterfact";
        QTest::newRow("check-edits") << "check-edits"
                                     << "--edits FILE";
        QTest::newRow("eval-edits") << "eval-edits"
                                    << "--method serac|serac-in-context|kn-update";
    }
    void everyCommandAnswersHelp() {
        QFETCH(QString, command);
        QFETCH(QString, expect);
        const Run r = runCli({command, QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(expect), qPrintable(r.out));
    }

    void convertDetectsAndWritesTheSameRecords_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("format");
        QTest::newRow("counterfact") << "counterfact.json"
                                     << "counterfact";
        QTest::newRow("zsre") << "zsre.json"
                              << "zsre";
        QTest::newRow("mquake") << "mquake.json"
                                << "mquake";
        QTest::newRow("knowedit") << "knowedit.json"
                                  << "knowedit";
    }
    void convertDetectsAndWritesTheSameRecords() {
        QFETCH(QString, file);
        QFETCH(QString, format);
        QTemporaryDir dir;
        const QString in = QString::fromStdString(dataPath(file.toStdString()));
        const QString mid = dir.filePath("mid.json"), out = dir.filePath("out.json");
        const Run a = runCli({"convert-edits", "--in", in, "--to", "scalpel", "--out", mid});
        QVERIFY2(a.exitCode == 0, qPrintable(a.err));
        QVERIFY2(a.err.contains("input format: " + format + " (detected)"), qPrintable(a.err));
        const json j = parse(a.out);
        QCOMPARE(j["input"]["format"].get<std::string>(), format.toStdString());
        const Run b = runCli({"convert-edits", "--in", mid, "--to", format, "--out", out});
        QVERIFY2(b.exitCode == 0, qPrintable(b.err));
        QCOMPARE(parse(b.out)["dropped_total"].get<int>(), 0);
        QCOMPARE(readJson(out), readJson(in));
    }

    void badInputIsOneLineAndExitStatusOne() {
        QTemporaryDir dir;
        const QString bad = dir.filePath("bad.json");
        std::ofstream(bad.toStdString()) << R"([{"question": "q"}])";
        const Run r = runCli(
            {"convert-edits", "--in", bad, "--to", "zsre", "--out", dir.filePath("out.json")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("is none of the edit formats (tried scalpel:"), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(dir.filePath("out.json")));
        const Run f = runCli({"convert-edits", "--in", bad, "--to", "rome", "--out", "x"});
        QCOMPARE(f.exitCode, 1);
        QVERIFY2(f.err.contains("unknown edit format 'rome'"), qPrintable(f.err));
    }

    void checkEditsPrintsProblems() {
        QTemporaryDir dir;
        const QString path = dir.filePath("edits.json");
        std::ofstream(path.toStdString()) << R"({"format": "scalpel-edits", "version": 2,
            "edits": [{"id": "e1", "prompt": "The capital of Ireland is", "answer": "Lisbon"},
                      {"id": "e2", "prompt": "The capital of Ireland is", "answer": "Oslo"},
                      {"id": "e3", "prompt": "The currency of Japan is", "answer": "Zorkmid"}]})";
        const Run r = runCli({"check-edits", "--edits", path});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const json j = parse(r.out);
        QCOMPARE(j["counts"]["conflict"].get<int>(), 1);
        QCOMPARE(j["counts"]["unknown-answer"].get<int>(), 1);
        bool conflict = false;
        for (const auto& p : j["problems"])
            conflict =
                conflict || (p["kind"] == "conflict" && p["edit"] == "e2" && p["other"] == "e1");
        QVERIFY2(conflict, j["problems"].dump().c_str());
    }

    void evalEditsReportsEasyEditMetrics() {
        const Run r =
            runCli({"eval-edits", "--edits", QString::fromStdString(dataPath("counterfact.json")),
                    "--method", "serac", "--mode", "batch", "--mode", "sequential"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const json j = parse(r.out);
        QCOMPARE(j["runs"].size(), std::size_t(2));
        QCOMPARE(j["runs"][0]["mode"].get<std::string>(), std::string("batch"));
        QCOMPARE(j["runs"][1]["mode"].get<std::string>(), std::string("sequential"));
        for (const auto& run : j["runs"]) {
            QCOMPARE(run["per_record"].size(), std::size_t(3));
            for (const char* k : {"reliability", "generalization", "locality", "rewrite_success",
                                  "paraphrase_success", "neighborhood_success"})
                QVERIFY2(run["total"][k].is_number(), k);
            QVERIFY(run["total"]["portability"].is_null()); // CounterFact has none
        }
    }

    // --scope-index on runs the fact-world evaluation with the approximate
    // index forced on and again with the exact scan, and says how many
    // inputs the two routed differently: on a small memory the index finds
    // what the scan finds, so the figures are the same and nothing differs.
    void evalEditsComparesTheIndexWithTheExactScan() {
        const Run r = runCli({"eval-edits", "--edits-in-memory", "100", "--backend", "trained",
                              "--max-inputs", "40", "--scope-index", "on"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const json j = parse(r.out);
        QCOMPARE(j["results"].size(), std::size_t(1));
        const json& row = j["results"][0];
        QCOMPARE(row["scope_index"].get<std::string>(), std::string("on"));
        QCOMPARE(row["inputs_routed_differently"].get<int>(), 0);
        QCOMPARE(row["exact_scan"]["es"].get<double>(), row["es"].get<double>());
        QCOMPARE(row["exact_scan"]["dd"].get<double>(), row["dd"].get<double>());
        const Run bad = runCli({"eval-edits", "--scope-index", "sometimes"});
        QCOMPARE(bad.exitCode, 1);
        QVERIFY2(bad.err.contains("--scope-index takes auto, on or off, got 'sometimes'"),
                 qPrintable(bad.err));
    }
};

QTEST_GUILESS_MAIN(TestEditCli)
#include "tst_editcli.moc"
