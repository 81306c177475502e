#include "RefinePanel.h"

#include <QApplication>
#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>

class TestRefinePanel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaults();
    void runSendsEverything_data();
    void runSendsEverything();
    void runNeedsPromptsAndAnswer();
    void addAndEditInPlace();
    void removeSelected();
    void resultTableSortsByScore();
    void doubleClickActivatesNeuron();

private:
    static QPushButton* button(RefinePanel& panel, const char* name) {
        return panel.findChild<QPushButton*>(QLatin1String(name));
    }
};

void TestRefinePanel::defaults() {
    RefinePanel panel;
    QCOMPARE(panel.share(), 0.7);
    QCOMPARE(panel.threshold(), 0.2);
    QCOMPARE(panel.steps(), 20);
    QVERIFY(panel.prompts().isEmpty());
    QVERIFY(panel.result().isEmpty());
}

void TestRefinePanel::runSendsEverything_data() {
    QTest::addColumn<double>("share");
    QTest::addColumn<double>("threshold");
    QTest::addColumn<int>("steps");
    QTest::newRow("defaults") << 0.7 << 0.2 << 20;
    QTest::newRow("strict") << 1.0 << 0.5 << 50;
    QTest::newRow("loose") << 0.3 << 0.05 << 5;
}

void TestRefinePanel::runSendsEverything() {
    QFETCH(double, share);
    QFETCH(double, threshold);
    QFETCH(int, steps);
    RefinePanel panel;
    const QStringList prompts{"The capital of France is", "France's capital city is"};
    panel.setPrompts(prompts, QStringLiteral(" Paris"));
    panel.findChild<QDoubleSpinBox*>("shareSpin")->setValue(share);
    panel.findChild<QDoubleSpinBox*>("thresholdSpin")->setValue(threshold);
    panel.findChild<QSpinBox*>("stepsSpin")->setValue(steps);
    QSignalSpy run(&panel, &RefinePanel::runRequested);

    QTest::mouseClick(button(panel, "runButton"), Qt::LeftButton);
    QCOMPARE(run.count(), 1);
    const QList<QVariant> args = run.at(0);
    QCOMPARE(args.at(0).toStringList(), prompts);
    QCOMPARE(args.at(1).toString(), QStringLiteral(" Paris"));
    QCOMPARE(args.at(2).toDouble(), share);
    QCOMPARE(args.at(3).toDouble(), threshold);
    QCOMPARE(args.at(4).toInt(), steps);
}

void TestRefinePanel::runNeedsPromptsAndAnswer() {
    RefinePanel panel;
    QPushButton* run = button(panel, "runButton");
    QVERIFY(run);
    QVERIFY(!run->isEnabled());
    panel.setPrompts({"The capital of France is"}, QString());
    QVERIFY(!run->isEnabled());
    panel.findChild<QLineEdit*>("targetEdit")->setText(QStringLiteral(" Paris"));
    QVERIFY(run->isEnabled());
    QCOMPARE(panel.target(), QStringLiteral(" Paris"));
    panel.setBusy(true);
    QVERIFY(!run->isEnabled());
    panel.setBusy(false);
    QVERIFY(run->isEnabled());
    panel.setPrompts({"   "}, QStringLiteral(" Paris"));
    QVERIFY(!run->isEnabled()); // blank prompts do not count
}

void TestRefinePanel::addAndEditInPlace() {
    RefinePanel panel;
    panel.setPrompts({"The capital of France is"}, QStringLiteral(" Paris"));
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QTest::mouseClick(button(panel, "addPromptButton"), Qt::LeftButton);
    QCOMPARE(panel.promptList()->count(), 2);

    // Add opens an editor on the new row: type into it and commit.
    auto* editor = qobject_cast<QLineEdit*>(QApplication::focusWidget());
    QVERIFY(editor);
    QTest::keyClicks(editor, QStringLiteral("Paris is the capital of"));
    QTest::keyClick(editor, Qt::Key_Return);
    // The delegate commits from a queued call.
    QTRY_COMPARE(panel.prompts(),
                 (QStringList{"The capital of France is", "Paris is the capital of"}));

    // Existing rows edit in place too.
    QListWidgetItem* first = panel.promptList()->item(0);
    QVERIFY(first->flags() & Qt::ItemIsEditable);
    panel.promptList()->editItem(first);
    editor = qobject_cast<QLineEdit*>(QApplication::focusWidget());
    QVERIFY(editor);
    editor->selectAll();
    QTest::keyClicks(editor, QStringLiteral("France's capital is"));
    QTest::keyClick(editor, Qt::Key_Return);
    QTRY_COMPARE(panel.prompts().first(), QStringLiteral("France's capital is"));
}

void TestRefinePanel::removeSelected() {
    RefinePanel panel;
    panel.setPrompts({"a", "b", "c"}, QStringLiteral(" x"));
    QPushButton* remove = button(panel, "removePromptButton");
    QVERIFY(!remove->isEnabled());
    panel.promptList()->item(1)->setSelected(true);
    QVERIFY(remove->isEnabled());
    QTest::mouseClick(remove, Qt::LeftButton);
    QCOMPARE(panel.prompts(), (QStringList{"a", "c"}));
}

void TestRefinePanel::resultTableSortsByScore() {
    RefinePanel panel;
    const QVector<RefinedNeuron> neurons{{9, 200, 2, 0.41}, {5, 1021, 3, 0.82}, {10, 9, 3, 0.05}};
    panel.setResult(neurons);
    QCOMPARE(panel.result().size(), 3);
    QTableWidget* table = panel.resultTable();
    QCOMPARE(table->rowCount(), 3);
    // Strongest first, compared as numbers.
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("5"));
    QCOMPARE(table->item(0, 1)->text(), QStringLiteral("1021"));
    QCOMPARE(table->item(0, 2)->text(), QStringLiteral("3"));
    QCOMPARE(table->item(0, 3)->text(), QStringLiteral("0.82"));
    QCOMPARE(table->item(2, 0)->text(), QStringLiteral("10"));

    // Sorting by layer is numeric: 5, 9, 10 (text order would put 10 first).
    table->sortItems(0, Qt::AscendingOrder);
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("5"));
    QCOMPARE(table->item(2, 0)->text(), QStringLiteral("10"));

    panel.setResult({});
    QCOMPARE(table->rowCount(), 0);
}

void TestRefinePanel::doubleClickActivatesNeuron() {
    RefinePanel panel;
    panel.resize(420, 520);
    panel.setResult({{9, 200, 2, 0.41}, {5, 1021, 3, 0.82}});
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy activated(&panel, &RefinePanel::neuronActivated);

    QTableWidget* table = panel.resultTable();
    const QRect cell = table->visualItemRect(table->item(1, 2));
    // Select the row first, as a user's first click would.
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, cell.center());
    QCOMPARE(activated.count(), 0);
    QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, cell.center());
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.at(0).at(0).toInt(), 9);
    QCOMPARE(activated.at(0).at(1).toInt(), 200);
}

QTEST_MAIN(TestRefinePanel)
#include "tst_refinepanel.moc"
