// Curating edits in the studio on the built-in model: selecting an edit shows
// its test card, whose edited answers are the ones the prediction view shows
// for the same prompts; the fact world proposes paraphrases and neighbours
// in one undo step, and a paraphrase added by hand is one more; Check the
// edit memory lists a conflict and a duplicate and jumps to the edit; testing
// every edit fills the table's Tests column; importing runs on the worker.
#include "EditCardView.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "MemoryCheckView.h"
#include "StudioDocument.h"
#include "StudioFixture.h"

#include <QTableWidget>
#include <QtTest>

using namespace fixture;

class TestStudioCuration : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> m_w;
    QString m_id;

    // Selects the edit and waits for its card.
    bool cardOf(const QString& id) {
        QSignalSpy shown(m_w.get(), &MainWindow::editCardShown);
        m_w->editMemoryView()->selectEdit(id);
        if (m_w->editCardView()->card().editId == id)
            m_w->showEditCard(id); // already selected: ask again
        QElapsedTimer t;
        t.start();
        while ((shown.isEmpty() || m_w->editCardView()->card().editId != id) && t.elapsed() < 30000)
            QTest::qWait(5);
        return m_w->editCardView()->card().editId == id;
    }

    // The card after the next refresh (a change to the memory asks for one).
    bool nextCard(const std::function<void()>& change) {
        QSignalSpy shown(m_w.get(), &MainWindow::editCardShown);
        change();
        QElapsedTimer t;
        t.start();
        while (shown.isEmpty() && t.elapsed() < 30000)
            QTest::qWait(5);
        return !shown.isEmpty();
    }

private Q_SLOTS:
    void initTestCase() {
        isolateSettings(QStringLiteral("tst_studiocuration"));
        QVERIFY2(modelPresent(), qPrintable(QStringLiteral("no model at %1").arg(modelDir())));
        m_w = makeWindow();
        QTRY_VERIFY_WITH_TIMEOUT(m_w->modelReady(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!m_w->lastPrediction().base.isEmpty(), 30000);
        QVERIFY2(m_w->modelInfo().seracAvailable, qPrintable(m_w->modelInfo().seracStatus));
        QVERIFY(
            settle(m_w.get(), [&] { m_id = m_w->addEditFromPrompt(QStringLiteral("Lisbon")); }));
        QVERIFY(!m_id.isEmpty());
    }

    void selectingAnEditShowsItsCard() {
        QVERIFY(cardOf(m_id));
        const EditCardData card = m_w->editCardView()->card();
        QCOMPARE(card.prompt, QString("The capital of Ireland is"));
        QCOMPARE(card.answer, QString("Lisbon"));
        QCOMPARE(card.rows.size(), 1);
        QCOMPARE(card.rows[0].kind, QString("prompt"));
        QCOMPARE(card.rows[0].base, QString("Dublin"));
        QCOMPARE(card.rows[0].edited, QString("Lisbon"));
        QCOMPARE(card.rows[0].routedTo, m_id);
        QVERIFY(card.rows[0].scope > 0.5);
        QVERIFY(card.rows[0].pass);
    }

    // The fact world proposes the fact's other wordings and the same wording
    // about other subjects; each row's answers are the ones the prediction
    // view shows when that prompt is typed.
    void proposalsAreOneUndoStepAndAgreeWithThePredictions() {
        const int steps = m_w->undoStack()->count();
        QSignalSpy proposed(m_w.get(), &MainWindow::testsProposed);
        QVERIFY(nextCard([&] { m_w->proposeEditTests(m_id); }));
        QTRY_VERIFY_WITH_TIMEOUT(!proposed.isEmpty(), 30000);
        QCOMPARE(proposed[0][0].toString(), QString());
        QCOMPARE(m_w->undoStack()->count(), steps + 1);
        QTRY_VERIFY_WITH_TIMEOUT(m_w->editCardView()->card().rows.size() == 9, 30000);
        const EditCardData card = m_w->editCardView()->card();
        QCOMPARE(card.paraphrases, 4);
        QCOMPARE(card.neighbours, 4);
        QVERIFY(m_w->editCardView()->summary().contains(
            QStringLiteral("paraphrases %1/4").arg(card.paraphrasesPassed)));
        for (const EditCardRow& row : card.rows) {
            if (row.kind == QLatin1String("paraphrase"))
                QVERIFY2(row.prompt.contains("Ireland"), qPrintable(row.prompt));
            if (row.kind == QLatin1String("neighbour"))
                QVERIFY2(!row.prompt.contains("Ireland"), qPrintable(row.prompt));
        }
        for (int i : {1, 5}) { // a paraphrase and a neighbour
            const EditCardRow& row = card.rows[i];
            QVERIFY(setPromptAndWait(m_w.get(), row.prompt));
            QCOMPARE(top(m_w->lastPrediction().base), row.base);
            QCOMPARE(top(m_w->lastPrediction().edited), row.edited);
            QCOMPARE(row.pass, row.kind == QLatin1String("neighbour") ? row.edited == row.base
                                                                      : row.edited == "Lisbon");
        }
        QVERIFY(setPromptAndWait(m_w.get(), QStringLiteral("The capital of Ireland is")));
        // One undo takes every proposal back.
        QVERIFY(nextCard([&] { m_w->undoStack()->undo(); }));
        QTRY_VERIFY_WITH_TIMEOUT(m_w->editCardView()->card().rows.size() == 1, 30000);
        QVERIFY(nextCard([&] { m_w->undoStack()->redo(); }));
        QTRY_VERIFY_WITH_TIMEOUT(m_w->editCardView()->card().rows.size() == 9, 30000);
    }

    void aParaphraseAddedByHandIsTested() {
        QVERIFY(nextCard([&] {
            QVERIFY(m_w->addEditTests(m_id, {QStringLiteral("Ireland's capital is")}, {}));
        }));
        QTRY_VERIFY_WITH_TIMEOUT(m_w->editCardView()->card().rows.size() == 10, 30000);
        const EditCardData card = m_w->editCardView()->card();
        QCOMPARE(card.paraphrases, 5);
        // The descriptor is saved with the edit: the memory holds it.
        const scalpel::Edit* e = m_w->document()->editMemory().find(m_id.toStdString());
        QVERIFY(e);
        QCOMPARE(QString::fromStdString(e->descriptor.paraphrases.back()),
                 QString("Ireland's capital is"));
    }

    // A second answer for the same prompt conflicts; the same edit twice is a
    // duplicate; double-clicking a problem selects its edit.
    void checkingTheMemoryFindsConflictsAndDuplicates() {
        QString conflict, duplicate;
        QVERIFY(settle(m_w.get(), [&] {
            conflict = m_w->document()->addEdit(QStringLiteral("The capital of Ireland is"),
                                                QStringLiteral("Paris"));
        }));
        QVERIFY(settle(m_w.get(), [&] {
            duplicate = m_w->document()->addEdit(QStringLiteral("The capital of Ireland is"),
                                                 QStringLiteral("Lisbon"));
        }));
        QVERIFY(!conflict.isEmpty() && !duplicate.isEmpty());
        QSignalSpy checked(m_w.get(), &MainWindow::memoryChecked);
        m_w->runMemoryCheck();
        QTRY_VERIFY_WITH_TIMEOUT(!checked.isEmpty(), 60000);
        const MemoryCheckData check = m_w->memoryCheckView()->check();
        QCOMPARE(check.edits, 3);
        QVERIFY(check.scopeChecked);
        bool sawConflict = false, sawDuplicate = false;
        for (const auto& p : check.problems) {
            sawConflict |= p.kind == "conflict" && p.editId == conflict && p.otherId == m_id;
            sawDuplicate |= p.kind == "duplicate" && p.editId == duplicate && p.otherId == m_id;
        }
        QVERIFY(sawConflict);
        QVERIFY(sawDuplicate);
        QVERIFY2(m_w->memoryCheckView()->summary().contains("1 conflict"),
                 qPrintable(m_w->memoryCheckView()->summary()));
        QTableWidget* table = m_w->memoryCheckView()->table();
        int row = -1;
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->item(r, 1)->text() == conflict)
                row = r;
        QVERIFY(row >= 0);
        Q_EMIT table->cellDoubleClicked(row, 0);
        QCOMPARE(m_w->editMemoryView()->selectedIds(), QStringList{conflict});
    }

    // Edit > Test every edit's card fills the table's Tests column with the
    // same summary the card shows.
    void testingEveryEditFillsTheTestsColumn() {
        QVERIFY(cardOf(m_id));
        const EditCardData card = m_w->editCardView()->card();
        auto* model = m_w->editMemoryView()->model();
        model->clearCardSummaries();
        QSignalSpy tested(m_w.get(), &MainWindow::editCardsTested);
        m_w->runEditCards();
        QTRY_VERIFY_WITH_TIMEOUT(!tested.isEmpty(), 60000);
        for (const auto& row : m_w->document()->editMemory().edits()) {
            const int r = model->rowOfId(QString::fromStdString(row.id));
            QVERIFY(!model->index(r, EditMemoryModel::TestsColumn).data().toString().isEmpty());
        }
        QCOMPARE(model->index(model->rowOfId(m_id), EditMemoryModel::TestsColumn).data().toString(),
                 QStringLiteral("%1/%2 · %3/%4")
                     .arg(card.paraphrasesPassed)
                     .arg(card.paraphrases)
                     .arg(card.neighboursKept)
                     .arg(card.neighbours));
    }

    // File > Import edits reads the file on the worker: the edits arrive as
    // one undo step with their descriptors, and a file that cannot be read
    // says why and changes nothing.
    void importingOnTheWorkerIsOneUndoStep() {
        const QString data = qEnvironmentVariable("SCALPEL_TEST_DATA");
        QVERIFY2(!data.isEmpty(), "SCALPEL_TEST_DATA is not set (ctest sets it)");
        const int before = int(m_w->document()->editMemory().size());
        const int steps = m_w->undoStack()->count();
        QSignalSpy imported(m_w.get(), &MainWindow::editsImported);
        m_w->importEditsInBackground(data + "/edits/zsre.json",
                                     StudioDocument::Duplicates::KeepBoth);
        QTRY_VERIFY_WITH_TIMEOUT(!imported.isEmpty(), 60000);
        QCOMPARE(imported[0][0].toString(), QString());
        const int added = imported[0][1].toInt();
        QVERIFY(added > 0);
        QCOMPARE(int(m_w->document()->editMemory().size()), before + added);
        QCOMPARE(m_w->undoStack()->count(), steps + 1);
        // zsRE records carry a paraphrase and a neighbour: the card shows them.
        const auto& last = m_w->document()->editMemory().edits().back();
        QCOMPARE(last.descriptor.paraphrases.size(), std::size_t(1));
        QCOMPARE(last.descriptor.neighbourhood.size(), std::size_t(1));
        m_w->undoStack()->undo();
        QCOMPARE(int(m_w->document()->editMemory().size()), before);

        imported.clear();
        m_w->importEditsInBackground(data + "/edits/nonexistent.json",
                                     StudioDocument::Duplicates::Skip);
        QTRY_VERIFY_WITH_TIMEOUT(!imported.isEmpty(), 60000);
        QVERIFY2(imported[0][0].toString().contains("nonexistent.json"),
                 qPrintable(imported[0][0].toString()));
        QCOMPARE(int(m_w->document()->editMemory().size()), before);
    }

    void cleanupTestCase() { m_w.reset(); }
};

QTEST_MAIN(TestStudioCuration)
#include "tst_studiocuration.moc"
