// The edit data sets in and out: each sample of tests/data/edits/ is
// detected and imported with its descriptor fields, exporting to its own
// format gives back the same records (also through Scalpel's file), other
// formats drop what they cannot hold and say how much, today's edit-memory
// files still load, and every row of the README's bad-input table is an
// Error with its message and no edits.
#include "EditDatasets.h"
#include "EditMemory.h"
#include "Error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace scalpel;

namespace {

std::string dataPath(const std::string& name) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/edits/" + name;
}

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The message of the Error `f` throws ("" when it throws none).
template <typename F> std::string errorOf(F&& f) {
    try {
        f();
    } catch (const Cancelled&) {
        return "cancelled";
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const char* kRewrite = R"("requested_rewrite": {"prompt": "The capital of {} is",
    "relation_id": "P36", "target_new": {"str": "Lisbon"}, "target_true": {"str": "Dublin"},
    "subject": "Ireland"})";

} // namespace

class TestEditDatasets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void samplesAreDetectedAndImported_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("format");
        QTest::addColumn<int>("records");
        QTest::addColumn<int>("edits");
        QTest::newRow("counterfact") << "counterfact.json"
                                     << "counterfact" << 3 << 3;
        QTest::newRow("zsre") << "zsre.json"
                              << "zsre" << 3 << 3;
        QTest::newRow("mquake") << "mquake.json"
                                << "mquake" << 2 << 3;
        QTest::newRow("knowedit") << "knowedit.json"
                                  << "knowedit" << 3 << 3;
        QTest::newRow("scalpel v1") << "scalpel-v1.json"
                                    << "scalpel" << 2 << 2;
    }
    void samplesAreDetectedAndImported() {
        QFETCH(QString, file);
        QFETCH(QString, format);
        QFETCH(int, records);
        QFETCH(int, edits);
        const auto r = importEditsFile(dataPath(file.toStdString()));
        QVERIFY(r.detected);
        QCOMPARE(editFormatName(r.format), format.toStdString());
        QCOMPARE(r.records, std::size_t(records));
        QCOMPARE(r.memory.size(), std::size_t(edits));
        QVERIFY(r.skipped.empty());
        QCOMPARE(detectEditFormat(readText(dataPath(file.toStdString())), "x"), r.format);
    }

    void counterFactFieldsLandInTheDescriptor() {
        const auto r = importEditsFile(dataPath("counterfact.json"));
        const Edit& e = r.memory.edits()[0];
        QCOMPARE(e.prompt, std::string("The capital of Ireland is"));
        QCOMPARE(e.answer, std::string("Lisbon"));
        QCOMPARE(e.descriptor.subject, std::string("Ireland"));
        QCOMPARE(e.descriptor.relationId, std::string("P36"));
        QCOMPARE(e.descriptor.trueAnswer, std::string("Dublin"));
        QCOMPARE(e.descriptor.paraphrases.size(), std::size_t(2));
        QCOMPARE(e.descriptor.neighbourhood.size(), std::size_t(2));
        QCOMPARE(e.descriptor.neighbourhood[0].prompt, std::string("The capital of France is"));
        QCOMPARE(e.descriptor.sourceRecord, std::string("0"));
        QVERIFY(e.descriptor.sourceFile.find("counterfact.json") != std::string::npos);
    }

    void zsreAndKnowEditFieldsLandInTheDescriptor() {
        const auto z = importEditsFile(dataPath("zsre.json"));
        const Edit& e = z.memory.edits()[1];
        QCOMPARE(e.prompt, std::string("What currency is used in Japan?"));
        QCOMPARE(e.answer, std::string("Peruvian sol"));
        QCOMPARE(e.descriptor.trueAnswer, std::string("Japanese yen"));
        QCOMPARE(e.descriptor.paraphrases,
                 std::vector<std::string>{"What is the official currency of Japan?"});
        QCOMPARE(e.descriptor.neighbourhood.at(0).answers,
                 std::vector<std::string>{"Kenyan shilling"});
        const auto k = importEditsFile(dataPath("knowedit.json"));
        const Edit& n = k.memory.edits()[0];
        QCOMPARE(n.descriptor.portability.size(), std::size_t(2));
        QCOMPARE(n.descriptor.portability[1].category, std::string("reasoning"));
        QCOMPARE(n.descriptor.portability[1].answers,
                 (std::vector<std::string>{"Americas", "South America"}));
        QCOMPARE(n.descriptor.neighbourhood.size(), std::size_t(2));
        QCOMPARE(n.descriptor.neighbourhood[1].category, std::string("Forgetfulness"));
    }

    void mquakeCaseGivesOneEditPerRewriteAndItsChecks() {
        const auto r = importEditsFile(dataPath("mquake.json"));
        const auto& edits = r.memory.edits();
        QCOMPARE(edits[0].descriptor.portability.size(), std::size_t(3));
        QCOMPARE(edits[0].descriptor.portability[0].answers,
                 (std::vector<std::string>{"Japanese yen", "yen", "JPY"}));
        QCOMPARE(edits[0].descriptor.paraphrases,
                 std::vector<std::string>{"What is the currency of Ireland?"});
        QCOMPARE(edits[1].prompt, std::string("The capital of Peru is"));
        QCOMPARE(edits[2].prompt, std::string("The official language of Peru is"));
        QCOMPARE(edits[1].descriptor.sourceRecord, std::string("2"));
        QCOMPARE(edits[2].descriptor.sourceRecord, std::string("2"));
        QCOMPARE(edits[1].descriptor.portability.size(), std::size_t(2));
        QVERIFY(edits[2].descriptor.portability.empty());
    }

    void exportingToTheSameFormatGivesBackTheRecords_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("counterfact") << "counterfact.json";
        QTest::newRow("zsre") << "zsre.json";
        QTest::newRow("mquake") << "mquake.json";
        QTest::newRow("knowedit") << "knowedit.json";
    }
    void exportingToTheSameFormatGivesBackTheRecords() {
        QFETCH(QString, file);
        const std::string path = dataPath(file.toStdString());
        const auto original = nlohmann::json::parse(readText(path));
        const auto r = importEditsFile(path);
        const auto out = exportEdits(r.memory, r.format);
        QCOMPARE(out.records, r.records);
        QCOMPARE(out.droppedTotal(), std::size_t(0));
        const auto back = nlohmann::json::parse(out.text);
        QCOMPARE(back.size(), original.size());
        for (std::size_t i = 0; i < back.size(); ++i)
            QVERIFY2(back[i] == original[i],
                     (back[i].dump() + "\n  !=\n" + original[i].dump()).c_str());
        // Through Scalpel's own file and back: nothing is lost on the way.
        QTemporaryDir dir;
        const std::string saved = dir.filePath("edits.json").toStdString();
        r.memory.save(saved);
        const auto again = importEditsFile(saved);
        QCOMPARE(again.format, EditFormat::Scalpel);
        QCOMPARE(nlohmann::json::parse(exportEdits(again.memory, r.format).text), original);
    }

    void otherFormatsDropWhatTheyCannotHoldAndCountIt() {
        const auto cf = importEditsFile(dataPath("counterfact.json"));
        const auto z = exportEdits(cf.memory, EditFormat::Zsre);
        QCOMPARE(z.records, std::size_t(3));
        QCOMPARE(z.dropped.at("relation_id"), std::size_t(3));
        // zsRE holds one rephrase: cases 0 and 1 have two paraphrases each.
        QCOMPARE(z.dropped.at("paraphrases"), std::size_t(2));
        QCOMPARE(z.dropped.at("neighbourhood"), std::size_t(3));
        const auto zr = importEdits(z.text, "zsre export");
        QCOMPARE(zr.format, EditFormat::Zsre);
        QCOMPARE(zr.memory.edits()[0].descriptor.trueAnswer, std::string("Dublin"));

        const auto ke = importEditsFile(dataPath("knowedit.json"));
        const auto c = exportEdits(ke.memory, EditFormat::CounterFact);
        QCOMPARE(c.dropped.at("portability"), std::size_t(3));
        // Neighbours whose answer is not the old answer lose it.
        QCOMPARE(c.dropped.at("neighbourhood answers"), std::size_t(4)); // 2 + 1 + 1
        const auto back = importEdits(c.text, "counterfact export");
        QCOMPARE(back.format, EditFormat::CounterFact);
        QCOMPARE(back.memory.edits()[2].prompt, std::string("The subregion of France is"));

        const auto m = exportEdits(cf.memory, EditFormat::Mquake);
        QCOMPARE(m.records, std::size_t(3));
        QCOMPARE(importEdits(m.text, "mquake export").memory.size(), std::size_t(3));
        const auto k = exportEdits(cf.memory, EditFormat::KnowEdit);
        QCOMPARE(k.dropped.at("relation_id"), std::size_t(3));
        QCOMPARE(importEdits(k.text, "knowedit export").memory.edits()[0].descriptor.paraphrases,
                 cf.memory.edits()[0].descriptor.paraphrases);
    }

    void anEditWithoutSubjectCannotBeCounterFact() {
        EditMemory m;
        m.add("The capital of Ireland is", "Lisbon");
        const std::string msg = errorOf([&] { exportEdits(m, EditFormat::CounterFact); });
        QVERIFY2(msg.find("edit e1") != std::string::npos &&
                     msg.find("needs a subject") != std::string::npos,
                 msg.c_str());
        QVERIFY(!exportEdits(m, EditFormat::Scalpel).text.empty());
    }

    void todaysEditMemoryFileStillLoads() {
        const EditMemory m = EditMemory::loadFile(dataPath("scalpel-v1.json"));
        QCOMPARE(m.size(), std::size_t(2));
        QCOMPARE(m.edits()[0].prompt, std::string("The capital of Ireland is"));
        QCOMPARE(m.edits()[1].answer, std::string("Euro"));
        QVERIFY(!m.edits()[1].enabled);
        QCOMPARE(m.edits()[1].modifiedMs, int64_t(1764633720000));
        QVERIFY(m.edits()[0].descriptor.empty());
        QVERIFY(m.edits()[0].extraJson.empty());
        // Saved, it is version 2 and reads back the same.
        const auto doc = nlohmann::json::parse(m.toJson());
        QCOMPARE(doc["version"].get<int>(), EditMemory::kFormatVersion);
        QCOMPARE(EditMemory::fromJson(m.toJson(), "again").toJson(), m.toJson());
        EditMemory more = m;
        QCOMPARE(more.add("p", "a").id, std::string("e3"));
    }

    void descriptorRoundTripsAndLeavesRoutingFieldsAlone() {
        EditMemory m;
        EditDescriptor d;
        d.subject = "Ireland";
        d.relationId = "capital";
        d.trueAnswer = "Dublin";
        d.paraphrases = {"Ireland's capital is"};
        d.neighbourhood = {{"The capital of France is", {"Paris"}, ""}};
        d.portability = {{"The capital of the Irish is", {"Lisbon", "Lisboa"}, "reasoning"}};
        d.note = "checked";
        d.sourceFile = "cf.json";
        d.sourceRecord = "7";
        const std::string id = m.add("The capital of Ireland is", "Lisbon", d).id;
        const auto again = EditMemory::fromJson(m.toJson(), "again");
        QVERIFY(again.edits()[0].descriptor == d);
        const uint64_t before = m.revision();
        std::vector<std::string> changed;
        QVERIFY(m.setDescriptor(id, EditDescriptor{}));
        QVERIFY(m.revision() != before);
        QVERIFY(m.changedSince(before, changed));
        QCOMPARE(changed, std::vector<std::string>{id});
        QVERIFY(m.edits()[0].descriptor.empty());
        QVERIFY(!m.setDescriptor("nope", d));
        const std::string newer = R"({"format": "scalpel-edits", "version": 3, "edits": []})";
        QVERIFY(errorOf([&] { EditMemory::fromJson(newer, "f"); }).find("version 3") !=
                std::string::npos);
    }

    void badInputIsAnErrorWithNothingImported_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("format"); // "" = detect
        QTest::addColumn<QString>("message");
        QTest::newRow("none of the formats")
            << R"([{"question": "q", "answer": "a"}])"
            << ""
            << "none of the edit formats (tried scalpel: record 1 has no \"id\" and \"answer\"; "
               "counterfact: record 1 has no \"requested_rewrite\"; zsre: record 1 has no "
               "\"src\" and \"alt\"; mquake: record 1 has no \"requested_rewrite\"; knowedit: "
               "record 1 has no \"prompt\" and \"target_new\")";
        QTest::newRow("not json") << "subject,prompt\nIreland,x"
                                  << ""
                                  << "none of the edit formats (scalpel, counterfact, zsre, "
                                     "mquake, knowedit were tried): all are JSON, and it is not";
        QTest::newRow("empty file") << "  \n"
                                    << ""
                                    << "is empty; no edits to import";
        QTest::newRow("empty list") << "[]"
                                    << ""
                                    << "has no records; no edits to import";
        QTest::newRow("missing subject placeholder")
            << R"([{"case_id": 0, "requested_rewrite": {"prompt": "The capital of Ireland is",
                  "subject": "Ireland", "target_new": {"str": "Lisbon"}}}])"
            << ""
            << "record 1, requested_rewrite.prompt: has no \"{}\" subject placeholder";
        QTest::newRow("mquake missing placeholder")
            << R"([{"case_id": 0, "requested_rewrite": [{"prompt": "The capital is",
                  "subject": "Ireland", "target_new": {"str": "Lisbon"}}]}])"
            << ""
            << "record 1, requested_rewrite[0].prompt: has no \"{}\" subject placeholder";
        QTest::newRow("subject not in prompt (zsre)")
            << R"([{"subject": "Ireland", "src": "What is the capital of France?", "alt": "Lisbon",
                  "answers": ["Paris"]}])"
            << ""
            << "record 1, subject: \"Ireland\" is not in its prompt";
        QTest::newRow("subject not in prompt (knowedit)")
            << R"([{"subject": "Kenya", "prompt": "The capital of Peru is", "target_new": "Oslo"}])"
            << ""
            << "record 1, subject: \"Kenya\" is not in its prompt";
        QTest::newRow("target tokenizes to nothing")
            << (std::string("[{") + kRewrite + "}, {\"case_id\": 1, " + R"("requested_rewrite":
                  {"prompt": "{} is", "subject": "Peru", "target_new": {"str": "  "}}}])")
                   .c_str()
            << ""
            << "record 2, requested_rewrite.target_new.str: is empty: it tokenizes to nothing";
        QTest::newRow("duplicate case ids")
            << (std::string("[{\"case_id\": 4, ") + kRewrite + "}, {\"case_id\": 4, " + kRewrite +
                "}]")
                   .c_str()
            << ""
            << "record 2, case_id: 4 is used by an earlier record too";
        QTest::newRow("wrong format given") << R"([{"src": "a", "alt": "b", "subject": "a"}])"
                                            << "counterfact"
                                            << "is not counterfact: record 1 has no "
                                               "\"requested_rewrite\"";
        QTest::newRow("knowedit locality not categories")
            << R"([{"subject": "Kenya", "prompt": "Kenya is", "target_new": "x", "locality": [1]}])"
            << ""
            << "record 1, locality: must be an object of categories";
    }
    void badInputIsAnErrorWithNothingImported() {
        QFETCH(QString, text);
        QFETCH(QString, format);
        QFETCH(QString, message);
        EditImportOptions o;
        if (!format.isEmpty())
            o.format = parseEditFormat(format.toStdString());
        const std::string msg = errorOf([&] { importEdits(text.toStdString(), "in.json", o); });
        QVERIFY2(msg.rfind("in.json", 0) == 0, msg.c_str());
        QVERIFY2(msg.find(message.toStdString()) != std::string::npos, msg.c_str());
    }

    void aTokenizerDecidesWhatTokenizesToNothing() {
        EditImportOptions o;
        o.tokenizesToSomething = [](const std::string& s) { return s != "Lisbon"; };
        const std::string text = std::string("[{\"case_id\": 0, ") + kRewrite + "}]";
        const std::string msg = errorOf([&] { importEdits(text, "in.json", o); });
        QVERIFY2(msg.find("\"Lisbon\" tokenizes to nothing") != std::string::npos, msg.c_str());
    }

    void skippingBadRecordsKeepsTheRestAndSaysWhich() {
        const std::string text = std::string("[{\"case_id\": 0, ") + kRewrite + "}, " +
                                 R"({"case_id": 1, "requested_rewrite": {"prompt": "x",
                                    "subject": "s", "target_new": {"str": "y"}}},)" +
                                 "{\"case_id\": 0, " + kRewrite + "}, {\"case_id\": 2, " +
                                 kRewrite + "}]";
        EditImportOptions o;
        o.skipBadRecords = true;
        const auto r = importEdits(text, "in.json", o);
        QCOMPARE(r.memory.size(), std::size_t(2));
        QCOMPARE(r.skipped.size(), std::size_t(2));
        QCOMPARE(r.skipped[0].index, std::size_t(2));
        QCOMPARE(r.skipped[0].field, std::string("requested_rewrite.prompt"));
        QCOMPARE(r.skipped[1].index, std::size_t(3));
        QCOMPARE(r.skipped[1].field, std::string("case_id"));
        QCOMPARE(r.memory.edits()[1].descriptor.sourceRecord, std::string("2"));
    }

    void progressReachesTheEndAndCancels() {
        const std::string path = dataPath("counterfact.json");
        EditImportOptions o;
        std::vector<double> seen;
        o.progress = [&](double f) {
            seen.push_back(f);
            return true;
        };
        importEditsFile(path, o);
        QCOMPARE(seen.size(), std::size_t(4));
        QCOMPARE(seen.back(), 1.0);
        o.progress = [](double f) { return f < 0.5; };
        QCOMPARE(errorOf([&] { importEditsFile(path, o); }), std::string("cancelled"));
    }

    void formatNamesParseAndUnknownOnesAreListed() {
        for (EditFormat f : allEditFormats())
            QCOMPARE(parseEditFormat(editFormatName(f)), f);
        QCOMPARE(parseEditFormat("CounterFact"), EditFormat::CounterFact);
        const std::string msg = errorOf([] { parseEditFormat("rome"); });
        QVERIFY2(msg.find("counterfact, zsre, mquake, knowedit") != std::string::npos, msg.c_str());
    }
};

QTEST_GUILESS_MAIN(TestEditDatasets)
#include "tst_editdatasets.moc"
