#include "PromptConsole.h"

#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

class TestPromptConsole : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void debounceCoalescesKeystrokes();
    void debounceRestartsOnEachKeystroke();
    void enterSubmitsAndRecordsHistory();
    void historyWalk_data();
    void historyWalk();
    void setPromptLeavesHistoryAlone();
    void chipsShowTokens_data();
    void chipsShowTokens();
    void unknownChipExplainsItself();
    void chipsAreReused();
    void longPromptScrollsAndSaysWhatIsNotRead();
    void maskChipLooksDistinct();
    void clozeHintOffersTheMask();
    void clozeHintRowNeverClipsTheChips();
};

void TestPromptConsole::debounceCoalescesKeystrokes() {
    PromptConsole console;
    QCOMPARE(console.debounceIntervalMs(), PromptConsole::kDefaultDebounceMs);
    console.setDebounceIntervalMs(100);
    QSignalSpy changed(&console, &PromptConsole::promptChanged);

    QTest::keyClicks(console.lineEdit(), QStringLiteral("The capital"));
    // Keystrokes are delivered synchronously: nothing may have been emitted yet.
    QCOMPARE(changed.count(), 0);
    QTRY_COMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("The capital"));
    // And no late second emission for the same burst.
    QTest::qWait(2 * console.debounceIntervalMs());
    QCOMPARE(changed.count(), 1);
}

void TestPromptConsole::debounceRestartsOnEachKeystroke() {
    PromptConsole console;
    const int intervalMs = 150;
    console.setDebounceIntervalMs(intervalMs);
    QElapsedTimer sinceLastKey;
    qint64 emittedAfterMs = -1;
    connect(&console, &PromptConsole::promptChanged, this,
            [&] { emittedAfterMs = sinceLastKey.elapsed(); });

    QTest::keyClick(console.lineEdit(), Qt::Key_A);
    QTest::qWait(intervalMs / 2);
    QTest::keyClick(console.lineEdit(), Qt::Key_B);
    sinceLastKey.start();
    QTRY_VERIFY(emittedAfterMs >= 0);
    // Had the first keystroke's timer kept running, the signal would come
    // about half an interval after the second key.
    QVERIFY2(emittedAfterMs >= intervalMs - 2, qPrintable(QString::number(emittedAfterMs)));
    QCOMPARE(console.prompt(), QStringLiteral("ab"));
}

void TestPromptConsole::enterSubmitsAndRecordsHistory() {
    PromptConsole console;
    console.setDebounceIntervalMs(10000);
    QSignalSpy submitted(&console, &PromptConsole::promptSubmitted);
    QSignalSpy changed(&console, &PromptConsole::promptChanged);

    QTest::keyClicks(console.lineEdit(), QStringLiteral("Paris is in"));
    QTest::keyClick(console.lineEdit(), Qt::Key_Return);
    QCOMPARE(submitted.count(), 1);
    QCOMPARE(submitted.at(0).at(0).toString(), QStringLiteral("Paris is in"));
    // Submitting flushes the pending change instead of waiting for the timer.
    QCOMPARE(changed.count(), 1);
    QCOMPARE(console.history(), QStringList{QStringLiteral("Paris is in")});

    // Submitting the same prompt again does not duplicate it; blank ones are not kept.
    QTest::keyClick(console.lineEdit(), Qt::Key_Return);
    console.lineEdit()->clear();
    QTest::keyClick(console.lineEdit(), Qt::Key_Return);
    QCOMPARE(submitted.count(), 3);
    QCOMPARE(console.history(), QStringList{QStringLiteral("Paris is in")});
}

void TestPromptConsole::historyWalk_data() {
    QTest::addColumn<QString>("draft");
    QTest::addColumn<QString>("keys"); // U = Up, D = Down
    QTest::addColumn<QString>("expected");

    QTest::newRow("up once shows the newest") << ""
                                              << "U"
                                              << "third";
    QTest::newRow("up twice") << ""
                              << "UU"
                              << "second";
    QTest::newRow("up stops at the oldest") << ""
                                            << "UUUUU"
                                            << "first";
    QTest::newRow("up then down") << ""
                                  << "UUD"
                                  << "third";
    QTest::newRow("down past the newest restores the draft") << "half typed"
                                                             << "UD"
                                                             << "half typed";
    QTest::newRow("down alone does nothing") << "half typed"
                                             << "D"
                                             << "half typed";
}

void TestPromptConsole::historyWalk() {
    QFETCH(QString, draft);
    QFETCH(QString, keys);
    QFETCH(QString, expected);

    PromptConsole console;
    for (const char* prompt : {"first", "second", "third"}) {
        console.lineEdit()->setText(QString::fromLatin1(prompt));
        QTest::keyClick(console.lineEdit(), Qt::Key_Enter);
    }
    console.lineEdit()->clear();
    QTest::keyClicks(console.lineEdit(), draft);
    for (QChar key : keys)
        QTest::keyClick(console.lineEdit(), key == QLatin1Char('U') ? Qt::Key_Up : Qt::Key_Down);
    QCOMPARE(console.prompt(), expected);
}

void TestPromptConsole::setPromptLeavesHistoryAlone() {
    PromptConsole console;
    console.setDebounceIntervalMs(20);
    console.setHistory({QStringLiteral("old prompt")});
    QSignalSpy changed(&console, &PromptConsole::promptChanged);
    QSignalSpy submitted(&console, &PromptConsole::promptSubmitted);

    console.setPrompt(QStringLiteral("The Eiffel Tower is in"));
    QCOMPARE(console.prompt(), QStringLiteral("The Eiffel Tower is in"));
    QCOMPARE(console.history(), QStringList{QStringLiteral("old prompt")});
    QCOMPARE(submitted.count(), 0);
    // The shown prompt still reaches whoever predicts for it.
    QTRY_COMPARE(changed.count(), 1);
    // Up walks from the set prompt to the history, Down comes back to it.
    QTest::keyClick(console.lineEdit(), Qt::Key_Up);
    QCOMPARE(console.prompt(), QStringLiteral("old prompt"));
    QTest::keyClick(console.lineEdit(), Qt::Key_Down);
    QCOMPARE(console.prompt(), QStringLiteral("The Eiffel Tower is in"));
}

void TestPromptConsole::chipsShowTokens_data() {
    QTest::addColumn<QString>("token");
    QTest::addColumn<QString>("shown");

    QTest::newRow("plain") << "The"
                           << "The";
    QTest::newRow("leading space marks a word start") << " capital" << QStringLiteral("·capital");
    QTest::newRow("newline") << "\n" << QStringLiteral("↵");
    QTest::newRow("empty") << "" << QStringLiteral("∅");
}

void TestPromptConsole::chipsShowTokens() {
    QFETCH(QString, token);
    QFETCH(QString, shown);

    PromptConsole console;
    console.setTokens({{QStringLiteral("A"), 1, false}, {token, 7, false}});
    QCOMPARE(console.tokenChipCount(), 2);
    QVERIFY(console.tokenChip(1));
    QCOMPARE(console.tokenChip(1)->text(), shown);
    QCOMPARE(console.tokenChip(1)->toolTip(), QStringLiteral("token 7"));
    QVERIFY(!console.tokenChip(2));
}

void TestPromptConsole::unknownChipExplainsItself() {
    PromptConsole console;
    console.resize(400, 80);
    console.show();
    console.setTokens({{QStringLiteral("The"), 5, false}, {QStringLiteral(" zorblax"), 0, true}});

    QLabel* known = console.tokenChip(0);
    QLabel* unknown = console.tokenChip(1);
    QVERIFY(known && unknown);
    QCOMPARE(unknown->toolTip(),
             QStringLiteral("The model does not know the word “zorblax”; it reads as the "
                            "unknown token."));
    QVERIFY(!known->toolTip().contains(QStringLiteral("does not know")));
    QVERIFY(unknown->isVisible());

    // The warning is visible, not just a tooltip: the chip renders in another colour.
    const QImage knownImage = known->grab().toImage();
    const QImage unknownImage = unknown->grab().toImage();
    const QColor knownBorder = knownImage.pixelColor(knownImage.width() / 2, 0);
    const QColor unknownBorder = unknownImage.pixelColor(unknownImage.width() / 2, 0);
    QVERIFY2(unknownBorder.red() > unknownBorder.green() + 60, qPrintable(unknownBorder.name()));
    QVERIFY(knownBorder != unknownBorder);
}

void TestPromptConsole::chipsAreReused() {
    PromptConsole console;
    console.setTokens(QVector<TokenChip>(5, TokenChip{QStringLiteral("x"), 1, false}));
    QLabel* first = console.tokenChip(0);
    console.setTokens({{QStringLiteral("y"), 2, true}});
    QCOMPARE(console.tokenChipCount(), 1);
    QCOMPARE(console.tokenChip(0), first);
    QCOMPARE(first->text(), QStringLiteral("y"));
    QVERIFY(first->toolTip().contains(QStringLiteral("“y”")));
    console.setTokens({});
    QCOMPARE(console.tokenChipCount(), 0);
    QVERIFY(first->isHidden());
}

void TestPromptConsole::longPromptScrollsAndSaysWhatIsNotRead() {
    PromptConsole console;
    console.resize(600, 300);
    console.show();
    QVERIFY(QTest::qWaitForWindowExposed(&console));
    console.setTokens({{QStringLiteral("The"), 1, false}});
    QVERIFY(!console.droppedChip()->isVisible());
    const int shortHeight = console.sizeHint().height();
    // A 500-token prompt on a 32-token model: 468 cut, 32 read.
    QVector<TokenChip> read;
    for (int i = 0; i < 32; ++i)
        read.push_back({QStringLiteral("word%1").arg(i), i, false});
    console.setTokens(read, 468);
    QVERIFY(console.droppedChip()->isVisible());
    QVERIFY2(console.droppedChip()->text().contains(QStringLiteral("468")),
             qPrintable(console.droppedChip()->text()));
    // The chips scroll: the console grows by at most two more chip rows.
    const int rowHeight = console.droppedChip()->sizeHint().height() + 4;
    QVERIFY2(
        console.sizeHint().height() <= shortHeight + 2 * rowHeight + 8,
        qPrintable(QStringLiteral("%1 vs %2").arg(console.sizeHint().height()).arg(shortHeight)));
    // Many more tokens (a long-context model) do not grow it further.
    QVector<TokenChip> many;
    for (int i = 0; i < 700; ++i)
        many.push_back({QStringLiteral("w%1").arg(i), i, false});
    console.setTokens(many);
    QVERIFY(!console.droppedChip()->isVisible());
    QVERIFY(console.sizeHint().height() <= shortHeight + 2 * rowHeight + 8);
}

// A masked model's mask token is a chip of its own look that says what it
// is; the others stay plain.
void TestPromptConsole::maskChipLooksDistinct() {
    PromptConsole console;
    QVector<TokenChip> tokens = {{QStringLiteral(" is"), 2003, false, false},
                                 {QStringLiteral(" [MASK]"), 103, false, true}};
    console.setTokens(tokens);
    QVERIFY(console.tokenChip(1)->property("mask").toBool());
    QVERIFY(!console.tokenChip(0)->property("mask").toBool());
    QVERIFY(console.tokenChip(1)->toolTip().contains(QStringLiteral("mask")));
    // Reused chips lose the look when the token is no longer a mask.
    tokens[1].mask = false;
    console.setTokens(tokens);
    QVERIFY(!console.tokenChip(1)->property("mask").toBool());
}

// On a masked model a prompt without the mask offers to append " [MASK].";
// the prompt changes only when the user takes the offer. A causal model
// (no mask token) never shows it.
void TestPromptConsole::clozeHintOffersTheMask() {
    PromptConsole console;
    console.setDebounceIntervalMs(0);
    console.setPrompt(QStringLiteral("The capital of Ireland is"));
    QVERIFY(console.clozeHint()->isHidden());
    console.setClozeMaskToken(QStringLiteral("[MASK]"));
    QVERIFY(!console.clozeHint()->isHidden());
    QVERIFY(console.clozeHint()->text().contains(QStringLiteral(" [MASK].")));
    QCOMPARE(console.prompt(), QStringLiteral("The capital of Ireland is"));
    QSignalSpy changed(&console, &PromptConsole::promptChanged);
    console.lineEdit()->setText(QStringLiteral("The capital of Ireland is  "));
    console.clozeHint()->click();
    QCOMPARE(console.prompt(), QStringLiteral("The capital of Ireland is [MASK]."));
    QVERIFY(console.clozeHint()->isHidden());
    QTRY_VERIFY(!changed.isEmpty());
    QCOMPARE(changed.last().at(0).toString(), QStringLiteral("The capital of Ireland is [MASK]."));
    // A blank prompt, and a causal model, show no hint.
    console.setPrompt(QString());
    QVERIFY(console.clozeHint()->isHidden());
    console.setPrompt(QStringLiteral("Paris is the capital of"));
    QVERIFY(!console.clozeHint()->isHidden());
    console.setClozeMaskToken(QString());
    QVERIFY(console.clozeHint()->isHidden());
}

// The hint is a row of its own. At the height the console allows (what the
// prompt dock gives it), the chips under the hint are whole, and the console
// shrinks back when the hint goes.
void TestPromptConsole::clozeHintRowNeverClipsTheChips() {
    PromptConsole console;
    console.setDebounceIntervalMs(0);
    console.resize(700, 100);
    console.show();
    QVERIFY(QTest::qWaitForWindowExposed(&console));
    console.setPrompt(QStringLiteral("The capital of Ireland is"));
    console.setTokens({{QStringLiteral("The"), 5, false}, {QStringLiteral(" capital"), 6, false}});
    const int without = console.maximumHeight();
    auto chipsWhole = [&] {
        console.resize(700, console.maximumHeight());
        QCoreApplication::processEvents();
        const QLabel* chip = console.tokenChip(1);
        const QRect r(chip->mapTo(&console, QPoint(0, 0)), chip->size());
        return console.rect().contains(r) && chip->visibleRegion().boundingRect() == chip->rect();
    };
    QVERIFY(chipsWhole());
    console.setClozeMaskToken(QStringLiteral("[MASK]"));
    QVERIFY(!console.clozeHint()->isHidden());
    QVERIFY(console.maximumHeight() > without);
    QVERIFY(chipsWhole());
    const QRect hint(console.clozeHint()->mapTo(&console, QPoint(0, 0)),
                     console.clozeHint()->size());
    QVERIFY(console.rect().contains(hint));
    console.clozeHint()->click();
    QVERIFY(console.clozeHint()->isHidden());
    QCOMPARE(console.maximumHeight(), without);
    QVERIFY(chipsWhole());
}

QTEST_MAIN(TestPromptConsole)
#include "tst_promptconsole.moc"
