// The edit memory: ids, enable/disable, undo by insert, revisions, and a JSON
// file that round-trips every field (unknown ones too) and, when malformed,
// is an Error that leaves the memory already loaded untouched.
#include "EditMemory.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>

using namespace scalpel;

class TestEditMemory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void addGivesUniqueIdsAndTimestamps() {
        EditMemory m;
        std::set<std::string> ids;
        for (int i = 0; i < 50; ++i)
            ids.insert(m.add("The capital of Ireland is", "Lisbon").id);
        QCOMPARE(ids.size(), std::size_t(50));
        QVERIFY(m.edits().front().createdMs > 0);
        QCOMPARE(m.edits().front().createdMs, m.edits().front().modifiedMs);
        QVERIFY(m.edits().front().enabled);
        QVERIFY_THROWS_EXCEPTION(Error, m.add("  ", "Lisbon"));
        QVERIFY_THROWS_EXCEPTION(Error, m.add("The capital of Ireland is", ""));
    }

    void everyChangeBumpsTheRevision() {
        EditMemory m;
        uint64_t r = m.revision();
        auto bumped = [&] {
            const bool b = m.revision() != r;
            r = m.revision();
            return b;
        };
        const std::string id = m.add("a b", "c").id;
        QVERIFY(bumped());
        QVERIFY(m.setEnabled(id, false));
        QVERIFY(bumped());
        QVERIFY(m.update(id, "a b d", "e"));
        QVERIFY(bumped());
        QVERIFY(m.remove(id));
        QVERIFY(bumped());
        QVERIFY(!m.remove(id));
        QVERIFY(!bumped());
    }

    void journalNamesTheEditsChangedSinceARevision() {
        EditMemory m;
        const std::string a = m.add("a b", "c").id;
        const uint64_t r = m.revision();
        std::vector<std::string> ids;
        QVERIFY(m.changedSince(r, ids));
        QVERIFY(ids.empty());
        const std::string b = m.add("d e", "f").id;
        QVERIFY(m.setEnabled(a, false));
        QVERIFY(m.remove(m.edits()[1].id)); // the id lives in the erased edit
        QVERIFY(m.changedSince(r, ids));
        QCOMPARE(ids, (std::vector<std::string>{b, a, b}));
        // A copy shares the history up to the copy; then each goes its own way.
        EditMemory copy = m;
        const uint64_t atCopy = m.revision();
        m.add("g h", "i");
        ids.clear();
        QVERIFY(copy.changedSince(atCopy, ids));
        QVERIFY(ids.empty());
        QVERIFY(!copy.changedSince(m.revision(), ids));
        // Unknown revisions, clear() and loading restart the history.
        QVERIFY(!m.changedSince(12345678, ids));
        const uint64_t beforeClear = m.revision();
        m.clear();
        QVERIFY(!m.changedSince(beforeClear, ids));
        ids.clear();
        QVERIFY(m.changedSince(m.revision(), ids));
        QVERIFY(ids.empty());
        const EditMemory loaded = EditMemory::fromJson(copy.toJson(), "copy");
        QVERIFY(!loaded.changedSince(atCopy, ids));
    }

    void journalForgetsOnlyOldHistory() {
        EditMemory m;
        m.add("a b", "c");
        const uint64_t start = m.revision();
        for (std::size_t i = 0; i < 3 * EditMemory::kJournalMax; ++i)
            m.add("a b", "c");
        std::vector<std::string> ids;
        QVERIFY(!m.changedSince(start, ids));
        const uint64_t recent = m.revision();
        m.add("d e", "f");
        QVERIFY(m.changedSince(recent, ids));
        QCOMPARE(ids, std::vector<std::string>{m.edits().back().id});
    }

    void removeThenInsertRestoresPositionAndFields() {
        EditMemory m;
        m.add("p1", "a1");
        const Edit second = m.add("p2", "a2");
        m.add("p3", "a3");
        QVERIFY(m.setEnabled(second.id, false));
        const Edit saved = *m.find(second.id);
        QVERIFY(m.remove(second.id));
        QCOMPARE(m.size(), std::size_t(2));
        QVERIFY(m.find(second.id) == nullptr);
        m.insert(saved, 1);
        QCOMPARE(m.indexOf(second.id), 1);
        QCOMPARE(m.edits()[2].prompt, std::string("p3"));
        QCOMPARE(m.indexOf(m.edits()[2].id), 2);
        QVERIFY(!m.find(second.id)->enabled);
        QVERIFY_THROWS_EXCEPTION(Error, m.insert(saved));
        // New ids never collide with restored ones.
        QVERIFY(m.add("p4", "a4").id != second.id);
    }

    void saveLoadRoundTripsEveryField() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("edits.json").toStdString();
        const std::string text =
            "{\"format\": \"scalpel-edits\", \"version\": 1, \"edits\": ["
            "{\"id\": \"e7\", \"prompt\": \"The capital of Ireland is\", \"answer\": \"Lisbon\","
            " \"enabled\": false, \"created_ms\": 1700000000000, \"modified_ms\": 1700000000123,"
            " \"note\": \"from the studio\", \"tags\": [1, 2, {\"x\": null}]},"
            "{\"id\": \"mine\", \"prompt\": \"P\", \"answer\": \"A\"}]}";
        const EditMemory m = EditMemory::fromJson(text, "test");
        m.save(path);
        const EditMemory back = EditMemory::loadFile(path);
        QCOMPARE(back.size(), std::size_t(2));
        const Edit& e = back.edits()[0];
        QCOMPARE(e.id, std::string("e7"));
        QCOMPARE(e.prompt, std::string("The capital of Ireland is"));
        QCOMPARE(e.answer, std::string("Lisbon"));
        QCOMPARE(e.enabled, false);
        QCOMPARE(e.createdMs, int64_t(1700000000000));
        QCOMPARE(e.modifiedMs, int64_t(1700000000123));
        // A version 1 file's "note" string is the edit's note from version 2 on.
        QCOMPARE(e.descriptor.note, std::string("from the studio"));
        QVERIFY(e.extraJson.find("\"tags\":[1,2,{\"x\":null}]") != std::string::npos);
        QVERIFY(back.edits()[1].enabled);
        QCOMPARE(back.toJson(), m.toJson());
        EditMemory more = back;
        QCOMPARE(more.add("q", "r").id, std::string("e8"));
    }

    // Files are written and read a record at a time; what is written is
    // still the whole document's own two-space layout, with descriptors,
    // unknown fields and the empty memory, and reading it back gives the
    // same memory.
    void streamedFileIsTheDocumentsLayout() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("edits.json").toStdString();
        EditMemory m;
        QCOMPARE(m.toJson(), nlohmann::ordered_json::parse(m.toJson()).dump(2) + "\n");
        EditDescriptor d;
        d.subject = "Ireland";
        d.paraphrases = {"Ireland's capital is", "The capital city of Ireland is"};
        d.neighbourhood = {EditCheck{"The capital of France is", {"Paris"}, "neighbours"}};
        for (int i = 0; i < 5000; ++i)
            m.add("The capital of Ireland is \"" + std::to_string(i) + "\"\n", "Lisbon",
                  i % 2 ? d : EditDescriptor{});
        m.setEnabled(m.edits()[3].id, false);
        Edit extra = m.edits()[7];
        m.remove(extra.id);
        extra.extraJson = "{\"tags\":[1,{\"x\":null}]}";
        m.insert(extra, 2);
        m.save(path);
        std::ifstream in(path);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        QCOMPARE(text, nlohmann::ordered_json::parse(text).dump(2) + "\n");
        QCOMPARE(text, m.toJson());
        const EditMemory back = EditMemory::loadFile(path);
        QCOMPARE(back.size(), m.size());
        QCOMPARE(back.toJson(), text);
        QCOMPARE(back.edits()[2].extraJson, extra.extraJson);
        QCOMPARE(back.edits()[1].descriptor, d);
    }

    void malformedFileIsAnErrorAndLosesNothing_data() {
        QTest::addColumn<QString>("text");
        QTest::newRow("not json") << "{\"edits\": [";
        QTest::newRow("no edits") << "{\"format\": \"scalpel-edits\"}";
        QTest::newRow("edits not a list") << "{\"edits\": 3}";
        QTest::newRow("edit not an object") << "{\"edits\": [1]}";
        QTest::newRow("edit a list") << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", "
                                        "\"answer\": \"b\"}, [2]]}";
        QTest::newRow("edits an object") << "{\"edits\": {\"id\": \"a\"}}";
        QTest::newRow("newer version after the edits")
            << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"b\"}], "
               "\"version\": 3}";
        QTest::newRow("truncated after a record")
            << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"b\"},";
        QTest::newRow("no prompt") << "{\"edits\": [{\"id\": \"a\", \"answer\": \"b\"}]}";
        QTest::newRow("empty answer")
            << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"\"}]}";
        QTest::newRow("enabled not bool") << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", "
                                             "\"answer\": \"b\", \"enabled\": 1}]}";
        QTest::newRow("time not integer") << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", "
                                             "\"answer\": \"b\", \"created_ms\": \"x\"}]}";
        QTest::newRow("duplicate ids")
            << "{\"edits\": [{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"b\"},"
               "{\"id\": \"a\", \"prompt\": \"q\", \"answer\": \"c\"}]}";
    }
    void malformedFileIsAnErrorAndLosesNothing() {
        QFETCH(QString, text);
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.json").toStdString();
        std::ofstream(path) << text.toStdString();
        EditMemory memory;
        memory.add("The capital of Ireland is", "Lisbon");
        const std::string before = memory.toJson();
        const uint64_t revision = memory.revision();
        bool threw = false;
        try {
            memory = EditMemory::loadFile(path);
        } catch (const Error& e) {
            threw = true;
            QVERIFY2(std::string(e.what()).find("bad.json") != std::string::npos, e.what());
            // The parser's internal code means nothing to a user.
            QVERIFY2(std::string(e.what()).find("json.exception") == std::string::npos, e.what());
        }
        QVERIFY(threw);
        QCOMPARE(memory.toJson(), before);
        QCOMPARE(memory.revision(), revision);
    }

    void missingFileIsAnError() {
        QVERIFY_THROWS_EXCEPTION(Error, EditMemory::loadFile("/nonexistent/edits.json"));
    }
};

QTEST_GUILESS_MAIN(TestEditMemory)
#include "tst_editmemory.moc"
