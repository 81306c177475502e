// Session files: everything the studio saves comes back identical, a save
// that cannot happen says why and leaves the old file whole, and files that
// are not sessions are refused with a reason.
#include "Session.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

namespace {

SessionState sample() {
    SessionState s;
    s.modelPath = QStringLiteral("/models/factworld");
    s.prompt = QStringLiteral("The capital of Ireland is");
    s.history = {QStringLiteral("The capital of France is"), QStringLiteral("Ireland's capital")};
    s.editsJson = QByteArrayLiteral(
        "{\"edits\":[{\"id\":\"e1\",\"prompt\":\"The capital of Ireland is\",\"answer\":\"Lisbon\","
        "\"enabled\":true}]}");
    WeightOp op;
    op.kind = WeightOp::Kind::UpdateFact;
    op.neurons = {{2, 100}, {3, 7}};
    op.oldObject = QStringLiteral("Dublin");
    op.prompt = QStringLiteral("The capital of Ireland is");
    op.newObject = QStringLiteral("Lisbon");
    op.description = QStringLiteral("Update fact: Dublin → Lisbon");
    s.weightChanges = {op};
    s.neurons = {{2, 100}, {3, 7}};
    s.neuronLabels = {QStringLiteral("in 7/7 prompts"), QStringLiteral("picked")};
    s.neuronSource = QStringLiteral("“The capital of Ireland is” → Dublin");
    s.scales = {{2, 100, 0.25}, {3, 7, 2.75}};
    s.refinePrompts = {QStringLiteral("The capital of Ireland is"),
                       QStringLiteral("Ireland's capital city is")};
    s.refineTarget = QStringLiteral("Dublin");
    s.refineShare = 0.6;
    s.refineThreshold = 0.3;
    s.refineSteps = 12;
    s.refined = {{2, 100, 2, 0.125}};
    s.attribution.layers = 2;
    s.attribution.neurons = 3;
    // Values that do not survive a round trip through short decimal text.
    s.attribution.scores = {0.1f, -1e-7f, 3.14159274f, 0.0f, 1.0f / 3.0f, -2.5e3f};
    s.attribution.prompt = s.prompt;
    s.attribution.target = QStringLiteral("Dublin");
    s.attribution.targetProb = 0.987654321;
    s.heatmapThreshold = 0.35;
    return s;
}

void compareStates(const SessionState& a, const SessionState& b) {
    QCOMPARE(a.modelPath, b.modelPath);
    QCOMPARE(a.prompt, b.prompt);
    QCOMPARE(a.history, b.history);
    QCOMPARE(a.weightChanges.size(), b.weightChanges.size());
    for (int i = 0; i < a.weightChanges.size(); ++i) {
        QCOMPARE(a.weightChanges[i].kind, b.weightChanges[i].kind);
        QCOMPARE(a.weightChanges[i].neurons, b.weightChanges[i].neurons);
        QCOMPARE(a.weightChanges[i].oldObject, b.weightChanges[i].oldObject);
        QCOMPARE(a.weightChanges[i].newObject, b.weightChanges[i].newObject);
        QCOMPARE(a.weightChanges[i].description, b.weightChanges[i].description);
        QCOMPARE(a.weightChanges[i].prompt, b.weightChanges[i].prompt);
    }
    QCOMPARE(a.neurons, b.neurons);
    QCOMPARE(a.neuronLabels, b.neuronLabels);
    QCOMPARE(a.neuronSource, b.neuronSource);
    QCOMPARE(a.scales, b.scales); // exact: factors are stored as doubles
    QCOMPARE(a.refinePrompts, b.refinePrompts);
    QCOMPARE(a.refineTarget, b.refineTarget);
    QCOMPARE(a.refineShare, b.refineShare);
    QCOMPARE(a.refineThreshold, b.refineThreshold);
    QCOMPARE(a.refineSteps, b.refineSteps);
    QCOMPARE(a.refined.size(), b.refined.size());
    QCOMPARE(a.refined[0].prompts, b.refined[0].prompts);
    QCOMPARE(a.refined[0].meanScore, b.refined[0].meanScore);
    QCOMPARE(a.attribution.layers, b.attribution.layers);
    QCOMPARE(a.attribution.neurons, b.attribution.neurons);
    QCOMPARE(a.attribution.scores, b.attribution.scores); // bit-exact floats
    QCOMPARE(a.attribution.target, b.attribution.target);
    QCOMPARE(a.attribution.targetProb, b.attribution.targetProb);
    QCOMPARE(a.heatmapThreshold, b.heatmapThreshold);
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void jsonRoundTripKeepsEverything() {
        const SessionState s = sample();
        SessionState back;
        QString error;
        QVERIFY2(Session::fromJson(Session::toJson(s), &back, &error), qPrintable(error));
        compareStates(s, back);
        // The edit memory is kept as its own JSON, field for field.
        QVERIFY(back.editsJson.contains("\"Lisbon\""));
        QVERIFY(back.editsJson.contains("\"e1\""));
    }

    void fileRoundTrip() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("a.scalpel"));
        QString error;
        QVERIFY2(Session::save(path, sample(), &error), qPrintable(error));
        SessionState back;
        QVERIFY2(Session::load(path, &back, &error), qPrintable(error));
        compareStates(sample(), back);
    }

    void failedSaveSaysWhyAndKeepsTheOldFile() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("a.scalpel"));
        QString error;
        QVERIFY(Session::save(path, sample(), &error));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray before = f.readAll();
        f.close();
        // A path under a regular file cannot be written, even by root.
        const QString bad = path + QStringLiteral("/inside.scalpel");
        QVERIFY(!Session::save(bad, sample(), &error));
        QVERIFY(error.contains(bad));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);
    }

    void refusesWhatIsNotASession_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("why");
        QTest::newRow("not json") << QByteArray("{nope") << QStringLiteral("not JSON");
        QTest::newRow("other format")
            << QByteArray("{\"format\":\"x\"}") << QStringLiteral("not a Scalpel session");
        QTest::newRow("newer") << QByteArray("{\"format\":\"scalpel-session\",\"version\":99}")
                               << QStringLiteral("newer");
        QTest::newRow("grid size") << QByteArray("{\"format\":\"scalpel-session\",\"version\":1,"
                                                 "\"attribution\":{\"layers\":2,\"neurons\":2,"
                                                 "\"scores\":[1,2,3]}}")
                                   << QStringLiteral("3 scores for 2 x 2");
        QTest::newRow("weight kind") << QByteArray("{\"format\":\"scalpel-session\",\"version\":1,"
                                                   "\"weight_changes\":[{\"kind\":\"melt\"}]}")
                                     << QStringLiteral("melt");
    }

    void refusesWhatIsNotASession() {
        QFETCH(QByteArray, json);
        QFETCH(QString, why);
        SessionState s = sample();
        QString error;
        QVERIFY(!Session::fromJson(json, &s, &error));
        QVERIFY2(error.contains(why), qPrintable(error));
        QCOMPARE(s.prompt, sample().prompt); // untouched on failure
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
