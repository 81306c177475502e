#include "ProgressStrip.h"

#include <QProgressBar>
#include <QSignalSpy>
#include <QTest>
#include <QToolButton>

class TestProgressStrip : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void idleHidesCancel();
    void progressShowsFraction_data();
    void progressShowsFraction();
    void unknownProgressIsBusyBar();
    void cancelAsksOnce();
    void finishShowsMessageAndHides();
    void progressWhileIdleIsIgnored();
};

void TestProgressStrip::idleHidesCancel() {
    ProgressStrip strip;
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    QVERIFY(!strip.isBusy());
    QVERIFY(!strip.cancelButton()->isVisible());
    QVERIFY(!strip.progressBar()->isVisible());

    strip.startJob(QStringLiteral("Attribution"));
    QVERIFY(strip.isBusy());
    QCOMPARE(strip.jobName(), QStringLiteral("Attribution"));
    QVERIFY(strip.cancelButton()->isVisible());
    QVERIFY(strip.cancelButton()->isEnabled());
    QVERIFY(strip.progressBar()->isVisible());
    QCOMPARE(strip.progress(), 0.0);
}

void TestProgressStrip::progressShowsFraction_data() {
    QTest::addColumn<double>("fraction");
    QTest::addColumn<double>("shown");
    QTest::addColumn<int>("percent");
    QTest::newRow("start") << 0.0 << 0.0 << 0;
    QTest::newRow("some") << 0.42 << 0.42 << 42;
    QTest::newRow("done") << 1.0 << 1.0 << 100;
    QTest::newRow("overshoot clamps") << 1.3 << 1.0 << 100;
}

void TestProgressStrip::progressShowsFraction() {
    QFETCH(double, fraction);
    QFETCH(double, shown);
    QFETCH(int, percent);
    ProgressStrip strip;
    strip.startJob(QStringLiteral("Refining"));
    strip.setProgress(fraction, QStringLiteral("prompt 2 of 5"));
    QCOMPARE(strip.progress(), shown);
    QCOMPARE(strip.detail(), QStringLiteral("prompt 2 of 5"));
    const QProgressBar* bar = strip.progressBar();
    QCOMPARE(qRound(100.0 * (bar->value() - bar->minimum()) / (bar->maximum() - bar->minimum())),
             percent);
}

void TestProgressStrip::unknownProgressIsBusyBar() {
    ProgressStrip strip;
    strip.startJob(QStringLiteral("Loading model"));
    strip.setProgress(-1);
    QCOMPARE(strip.progress(), -1.0);
    QCOMPARE(strip.progressBar()->maximum(), 0); // Qt's busy indicator
    strip.setProgress(0.5);
    QVERIFY(strip.progressBar()->maximum() > 0);
}

void TestProgressStrip::cancelAsksOnce() {
    ProgressStrip strip;
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    QSignalSpy cancel(&strip, &ProgressStrip::cancelRequested);
    strip.startJob(QStringLiteral("Training"));
    QTest::mouseClick(strip.cancelButton(), Qt::LeftButton);
    QCOMPARE(cancel.count(), 1);
    // The request is acknowledged and not repeated while the job winds down.
    QVERIFY(!strip.cancelButton()->isEnabled());
    QTest::mouseClick(strip.cancelButton(), Qt::LeftButton);
    QCOMPARE(cancel.count(), 1);
    strip.setProgress(0.9, QStringLiteral("step 90"));
    QCOMPARE(strip.detail(), QStringLiteral("Cancelling…"));

    strip.finishJob(QStringLiteral("Training cancelled"));
    strip.startJob(QStringLiteral("Training"));
    QVERIFY(strip.cancelButton()->isEnabled());
}

void TestProgressStrip::finishShowsMessageAndHides() {
    ProgressStrip strip;
    QCOMPARE(strip.messageTimeoutMs(), ProgressStrip::kDefaultMessageTimeoutMs);
    strip.setMessageTimeoutMs(150);
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    strip.startJob(QStringLiteral("Attribution"));
    strip.setProgress(0.5, QStringLiteral("layer 6 of 12"));
    strip.finishJob(QStringLiteral("Attribution finished in 3.2 s"));
    QVERIFY(!strip.isBusy());
    QVERIFY(!strip.cancelButton()->isVisible());
    QVERIFY(!strip.progressBar()->isVisible());
    QCOMPARE(strip.message(), QStringLiteral("Attribution finished in 3.2 s"));
    QVERIFY(strip.detail().isEmpty());
    // The message goes away on its own.
    QTRY_VERIFY(strip.message().isEmpty());
}

void TestProgressStrip::progressWhileIdleIsIgnored() {
    ProgressStrip strip;
    strip.setProgress(0.7, QStringLiteral("stale"));
    QVERIFY(!strip.isBusy());
    QCOMPARE(strip.progress(), 0.0);
    QVERIFY(strip.message().isEmpty());
}

QTEST_MAIN(TestProgressStrip)
#include "tst_progressstrip.moc"
