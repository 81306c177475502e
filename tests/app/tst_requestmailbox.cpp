// The worker's mailbox and the UI's generation gate: typing fast must cost
// one forward pass per pause, weight edits must all happen in order, and a
// result for text the user has typed past must never be shown.
#include "GenerationGate.h"
#include "ModelWorker.h"
#include "RequestMailbox.h"

#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <vector>

class TestRequestMailbox : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void newerRequestReplacesQueuedOne_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("predict") << static_cast<int>(RequestKind::Predict);
        QTest::newRow("attribute") << static_cast<int>(RequestKind::Attribute);
        QTest::newRow("curve") << static_cast<int>(RequestKind::Curve);
        QTest::newRow("sync edits") << static_cast<int>(RequestKind::SyncEdits);
    }

    void newerRequestReplacesQueuedOne() {
        QFETCH(int, kind);
        RequestMailbox box;
        const auto k = static_cast<RequestKind>(kind);
        QVERIFY(!box.post(k, 1));
        QVERIFY(box.post(k, 2));
        QVERIFY(box.post(k, 3));
        QCOMPARE(box.size(), 1);
        const auto e = box.take();
        QVERIFY(e.has_value());
        QCOMPARE(e->payload.toInt(), 3);
        QVERIFY(!box.take().has_value());
    }

    void replacedRequestMovesToTheBack() {
        RequestMailbox box;
        box.post(RequestKind::Predict, 1);
        box.post(RequestKind::Attribute, 10);
        box.post(RequestKind::Predict, 2);
        QCOMPARE(box.take()->kind, RequestKind::Attribute);
        const auto e = box.take();
        QCOMPARE(e->kind, RequestKind::Predict);
        QCOMPARE(e->payload.toInt(), 2);
    }

    void weightOpsAreNeverReplaced() {
        RequestMailbox box;
        for (int i = 1; i <= 3; ++i)
            QVERIFY(!box.post(RequestKind::WeightOp, i));
        box.post(RequestKind::LoadModel, QStringLiteral("a"));
        box.post(RequestKind::LoadModel, QStringLiteral("b"));
        QCOMPARE(box.size(), 5);
        for (int i = 1; i <= 3; ++i)
            QCOMPARE(box.take()->payload.toInt(), i);
        QCOMPARE(box.take()->payload.toString(), QStringLiteral("a"));
        QCOMPARE(box.take()->payload.toString(), QStringLiteral("b"));
    }

    void quickRequestsSkipLongJobsButNotWeightEdits() {
        RequestMailbox box;
        box.post(RequestKind::Attribute, 1);
        box.post(RequestKind::SyncEdits, 2);
        box.post(RequestKind::Predict, 3);
        // Edits first: the prediction must see them.
        QCOMPARE(box.takeQuick()->kind, RequestKind::SyncEdits);
        QCOMPARE(box.takeQuick()->kind, RequestKind::Predict);
        QVERIFY(!box.takeQuick().has_value());
        QCOMPARE(box.size(), 1);

        RequestMailbox blocked;
        blocked.post(RequestKind::WeightOp, 1);
        blocked.post(RequestKind::Predict, 2);
        // Served early, this prediction would show the weights before the edit.
        QVERIFY(!blocked.takeQuick().has_value());
        QCOMPARE(blocked.size(), 2);
    }

    void discardDropsOnlyThatKind() {
        RequestMailbox box;
        box.post(RequestKind::Refine, 1);
        box.post(RequestKind::Predict, 2);
        QCOMPARE(box.discard(RequestKind::Refine), 1);
        QCOMPARE(box.size(), 1);
        QVERIFY(box.contains(RequestKind::Predict));
        box.post(RequestKind::WeightOp, 3);
        box.post(RequestKind::WeightOp, 4);
        const auto taken = box.takeAll(RequestKind::WeightOp);
        QCOMPARE(taken.size(), std::size_t(2));
        QCOMPARE(taken[0].payload.toInt(), 3);
        QCOMPARE(box.size(), 1);
    }

    void postingFromManyThreadsKeepsOneOfAKind() {
        RequestMailbox box;
        std::vector<QThread*> threads;
        for (int t = 0; t < 4; ++t) {
            threads.push_back(QThread::create([&box, t] {
                for (int i = 0; i < 2000; ++i)
                    box.post(RequestKind::Predict, t * 10000 + i);
            }));
            threads.back()->start();
        }
        for (auto* t : threads) {
            QVERIFY(t->wait(10000));
            delete t;
        }
        QCOMPARE(box.size(), 1);
        QCOMPARE(box.take()->payload.toInt() % 10000, 1999);
    }

    void gateAcceptsOnlyTheNewestGeneration() {
        GenerationGate gate;
        QVERIFY(!gate.accept(RequestKind::Predict, 0));
        const quint64 a = gate.next(RequestKind::Predict);
        const quint64 b = gate.next(RequestKind::Predict);
        QVERIFY(b > a);
        QVERIFY(!gate.accept(RequestKind::Predict, a)); // stale: dropped
        QVERIFY(gate.accept(RequestKind::Predict, b));
        // Kinds count separately.
        const quint64 c = gate.next(RequestKind::Attribute);
        QVERIFY(gate.accept(RequestKind::Attribute, c));
        QVERIFY(gate.accept(RequestKind::Predict, b));
    }

    void workerComputesOnlyTheNewestOfABurst() {
        // With no model loaded the worker still answers each request it
        // takes, so the number of answers counts the requests it computed.
        ModelWorker worker(ModelWorker::Config{});
        QSignalSpy spy(&worker, &ModelWorker::predicted);
        for (quint64 g = 1; g <= 5; ++g) {
            PredictRequest r;
            r.generation = g;
            r.prompt = QStringLiteral("The capital of Ireland is");
            worker.post(RequestKind::Predict, QVariant::fromValue(r));
        }
        QTRY_COMPARE(spy.count(), 1);
        QTest::qWait(50);
        QCOMPARE(spy.count(), 1);
        const auto result = spy.at(0).at(0).value<PredictResult>();
        QCOMPARE(result.generation, quint64(5));
        QVERIFY(!result.warning.isEmpty()); // says there is no model
    }
};

QTEST_GUILESS_MAIN(TestRequestMailbox)
#include "tst_requestmailbox.moc"
