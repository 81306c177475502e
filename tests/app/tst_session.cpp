// Session files: everything the studio saves (the causal trace and logit
// lens included) comes back identical, a save
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

    TraceData& t = s.trace;
    t.prompt = s.prompt;
    t.subject = QStringLiteral("Ireland");
    t.answerId = 42;
    t.answer = QStringLiteral("Dublin");
    t.sigma = 0.123456789012345;
    t.noise = 3;
    t.seed = 18446744073709551557ULL; // beyond a double's 53 bits
    t.samples = 10;
    t.window = 10;
    t.tokens = {QStringLiteral("the"), QStringLiteral("capital"), QStringLiteral("Ireland")};
    t.layers = 2;
    t.subjectBegin = 2;
    t.subjectEnd = 3;
    t.cleanScore = 0.775;
    t.corruptedScore = 0.0401;
    t.method = QStringLiteral("fast");
    t.elapsedMs = 12.5;
    t.grids = {{QStringLiteral("hidden"), {0.1f, 0.2f, 1.0f / 3.0f, 0.4f, 0.5f, 0.6f}},
               {QStringLiteral("mlp"), {0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 1e-7f}}};

    LensData& l = s.lens;
    l.prompt = s.prompt;
    l.topK = 2;
    l.tokens = {QStringLiteral("the"), QStringLiteral("Ireland")};
    l.layers = 2;
    l.answer = QStringLiteral("Dublin");
    l.answerProb = {0.01, 0.775};
    l.answerRank = {40, 1};
    for (int i = 0; i < 4; ++i)
        l.top.push_back(
            {{QStringLiteral("Dublin"), 42, 0.5 + i * 0.1}, {QStringLiteral("Paris"), 7, 0.1}});
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

    QCOMPARE(a.trace.prompt, b.trace.prompt);
    QCOMPARE(a.trace.subject, b.trace.subject);
    QCOMPARE(a.trace.answerId, b.trace.answerId);
    QCOMPARE(a.trace.answer, b.trace.answer);
    QCOMPARE(a.trace.sigma, b.trace.sigma);
    QCOMPARE(a.trace.noise, b.trace.noise);
    QCOMPARE(a.trace.seed, b.trace.seed);
    QCOMPARE(a.trace.samples, b.trace.samples);
    QCOMPARE(a.trace.window, b.trace.window);
    QCOMPARE(a.trace.tokens, b.trace.tokens);
    QCOMPARE(a.trace.layers, b.trace.layers);
    QCOMPARE(a.trace.subjectBegin, b.trace.subjectBegin);
    QCOMPARE(a.trace.subjectEnd, b.trace.subjectEnd);
    QCOMPARE(a.trace.cleanScore, b.trace.cleanScore);
    QCOMPARE(a.trace.corruptedScore, b.trace.corruptedScore);
    QCOMPARE(a.trace.method, b.trace.method);
    QCOMPARE(a.trace.grids.size(), b.trace.grids.size());
    for (int k = 0; k < a.trace.grids.size(); ++k) {
        QCOMPARE(a.trace.grids[k].kind, b.trace.grids[k].kind);
        QCOMPARE(a.trace.grids[k].scores, b.trace.grids[k].scores); // bit-exact floats
    }
    QCOMPARE(a.lens.prompt, b.lens.prompt);
    QCOMPARE(a.lens.topK, b.lens.topK);
    QCOMPARE(a.lens.tokens, b.lens.tokens);
    QCOMPARE(a.lens.layers, b.lens.layers);
    QCOMPARE(a.lens.answer, b.lens.answer);
    QCOMPARE(a.lens.answerProb, b.lens.answerProb);
    QCOMPARE(a.lens.answerRank, b.lens.answerRank);
    QCOMPARE(a.lens.top.size(), b.lens.top.size());
    for (int i = 0; i < a.lens.top.size(); ++i) {
        QCOMPARE(a.lens.top[i].size(), b.lens.top[i].size());
        for (int j = 0; j < a.lens.top[i].size(); ++j) {
            QCOMPARE(a.lens.top[i][j].token, b.lens.top[i][j].token);
            QCOMPARE(a.lens.top[i][j].id, b.lens.top[i][j].id);
            QCOMPARE(a.lens.top[i][j].prob, b.lens.top[i][j].prob);
        }
    }
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
        const QByteArray head = "{\"format\":\"scalpel-session\",\"version\":1,";
        const QByteArray trace = "\"trace\":{\"prompt\":\"a b\",\"subject\":\"a\","
                                 "\"answer_id\":1,\"seed\":\"1\",\"samples\":2,"
                                 "\"window\":1,\"tokens\":[\"a\",\"b\"],\"layers\":2,"
                                 "\"subject_begin\":0,\"subject_end\":1,";
        QTest::newRow("trace grid size")
            << head + trace + "\"grids\":[{\"kind\":\"mlp\",\"scores\":[1,2,3]}]}}"
            << QStringLiteral("the trace: the mlp grid has 3 scores for 2 tokens x 2 layers");
        QTest::newRow("trace kind")
            << head + trace + "\"grids\":[{\"kind\":\"resid\",\"scores\":[1,2,3,4]}]}}"
            << QStringLiteral("unknown grid kind 'resid'");
        QTest::newRow("trace subject range")
            << head + QByteArray(trace).replace("\"subject_end\":1", "\"subject_end\":3") +
                   "\"grids\":[{\"kind\":\"mlp\",\"scores\":[1,2,3,4]}]}}"
            << QStringLiteral("subject tokens [0, 3) do not fit");
        QTest::newRow("trace seed")
            << head + QByteArray(trace).replace("\"seed\":\"1\"", "\"seed\":1") +
                   "\"grids\":[{\"kind\":\"mlp\",\"scores\":[1,2,3,4]}]}}"
            << QStringLiteral("the seed");
        QTest::newRow("lens cells")
            << head + "\"lens\":{\"tokens\":[\"a\"],\"layers\":2,\"answer_prob\":[0,1],"
                      "\"answer_rank\":[2,1],\"top\":[[]]}}"
            << QStringLiteral("the logit lens: 1 cells, 2 answer probabilities");
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
