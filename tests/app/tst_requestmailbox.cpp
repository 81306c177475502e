// The worker's tagged jobs: typing fast must cost one forward pass per pause,
// weight edits must all happen in order, typing is served between the steps
// of a long job but never ahead of a weight change, and a result for text
// the user has typed past must never be used.
#include "GenerationGate.h"
#include "ModelWorker.h"
#include "RequestMailbox.h"

#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <atomic>
#include <vector>

namespace {
const QString kPredict = QStringLiteral("predict");
const QString kAttribute = QStringLiteral("attribute");
const QString kEdits = QStringLiteral("edits");
const QString kWeights = QStringLiteral("weights");
} // namespace

class TestRequestMailbox : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void newerJobReplacesQueuedOne_data() {
        QTest::addColumn<QString>("tag");
        QTest::addColumn<int>("cls");
        QTest::newRow("predict") << kPredict << static_cast<int>(JobClass::Quick);
        QTest::newRow("attribute") << kAttribute << static_cast<int>(JobClass::Long);
        QTest::newRow("curve") << QStringLiteral("curve") << static_cast<int>(JobClass::Long);
        QTest::newRow("edits") << kEdits << static_cast<int>(JobClass::Quick);
    }

    void newerJobReplacesQueuedOne() {
        QFETCH(QString, tag);
        QFETCH(int, cls);
        RequestMailbox box;
        const auto c = static_cast<JobClass>(cls);
        QVERIFY(!box.post(tag, c, 1));
        QVERIFY(box.post(tag, c, 2));
        QVERIFY(box.post(tag, c, 3));
        QCOMPARE(box.size(), 1);
        const auto e = box.take();
        QVERIFY(e.has_value());
        QCOMPARE(e->payload.toInt(), 3);
        QVERIFY(!box.take().has_value());
    }

    void replacedJobMovesToTheBack() {
        RequestMailbox box;
        box.post(kPredict, JobClass::Quick, 1);
        box.post(kAttribute, JobClass::Long, 10);
        box.post(kPredict, JobClass::Quick, 2);
        QCOMPARE(box.take()->tag, kAttribute);
        const auto e = box.take();
        QCOMPARE(e->tag, kPredict);
        QCOMPARE(e->payload.toInt(), 2);
    }

    void mutatingJobsAreNeverReplaced() {
        RequestMailbox box;
        for (int i = 1; i <= 3; ++i)
            QVERIFY(!box.post(kWeights, JobClass::Mutating, i));
        box.post(QStringLiteral("load"), JobClass::Mutating, QStringLiteral("a"));
        box.post(QStringLiteral("load"), JobClass::Mutating, QStringLiteral("b"));
        QCOMPARE(box.size(), 5);
        for (int i = 1; i <= 3; ++i)
            QCOMPARE(box.take()->payload.toInt(), i);
        QCOMPARE(box.take()->payload.toString(), QStringLiteral("a"));
        QCOMPARE(box.take()->payload.toString(), QStringLiteral("b"));
    }

    void quickJobsSkipLongJobsButNotWeightEdits() {
        RequestMailbox box;
        box.post(kAttribute, JobClass::Long, 1);
        box.post(kEdits, JobClass::Quick, 2);
        box.post(kPredict, JobClass::Quick, 3);
        // Edits first: the prediction must see them.
        QCOMPARE(box.takeQuick()->tag, kEdits);
        QCOMPARE(box.takeQuick()->tag, kPredict);
        QVERIFY(!box.takeQuick().has_value());
        QCOMPARE(box.size(), 1);

        RequestMailbox blocked;
        blocked.post(kWeights, JobClass::Mutating, 1);
        blocked.post(kPredict, JobClass::Quick, 2);
        // Served early, this prediction would show the weights before the edit.
        QVERIFY(!blocked.takeQuick().has_value());
        QCOMPARE(blocked.size(), 2);
    }

    void discardAndCancelDropOnlyTheirJobs() {
        RequestMailbox box;
        box.post(QStringLiteral("refine"), JobClass::Long, 1);
        box.post(kPredict, JobClass::Quick, 2);
        QCOMPARE(box.discard(QStringLiteral("refine")), 1);
        QCOMPARE(box.size(), 1);
        QVERIFY(box.contains(kPredict));
        RequestMailbox::Entry a;
        a.tag = kAttribute;
        a.cls = JobClass::Long;
        a.cancellable = true;
        a.payload = 3;
        box.post(a);
        box.post(kWeights, JobClass::Mutating, 4);
        const auto taken = box.takeCancellable();
        QCOMPARE(taken.size(), std::size_t(1));
        QCOMPARE(taken[0].payload.toInt(), 3);
        QCOMPARE(box.size(), 2);
    }

    void postingFromManyThreadsKeepsOneOfATag() {
        RequestMailbox box;
        std::vector<QThread*> threads;
        for (int t = 0; t < 4; ++t) {
            threads.push_back(QThread::create([&box, t] {
                for (int i = 0; i < 2000; ++i)
                    box.post(kPredict, JobClass::Quick, t * 10000 + i);
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
        QVERIFY(!gate.accept(kPredict, 0));
        const quint64 a = gate.next(kPredict);
        const quint64 b = gate.next(kPredict);
        QVERIFY(b > a);
        QVERIFY(!gate.accept(kPredict, a)); // stale: dropped
        QVERIFY(gate.accept(kPredict, b));
        // Tags count separately.
        const quint64 c = gate.next(kAttribute);
        QVERIFY(gate.accept(kAttribute, c));
        QVERIFY(gate.accept(kPredict, b));
    }

    void workerComputesOnlyTheNewestOfABurst() {
        ModelWorker worker(ModelWorker::Config{});
        QThread thread;
        worker.moveToThread(&thread);
        // Hold the worker in a first job so the burst queues up behind it.
        std::atomic<bool> release{false};
        worker.invoke(
            {QStringLiteral("hold"), JobClass::Long},
            [&release](WorkerEngine&, JobContext&) {
                while (!release)
                    QThread::msleep(1);
                return 0;
            },
            [](int) {});
        thread.start();
        std::atomic<int> computed{0};
        QVector<int> shown;
        for (int i = 1; i <= 5; ++i)
            worker.invoke(
                {kPredict, JobClass::Quick},
                [&computed, i](WorkerEngine&, JobContext&) {
                    ++computed;
                    return i;
                },
                [&shown](int value) { shown.push_back(value); });
        release = true;
        QTRY_COMPARE(shown.size(), 1);
        QTest::qWait(50);
        QCOMPARE(shown, QVector<int>{5});
        QCOMPARE(computed.load(), 1);
        worker.stop();
        thread.quit();
        QVERIFY(thread.wait(10000));
    }

    void staleResultIsDroppedAndMutatingResultsAllArrive() {
        ModelWorker worker(ModelWorker::Config{});
        QThread thread;
        worker.moveToThread(&thread);
        thread.start();
        std::atomic<bool> release{false};
        QVector<int> shown;
        // The first prediction is already running when the second is asked
        // for: its result comes back, and must be dropped.
        worker.invoke(
            {kPredict, JobClass::Quick},
            [&release](WorkerEngine&, JobContext&) {
                while (!release)
                    QThread::msleep(1);
                return 1;
            },
            [&shown](int v) { shown.push_back(v); });
        QTest::qWait(20);
        worker.invoke(
            {kPredict, JobClass::Quick}, [](WorkerEngine&, JobContext&) { return 2; },
            [&shown](int v) { shown.push_back(v); });
        QVector<int> weights;
        for (int i = 1; i <= 3; ++i)
            worker.invoke(
                {kWeights, JobClass::Mutating, {}, false, /*dropStale=*/false},
                [i](WorkerEngine&, JobContext&) { return i; },
                [&weights](int v) { weights.push_back(v); });
        release = true;
        QTRY_COMPARE(weights.size(), 3);
        QTRY_COMPARE(shown, QVector<int>{2});
        QCOMPARE(weights, (QVector<int>{1, 2, 3}));
        QCOMPARE(worker.staleResultsDropped(), 1);
        worker.stop();
        thread.quit();
        QVERIFY(thread.wait(10000));
    }

    void typingIsServedInsideALongJobButNotPastAWeightChange() {
        ModelWorker worker(ModelWorker::Config{});
        QThread thread;
        worker.moveToThread(&thread);
        std::atomic<bool> typed{false};
        std::atomic<bool> release{false};
        std::atomic<int> seenByPrediction{-1};
        std::atomic<int> weightsVersion{0};
        QVector<QString> order;
        worker.invoke(
            {kAttribute, JobClass::Long, QStringLiteral("Attribution"), true},
            [&](WorkerEngine&, JobContext& c) {
                // Steps of a long job: typing waiting meanwhile is served.
                while (!release) {
                    c.progress(0.5);
                    QThread::msleep(1);
                }
                c.progress(1.0);
                return QStringLiteral("attribution");
            },
            [&order](const QString& s) { order.push_back(s); });
        thread.start();
        worker.invoke(
            {kPredict, JobClass::Quick},
            [&](WorkerEngine&, JobContext&) {
                typed = true;
                return QStringLiteral("typing");
            },
            [&order](const QString& s) { order.push_back(s); });
        QTRY_VERIFY(typed.load());
        QTRY_COMPARE(order, QVector<QString>{QStringLiteral("typing")});

        // A weight change queued behind the long job holds back the typing
        // that follows it until it has run.
        worker.invoke(
            {kWeights, JobClass::Mutating, {}, false, false},
            [&](WorkerEngine&, JobContext&) {
                weightsVersion = 1;
                return QStringLiteral("weights");
            },
            [&order](const QString& s) { order.push_back(s); });
        worker.invoke(
            {kPredict, JobClass::Quick},
            [&](WorkerEngine&, JobContext&) {
                seenByPrediction = weightsVersion.load();
                return QStringLiteral("typing after");
            },
            [&order](const QString& s) { order.push_back(s); });
        QTest::qWait(50);
        QCOMPARE(seenByPrediction.load(), -1);
        release = true;
        QTRY_COMPARE(order.size(), 4);
        QCOMPARE(seenByPrediction.load(), 1);
        QCOMPARE(order[1], QStringLiteral("attribution"));
        QCOMPARE(order[2], QStringLiteral("weights"));
        worker.stop();
        thread.quit();
        QVERIFY(thread.wait(10000));
    }

    void cancelStopsTheRunningJobAndDropsQueuedOnes() {
        ModelWorker worker(ModelWorker::Config{});
        QThread thread;
        worker.moveToThread(&thread);
        std::atomic<bool> started{false};
        bool cancelledSeen = false;
        int dropped = 0;
        worker.invoke(
            {kAttribute, JobClass::Long, QStringLiteral("Attribution"), true},
            [&](WorkerEngine&, JobContext& c) {
                started = true;
                while (c.progress(0.1))
                    QThread::msleep(1);
                return c.cancelled();
            },
            [&](bool cancelled) { cancelledSeen = cancelled; });
        worker.invoke(
            {QStringLiteral("refine"), JobClass::Long, QStringLiteral("Refining"), true},
            [](WorkerEngine&, JobContext&) { return false; }, [](bool) { QFAIL("ran"); },
            [&dropped] { ++dropped; });
        QSignalSpy finished(&worker, &ModelWorker::jobFinished);
        thread.start();
        QTRY_VERIFY(started.load());
        worker.cancelJobs();
        QTRY_VERIFY(cancelledSeen);
        QTRY_COMPARE(dropped, 1);
        worker.stop();
        thread.quit();
        QVERIFY(thread.wait(10000));
    }
};

QTEST_GUILESS_MAIN(TestRequestMailbox)
#include "tst_requestmailbox.moc"
