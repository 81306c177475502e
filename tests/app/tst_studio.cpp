// The Ireland demonstration end to end on the built-in model, through the
// window a user sees: predict, edit with SERAC, attribute, refine, suppress,
// update a fact, undo everything, save and reopen, and a folder that is not
// a model.
#include "StudioFixture.h"

#include "AttributionHeatmap.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "NeuronPanel.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "RefinePanel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QJsonDocument>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QLabel>
#include <QSlider>
#include <QTemporaryDir>
#include <QToolButton>
#include <QUndoStack>

#include <algorithm>

using namespace fixture;

namespace {
const QString kIreland = QStringLiteral("The capital of Ireland is");
const QString kFrance = QStringLiteral("The capital of France is");
} // namespace

class TestStudio : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<MainWindow> m_w;
    Figures m_start;
    Figures m_franceStart;
    QTemporaryDir m_dir;
    bool m_serac = false;

    double dublinEverywhereOrMissing(int column) const {
        return probOf(m_w->predictionView()->rows(column), QStringLiteral("Dublin"));
    }

private Q_SLOTS:
    void initTestCase() {
        isolateSettings(QStringLiteral("tst_studio"));
        // The built-in model ships with the studio: missing is a failure.
        QVERIFY2(modelPresent(), qPrintable(QStringLiteral("no model at %1").arg(modelDir())));
        m_w = makeWindow();
        QTRY_VERIFY_WITH_TIMEOUT(m_w->modelReady(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(m_w->lastPrediction().prompt == kIreland &&
                                     !m_w->lastPrediction().base.isEmpty(),
                                 30000);
        m_serac = m_w->modelInfo().seracAvailable;
        // The built-in SERAC weights ship with the studio; only a test run
        // pointed at other weights may lack them.
        if (seracDir().isEmpty())
            QVERIFY2(m_serac, qPrintable(m_w->modelInfo().seracStatus));
        new QAbstractItemModelTester(m_w->editMemoryView()->model(),
                                     QAbstractItemModelTester::FailureReportingMode::QtTest, this);
    }

    void opensOnIrelandAndPredictsDublin() {
        QCOMPARE(m_w->promptConsole()->prompt(), kIreland);
        QCOMPARE(top(m_w->predictionView()->rows(PredictionView::BaseColumn)),
                 QStringLiteral("Dublin"));
        // No intervention yet: the third column is the base model's.
        QCOMPARE(top(m_w->predictionView()->rows(PredictionView::IntervenedColumn)),
                 QStringLiteral("Dublin"));
        QVERIFY(m_w->promptConsole()->tokenChipCount() >= 4);
        for (const auto& chip : m_w->promptConsole()->tokens())
            QVERIFY2(!chip.unknown, qPrintable(chip.text));
        m_start = figures(m_w.get());
        QVERIFY(setPromptAndWait(m_w.get(), kFrance));
        m_franceStart = figures(m_w.get());
        QCOMPARE(top(m_franceStart.columns[PredictionView::BaseColumn]), QStringLiteral("Paris"));
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
    }

    void unknownWordIsFlagged() {
        QVERIFY(setPromptAndWait(m_w.get(), QStringLiteral("The capital of Qwxzland is")));
        const auto chips = m_w->promptConsole()->tokens();
        const bool flagged =
            std::any_of(chips.begin(), chips.end(), [](const TokenChip& c) { return c.unknown; });
        QVERIFY(flagged);
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
    }

    void editToLisbonFiresOnlyInScope() {
        if (!m_serac) {
            // Without SERAC weights the column says why and stays empty.
            QVERIFY(m_w->lastPrediction().seracStatus.startsWith(
                QStringLiteral("SERAC weights not available")));
            QVERIFY(m_w->predictionView()->rows(PredictionView::EditedColumn).isEmpty());
            QSKIP(qPrintable(m_w->lastPrediction().seracStatus));
        }
        QString id;
        QVERIFY(settle(m_w.get(), [&] { id = m_w->addEditFromPrompt(QStringLiteral("Lisbon")); }));
        QVERIFY(!id.isEmpty());
        auto* table = m_w->editMemoryView()->model();
        const int row = table->rowOfId(id);
        QVERIFY(row >= 0);
        const double scope = table
                                 ->data(table->index(row, EditMemoryModel::ScopeColumn),
                                        EditMemoryModel::ScopeValueRole)
                                 .toDouble();
        QVERIFY2(scope > 0.5, qPrintable(QString::number(scope)));
        QCOMPARE(table->routedEdit(), id);
        QCOMPARE(top(m_w->predictionView()->rows(PredictionView::EditedColumn)),
                 QStringLiteral("Lisbon"));
        QVERIFY(m_w->predictionView()
                    ->subtitle(PredictionView::EditedColumn)
                    .contains(QStringLiteral("Lisbon")));
        // The base model is untouched.
        QCOMPARE(top(m_w->predictionView()->rows(PredictionView::BaseColumn)),
                 QStringLiteral("Dublin"));

        QVERIFY(setPromptAndWait(m_w.get(), kFrance));
        for (int c = 0; c < PredictionView::kColumnCount; ++c)
            QCOMPARE(top(m_w->predictionView()->rows(c)), QStringLiteral("Paris"));
        QVERIFY(table->routedEdit().isEmpty());
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
    }

    void attributionFillsTheHeatmap() {
        QVERIFY(!m_w->promptConsole()->history().contains(kIreland));
        QSignalSpy shown(m_w.get(), &MainWindow::attributionShown);
        m_w->runAttribution();
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 120000);
        auto* map = m_w->heatmap();
        QCOMPARE(map->layers(), m_w->modelInfo().layers);
        QCOMPARE(map->neurons(), m_w->modelInfo().neuronsPerLayer);
        const auto scores = map->scores();
        QCOMPARE(scores.size(), map->layers() * map->neurons());
        QVERIFY(*std::max_element(scores.begin(), scores.end()) > 0.0f);
        QVERIFY(!map->candidates().isEmpty());
        QVERIFY(map->title().contains(QStringLiteral("Dublin")));
        // The prompt was typed, never submitted with Enter: running an
        // analysis on it puts it in the history that Up walks.
        QVERIFY(m_w->document()->history().contains(kIreland));
        QVERIFY(m_w->promptConsole()->history().contains(kIreland));
    }

    void promptDockKeepsItsHeightAcrossJobsAndResizes() {
        auto* dock = m_w->findChild<QDockWidget*>(QStringLiteral("promptDock"));
        QVERIFY(dock);
        const int height = dock->height();
        for (int i = 0; i < 3; ++i) {
            QSignalSpy shown(m_w.get(), &MainWindow::attributionShown);
            m_w->runAttribution();
            QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 120000);
            QTest::qWait(20);
        }
        QCOMPARE(dock->height(), height);
        // Small and back: the heatmap and the sliders keep usable sizes.
        m_w->resize(800, 600);
        QTest::qWait(50);
        QVERIFY(m_w->heatmap()->height() >= m_w->heatmap()->minimumHeight());
        m_w->resize(1600, 1000);
        QTest::qWait(50);
        // The dock's layout may round differently after the round trip, but
        // the prompt never takes the spare height (it is capped).
        QVERIFY2(dock->height() <= height + 8,
                 qPrintable(QStringLiteral("%1 vs %2").arg(dock->height()).arg(height)));
    }

    void cancellingRefiningChangesNothing() {
        const QVector<float> before = m_w->heatmap()->scores();
        QVERIFY(m_w->refinePanel()->prompts().size() >= 3); // the fact's paraphrases
        QCOMPARE(m_w->refinePanel()->target(), QStringLiteral("Dublin"));
        QSignalSpy finished(m_w.get(), &MainWindow::refineFinished);
        m_w->runRefine();
        m_w->progressStrip()->cancelButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 120000);
        QVERIFY(finished.at(0).at(0).value<RefineResult>().cancelled);
        QTRY_VERIFY(!m_w->refinePanel()->isBusy());
        QCOMPARE(m_w->heatmap()->scores(), before);
        QVERIFY(m_w->neuronPanel()->neurons().isEmpty());
    }

    void suppressingRefinedNeuronsLowersDublin() {
        QSignalSpy refined(m_w.get(), &MainWindow::refineShown);
        m_w->runRefine();
        QTRY_VERIFY_WITH_TIMEOUT(!refined.isEmpty(), 300000);
        const auto neurons = m_w->neuronPanel()->neurons();
        QVERIFY(!neurons.isEmpty());
        QCOMPARE(m_w->heatmap()->knowledgeNeurons().size(), neurons.size());

        const double base = dublinEverywhereOrMissing(PredictionView::BaseColumn);
        QVERIFY(base > 0);
        QSignalSpy curves(m_w.get(), &MainWindow::curveReady);
        QVERIFY(settle(m_w.get(), [&] { m_w->neuronPanel()->masterSlider()->setValue(0); }));
        for (const auto& s : m_w->currentScales())
            QCOMPARE(s.factor, 0.0);
        const auto rows = m_w->predictionView()->rows(PredictionView::IntervenedColumn);
        double suppressed = probOf(rows, QStringLiteral("Dublin"));
        if (suppressed < 0) // fell out of the top k: below its last row
            suppressed = rows.isEmpty() ? 0 : rows.back().prob;
        QVERIFY2(suppressed < base,
                 qPrintable(QStringLiteral("%1 vs %2").arg(suppressed).arg(base)));
        // The base column does not move.
        QCOMPARE(dublinEverywhereOrMissing(PredictionView::BaseColumn), base);

        // The curve: Dublin at master scale 0 lies below master scale 1, and
        // scale 1 is the unscaled model (tolerance: float rounding only).
        QTRY_VERIFY_WITH_TIMEOUT(!curves.isEmpty(), 30000);
        const auto curve = curves.last().at(0).value<CurveResult>();
        QVERIFY2(curve.error.isEmpty(), qPrintable(curve.error));
        QCOMPARE(curve.scales.size(), 13);
        QCOMPARE(curve.scales[4], 1.0);
        QVERIFY(curve.probs[0] < curve.probs[4]);
        QVERIFY(qAbs(curve.probs[4] - base) < 1e-4);
    }

    void updateFactChangesTheBaseModel() {
        QVERIFY(settle(m_w.get(), [&] { m_w->updateFact(QStringLiteral("Lisbon")); }));
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        const double dublin = dublinEverywhereOrMissing(PredictionView::BaseColumn);
        const double startDublin =
            probOf(m_start.columns[PredictionView::BaseColumn], QStringLiteral("Dublin"));
        QVERIFY2(dublin < startDublin,
                 qPrintable(QStringLiteral("%1 vs %2").arg(dublin).arg(startDublin)));
        // The studio says the weights are no longer the folder's.
        QVERIFY(m_w->document()->weightsModified());
        QVERIFY(!m_w->weightsLabel()->text().isEmpty());
        QVERIFY(m_w->revertWeightsAction()->isEnabled());
        QVERIFY(m_w->predictionView()
                    ->title(PredictionView::BaseColumn)
                    .contains(QStringLiteral("edited")));
        QVERIFY(m_w->windowTitle().contains(QStringLiteral("weights edited")));
    }

    void neuronsSayWhichFactTheyCameFrom() {
        // Refined on Ireland: every panel names Ireland, whatever is typed.
        const QString source = m_w->neuronPanel()->source();
        QVERIFY2(source.contains(QStringLiteral("Ireland")), qPrintable(source));
        QVERIFY(m_w->refinePanel()->resultSource().contains(QStringLiteral("Ireland")));
        QVERIFY(setPromptAndWait(m_w.get(), kFrance));
        QCOMPARE(m_w->neuronPanel()->source(), source);
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
    }

    void undoWorksWithTheFocusInThePrompt() {
        const int before = m_w->undoStack()->index();
        QVERIFY(before > 0);
        m_w->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(m_w.get()));
        QLineEdit* line = m_w->promptConsole()->lineEdit();
        line->setFocus();
        QTRY_VERIFY(line->hasFocus());
        QVERIFY(settle(m_w.get(), [&] { QTest::keyClick(line, Qt::Key_Z, Qt::ControlModifier); }));
        QCOMPARE(m_w->undoStack()->index(), before - 1);
        QCOMPARE(line->text(), kIreland); // the typing is untouched
        QVERIFY(
            settle(m_w.get(), [&] { QTest::keySequence(line, QKeySequence(QKeySequence::Redo)); }));
        QCOMPARE(m_w->undoStack()->index(), before);
    }

    void tableRefusesAnAnswerTheModelCannotSay() {
        if (!m_serac)
            QSKIP("no SERAC weights");
        auto* table = m_w->editMemoryView()->model();
        QVERIFY(table->rowCount() > 0);
        if (m_w->modelInfo().openVocabulary)
            QSKIP("a byte-level model can say any word");
        const QString id = table->edit(0).id;
        const QString answer = table->edit(0).answer;
        const int steps = m_w->undoStack()->count();
        QVERIFY(table->setData(table->index(0, EditMemoryModel::AnswerColumn),
                               QStringLiteral("Xyzzy")));
        QCOMPARE(table->edit(0).answer, answer);
        QCOMPARE(QString::fromStdString(m_w->editMemory().find(id.toStdString())->answer), answer);
        QCOMPARE(m_w->undoStack()->count(), steps);
    }

    void emptyPromptSaysWhyNothingRuns() {
        QVERIFY(setPromptAndWait(m_w.get(), QString()));
        QSignalSpy shown(m_w.get(), &MainWindow::attributionShown);
        m_w->runAttribution();
        QVERIFY(m_w->progressStrip()->message().contains(QStringLiteral("prompt")));
        QVERIFY(!m_w->progressStrip()->isBusy());
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
        QVERIFY(shown.isEmpty());
    }

    void undoRestoresEveryFigureExactly() {
        QVERIFY(m_w->undoStack()->count() >= 3);
        QVERIFY(settle(m_w.get(), [&] {
            while (m_w->undoStack()->canUndo())
                m_w->undoStack()->undo();
        }));
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        QString why;
        QVERIFY2(sameFigures(m_start, figures(m_w.get()), &why), qPrintable(why));
        QCOMPARE(m_w->editMemoryView()->model()->rowCount(), 0);
        QVERIFY(m_w->neuronPanel()->neurons().isEmpty());
        QVERIFY(setPromptAndWait(m_w.get(), kFrance));
        QVERIFY2(sameFigures(m_franceStart, figures(m_w.get()), &why), qPrintable(why));
        // Redo brings the whole story back.
        QVERIFY(setPromptAndWait(m_w.get(), kIreland));
        QVERIFY(settle(m_w.get(), [&] {
            while (m_w->undoStack()->canRedo())
                m_w->undoStack()->redo();
        }));
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        QVERIFY(!m_w->neuronPanel()->neurons().isEmpty());
        QVERIFY(dublinEverywhereOrMissing(PredictionView::BaseColumn) <
                probOf(m_start.columns[PredictionView::BaseColumn], QStringLiteral("Dublin")));
    }

    void revertWeightsGoesBackToTheFolder() {
        const double startDublin =
            probOf(m_start.columns[PredictionView::BaseColumn], QStringLiteral("Dublin"));
        const double edited = dublinEverywhereOrMissing(PredictionView::BaseColumn);
        QVERIFY(m_w->document()->weightsModified());
        // Revert weights is one undo step back to the folder's weights.
        QVERIFY(settle(m_w.get(), [&] { m_w->revertWeightsAction()->trigger(); }));
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        QCOMPARE(probOf(m_w->predictionView()->rows(PredictionView::BaseColumn),
                        QStringLiteral("Dublin")),
                 startDublin);
        QVERIFY(m_w->weightsLabel()->text().isEmpty());
        QVERIFY(settle(m_w.get(), [&] { m_w->undoStack()->undo(); }));
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        QCOMPARE(dublinEverywhereOrMissing(PredictionView::BaseColumn), edited);
    }

    void savingAndReopeningRestoresTheState() {
        const QString path = m_dir.filePath(QStringLiteral("demo.scalpel"));
        QString error;
        QVERIFY2(m_w->saveSession(path, &error), qPrintable(error));
        const Figures saved = figures(m_w.get());
        const SessionState before = m_w->captureSession();

        auto other = makeWindow();
        QTRY_VERIFY_WITH_TIMEOUT(other->modelReady(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!other->lastPrediction().base.isEmpty(), 30000);
        QVERIFY(settle(other.get(), [&] { QVERIFY(other->openSession(path, &error)); }));
        QVERIFY(settle(other.get(), [&] { other->requestPrediction(); }));
        QString why;
        QVERIFY2(sameFigures(saved, figures(other.get()), &why), qPrintable(why));
        const SessionState after = other->captureSession();
        QCOMPARE(after.prompt, before.prompt);
        QCOMPARE(after.neurons, before.neurons);
        QCOMPARE(after.scales, before.scales);
        QCOMPARE(after.attribution.scores, before.attribution.scores);
        QCOMPARE(after.weightChanges.size(), before.weightChanges.size());
        QCOMPARE(other->editMemoryView()->model()->rowCount(),
                 m_w->editMemoryView()->model()->rowCount());
        QCOMPARE(other->heatmap()->scores(), m_w->heatmap()->scores());
        // A reopened session starts a fresh history.
        QCOMPARE(other->undoStack()->count(), 0);
    }

    void killAndRestoreRecoversEverything() {
        // A studio with the whole story in it autosaves, then dies without
        // closing (kill -9 leaves the crash marker and the autosave).
        const QString path = m_dir.filePath(QStringLiteral("demo.scalpel"));
        auto fastAutosave = [](MainWindow::Options& o) { o.autosaveIntervalMs = 100; };
        auto crashed = makeWindow(fastAutosave);
        QTRY_VERIFY_WITH_TIMEOUT(crashed->modelReady(), 60000);
        QString error;
        QSignalSpy restoredFirst(crashed.get(), &MainWindow::sessionRestored);
        QVERIFY2(crashed->openSession(path, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!restoredFirst.isEmpty(), 60000);
        QVERIFY(settle(crashed.get(), [&] { crashed->requestPrediction(); }));
        const SessionState lived = crashed->captureSession();
        const Figures livedFigures = figures(crashed.get());
        QVERIFY(!lived.attribution.isEmpty());
        QVERIFY(!lived.neurons.isEmpty());
        const QString autosave = crashed->autosavePath();
        auto autosaveHolds = [&] {
            SessionState s;
            return Session::load(autosave, &s, nullptr) && s.neurons == lived.neurons &&
                   s.scales == lived.scales && s.attribution.scores == lived.attribution.scores &&
                   QJsonDocument::fromJson(s.editsJson) == QJsonDocument::fromJson(lived.editsJson);
        };
        QTRY_VERIFY_WITH_TIMEOUT(autosaveHolds(), 30000);
        crashed.reset(); // no closeEvent: as after kill -9

        auto readAutosave = [&] {
            QFile f(autosave);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        auto restoresEverything = [&](MainWindow* w) {
            const SessionState got = w->captureSession();
            QCOMPARE(got.prompt, lived.prompt);
            QCOMPARE(got.neurons, lived.neurons);
            QCOMPARE(got.neuronLabels, lived.neuronLabels);
            QCOMPARE(got.neuronSource, lived.neuronSource);
            QCOMPARE(got.scales, lived.scales);
            QCOMPARE(got.attribution.scores, lived.attribution.scores);
            QCOMPARE(got.refined.size(), lived.refined.size());
            QCOMPARE(got.weightChanges.size(), lived.weightChanges.size());
            QCOMPARE(got.editsJson, lived.editsJson);
            QCOMPARE(w->heatmap()->scores(), lived.attribution.scores);
            QCOMPARE(w->neuronPanel()->neurons(), lived.neurons);
            QVERIFY(settle(w, [&] { w->requestPrediction(); }));
            QString why;
            QVERIFY2(sameFigures(livedFigures, figures(w), &why),
                     qPrintable(why + QStringLiteral(" (prompt %1, %2 scales, last %3)")
                                          .arg(w->lastPrediction().prompt)
                                          .arg(w->currentScales().size())
                                          .arg(w->currentScales().value(0).factor)));
        };

        for (const bool answerAtOnce : {true, false}) {
            const QByteArray before = readAutosave();
            QVERIFY(!before.isEmpty());
            auto restarted = makeWindow([&](MainWindow::Options& o) {
                fastAutosave(o);
                o.offerRecovery = true;
            });
            QTRY_VERIFY_WITH_TIMEOUT(restarted->recoveryQuestion() != nullptr, 30000);
            if (!answerAtOnce) {
                // The question waits while the new studio works and its
                // autosave timer fires many times: the file stays as it was.
                QTRY_VERIFY_WITH_TIMEOUT(restarted->modelReady(), 60000);
                restarted->promptConsole()->setPrompt(kFrance);
                QTest::qWait(1000);
                QCOMPARE(readAutosave(), before);
            }
            QSignalSpy restored(restarted.get(), &MainWindow::sessionRestored);
            restarted->recoveryQuestion()->button(QMessageBox::Yes)->click();
            QTRY_VERIFY_WITH_TIMEOUT(!restored.isEmpty(), 60000);
            QTRY_VERIFY_WITH_TIMEOUT(restarted->modelReady(), 60000);
            restoresEverything(restarted.get());
            if (QTest::currentTestFailed()) {
                qWarning("round answering %s", answerAtOnce ? "at once" : "later");
                return;
            }
            restarted.reset(); // dies again: the next round restores once more
        }
    }

    void aFolderThatIsNotAModelKeepsTheModel() {
        QVERIFY(setPromptAndWait(m_w.get(), kFrance));
        const Figures before = figures(m_w.get());
        QTemporaryDir empty;
        const QString name = m_w->modelInfo().name;
        const int undoSteps = m_w->undoStack()->count();
        QSignalSpy spy(m_w.get(), &MainWindow::modelChanged);
        m_w->openModelFolder(empty.path());
        QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty(), 30000);
        QCOMPARE(spy.at(0).at(0).toBool(), false);
        QVERIFY(spy.at(0).at(1).toString().contains(QStringLiteral("config.json")));
        QCOMPARE(m_w->modelInfo().name, name);
        // Same model, same weight changes: the same answers as before.
        QVERIFY(settle(m_w.get(), [&] { m_w->requestPrediction(); }));
        QString why;
        QVERIFY2(sameFigures(before, figures(m_w.get()), &why), qPrintable(why));
        QCOMPARE(m_w->undoStack()->count(), undoSteps); // the history is kept too
    }

    // File > Open built-in model lists both built-in models; the BERT one
    // opens as a masked model that answers a cloze prompt at its mask, and
    // a SERAC edit on it answers from the trained counterfactual model.
    void builtInBertFromTheFileMenu() {
        auto* menu = m_w->findChild<QMenu*>(QStringLiteral("builtInModels"));
        QVERIFY(menu);
        QStringList names;
        QAction* bert = nullptr;
        QAction* gpt = nullptr;
        for (QAction* a : menu->actions()) {
            names << a->data().toString();
            if (a->data().toString() == QLatin1String("factworld-bert"))
                bert = a;
            if (a->data().toString() == QLatin1String("factworld"))
                gpt = a;
        }
        QVERIFY2(bert && gpt, qPrintable(names.join(QLatin1Char(' '))));
        QSignalSpy spy(m_w.get(), &MainWindow::modelChanged);
        bert->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty(), 60000);
        QVERIFY2(spy.at(0).at(0).toBool(), qPrintable(spy.at(0).at(1).toString()));
        QCOMPARE(m_w->modelInfo().maskToken, QStringLiteral("[MASK]"));
        const QString cloze = QStringLiteral("The capital of Ireland is [MASK].");
        QVERIFY(setPromptAndWait(m_w.get(), cloze));
        QCOMPARE(top(m_w->predictionView()->rows(PredictionView::BaseColumn)),
                 QStringLiteral("Dublin"));
        if (m_serac) {
            QString id;
            QVERIFY(
                settle(m_w.get(), [&] { id = m_w->addEditFromPrompt(QStringLiteral("Lisbon")); }));
            QVERIFY(!id.isEmpty());
            QCOMPARE(top(m_w->predictionView()->rows(PredictionView::EditedColumn)),
                     QStringLiteral("Lisbon"));
            QCOMPARE(top(m_w->predictionView()->rows(PredictionView::BaseColumn)),
                     QStringLiteral("Dublin"));
        }
        spy.clear();
        gpt->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty(), 60000);
        QVERIFY(spy.at(0).at(0).toBool());
        QVERIFY(m_w->modelInfo().maskToken.isEmpty());
    }

    void cleanupTestCase() { m_w.reset(); }
};

QTEST_MAIN(TestStudio)
#include "tst_studio.moc"
