#pragma once
// The studio window. It arranges the docks, menus and status bar, and
// connects three things that do not know each other: the StudioDocument
// (what the user works on, with the undo stack), the widgets that show and
// change it, and the ModelWorker that runs the engine on its own thread.
// Split by concern: MainWindow.cpp (building, layout, document -> widgets),
// MainWindowPredict.cpp (the jobs given to the worker and their results),
// MainWindowActions.cpp (menus, dialogs, widgets -> document),
// MainWindowSession.cpp (sessions, autosave, crash recovery, the demo).
#include "AnswerDialog.h"
#include "EditMemory.h"
#include "Session.h"
#include "StudioDocument.h"
#include "WorkerTypes.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QStringList>
#include <QVector>

#include <functional>
#include <optional>

class AttributionHeatmap;
struct EditCardData;
class EditCardView;
class EditMemoryView;
class LensView;
class MemoryCheckView;
class ModelWorker;
class NeuronPanel;
class PredictionView;
class ProgressStrip;
class PromptConsole;
class QAction;
class QDockWidget;
class QLabel;
class QThread;
class QTimer;
class QUndoStack;
class RefinePanel;
class TraceView;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    static constexpr const char* kDemoPrompt = "The capital of Ireland is";

    struct Options {
        QString modelDir;  // empty: the built-in model
        QString seracDir;  // empty: the built-in SERAC weights
        QString factsPath; // empty: the built-in facts
        QString device = QStringLiteral("auto");
        // LibTorch threads of the worker; 0: $SCALPEL_THREADS, else one
        // fewer than the cores.
        int threads = 0;
        QString initialPrompt = QString::fromLatin1(kDemoPrompt);
        bool restoreWindowState = true;
        bool offerRecovery = true;
        // Runs refining, an edit and a suppression after start, so a first
        // look (or a screenshot) shows every panel filled.
        bool demo = false;
        int autosaveIntervalMs = 3000;
    };

    explicit MainWindow(const Options& options, QWidget* parent = nullptr);
    ~MainWindow() override;

    StudioDocument* document() const { return m_doc; }
    PromptConsole* promptConsole() const { return m_console; }
    PredictionView* predictionView() const { return m_predictions; }
    EditMemoryView* editMemoryView() const { return m_editView; }
    AttributionHeatmap* heatmap() const { return m_heatmap; }
    NeuronPanel* neuronPanel() const { return m_neuronPanel; }
    RefinePanel* refinePanel() const { return m_refinePanel; }
    TraceView* traceView() const { return m_traceView; }
    LensView* lensView() const { return m_lensView; }
    ProgressStrip* progressStrip() const { return m_progress; }
    QUndoStack* undoStack() const;
    ModelWorker* worker() const { return m_worker; }
    QLabel* weightsLabel() const { return m_weightsLabel; }
    QAction* revertWeightsAction() const { return m_revertWeightsAction; }
    QAction* undoAction() const { return m_undoAction; }

    bool modelReady() const { return m_modelReady; }
    const ModelLoadResult& modelInfo() const { return m_model; }
    const PredictResult& lastPrediction() const { return m_lastPrediction; }
    const scalpel::EditMemory& editMemory() const { return m_doc->editMemory(); }
    QVector<NeuronScale> currentScales() const { return m_doc->scales(); }
    QStringList knownAnswers() const { return m_model.entities; }
    int staleResultsDropped() const;
    int pendingWeightOps() const { return m_pendingWeightOps; }
    bool loadingModel() const { return m_loading; }

    // The actions behind the menus, callable without their dialogs.
    void openModelFolder(const QString& dir);
    QString addEditFromPrompt(const QString& answer); // the new edit's id
    void deleteEdits(const QStringList& ids);
    void runAttribution();
    void runRefine();
    // Causal tracing of the prompt's subject (empty: the fact's subject) and
    // the logit lens (MainWindowAnalyses.cpp).
    void runTrace(const QString& subject = {});
    void runLens();
    // One cell of the exact trace shown, run again for its top tokens.
    void runTraceCell(const QString& kind, int token, int layer);
    // The neurons that push `token` hardest on the prompt, into the neuron
    // panel (one undo step).
    void runPromote(const QString& token);
    // Curation (MainWindowCuration.cpp): the selected edit's test card, test
    // prompts added to an edit (one undo step), the fact world's proposals,
    // and the whole-memory check.
    void showEditCard(const QString& id);
    bool addEditTests(const QString& id, const QStringList& paraphrases,
                      const QStringList& neighbours);
    void proposeEditTests(const QString& id);
    void runMemoryCheck();
    // Every enabled edit's card, for the table's Tests column.
    void runEditCards();
    EditCardView* editCardView() const { return m_cardView; }
    MemoryCheckView* memoryCheckView() const { return m_checkView; }
    // What neurons write, as far as it is known (their value vectors' top
    // tokens); the heat map, the refined list and the neuron panel show it.
    const NeuronWrites& neuronWrites() const { return m_writes; }
    void updateFact(const QString& newObject);
    void eraseRelation();
    void revertWeights();
    void cancelJobs();
    void requestPrediction();
    void resetLayout();
    bool saveSession(const QString& path, QString* error = nullptr);
    bool openSession(const QString& path, QString* error = nullptr);
    bool importEdits(const QString& path, QString* error = nullptr,
                     StudioDocument::Duplicates duplicates = StudioDocument::Duplicates::Skip);
    // The same read on the worker, with progress and Cancel in the strip;
    // without a policy, clashing prompts are asked about. Ends in
    // editsImported.
    void importEditsInBackground(const QString& path,
                                 std::optional<StudioDocument::Duplicates> duplicates = {});
    bool exportEdits(const QString& path, QString* error = nullptr);
    SessionState captureSession() const;
    // The file Ctrl+S writes to; empty until a session is saved or opened.
    QString sessionPath() const { return m_sessionPath; }
    QString autosavePath() const;
    // True when the last run ended without closing and left an autosave.
    bool recoveryAvailable() const;
    // The "Restore the last session?" question while it is open.
    QMessageBox* recoveryQuestion() const { return m_recoveryBox; }
    // Whether an answer the user typed is one the model can say.
    bool isKnownAnswer(const QString& answer) const;

Q_SIGNALS:
    void modelChanged(bool ok, const QString& error);
    // After the predictions of the newest request are on screen; `roundTripMs`
    // is from the request to the repaint being scheduled.
    void predictionShown(double roundTripMs);
    void attributionShown();
    void attributionFinished(const AttributionResult& result);
    void refineShown();
    // Every refine that was asked for ends here, cancelled or not.
    void refineFinished(const RefineResult& result);
    void curveShown();
    void curveReady(const CurveResult& result);
    void weightOpFinished(bool ok, const QString& error);
    void sessionRestored();
    void sessionSaved(const QString& path);
    // The approximate trace (exact false) and then the exact one.
    void traceShown(bool exact);
    void lensShown();
    void traceCellShown();
    void writesShown();
    void editCardShown();
    void memoryChecked();
    void editCardsTested();
    // Empty error: `added` edits joined the memory (one undo step).
    void editsImported(const QString& error, int added);
    // Empty error: the proposals were added to the edit.
    void testsProposed(const QString& error);
    // Empty error: the neuron panel holds the neurons found.
    void promoteFinished(const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    // MainWindow.cpp
    void buildWidgets();
    void buildDocks();
    void buildMenus();
    void observeDocument();
    void startWorker();
    void stopWorker();
    QDockWidget* addDock(const QString& title, const QString& name, QWidget* widget,
                         Qt::DockWidgetArea area);
    void updateStatus();
    void updateWeightsIndicator();
    void updateWindowTitle();
    void showStatusMessage(const QString& message);
    void showEditsInTable();
    // Runs `react` after every weight change, revert and model load, once
    // the change has reached the worker's queue.
    void whenWeightsOrModelChange(const std::function<void()>& react);
    void showRefineSetup();
    void showNeurons();

    // MainWindowPredict.cpp
    void loadModel(const QString& dir);
    void onModelLoaded(const ModelLoadResult& result);
    void syncEdits();
    void postWeightOp(const WeightOp& op);
    void onPredicted(const PredictResult& result);
    void onAttributed(const AttributionResult& result);
    void onRefined(const RefineResult& result);
    void onCurve(const CurveResult& result);
    void onWeightOpDone(const WeightOpResult& result);
    void requestPreview(const WeightOp& op);
    void requestCurve();
    QString currentAnswer() const;
    QString editedSubtitle(const PredictResult& r) const;
    QString baseTitle() const;
    void runDemoStep();

    // MainWindowActions.cpp
    void onEditChangedInTable(const QString& id, const EditRow& now, const EditRow& before);
    void selectNeuronFromHeatmap(int layer, int neuron);
    void askOpenModel();
    void askMakeAnswer();
    void askUpdateFact();
    void askEraseRelation();
    void askImportEdits();
    void askExportEdits();
    void askExportHeatmap(const QString& format);
    // Asks where to save `baseName.format`, then `write`s it there and says
    // how that went.
    void askExportFigure(const QString& title, const QString& baseName, const QString& format,
                         const std::function<bool(const QString&)>& write);
    QString promptOrComplain(const QString& what);

    // MainWindowAnalyses.cpp
    void buildAnalysisDocks();
    void askTrace();
    void askExportTrace(const QString& format);
    void askPromote();
    void buildCurationDocks();
    void refreshEditCard();
    void showCardSummary(const EditCardData& card);
    void requestWrites(const QVector<NeuronRef>& neurons, const QString& tag);
    void showWrites();
    void forgetWrites();

    // MainWindowSession.cpp
    void askOpenSession();
    void askSaveSession();
    void askSaveSessionAs();
    void autosave();
    void offerRecovery();
    void onRecoveryAnswered(bool restore);
    QString markerPath() const;
    QString defaultSessionDir() const;

    Options m_options;
    StudioDocument* m_doc = nullptr;
    QThread* m_thread = nullptr;
    ModelWorker* m_worker = nullptr;

    PromptConsole* m_console = nullptr;
    PredictionView* m_predictions = nullptr;
    EditMemoryView* m_editView = nullptr;
    AttributionHeatmap* m_heatmap = nullptr;
    RefinePanel* m_refinePanel = nullptr;
    TraceView* m_traceView = nullptr;
    LensView* m_lensView = nullptr;
    QString m_traceSubject;
    int m_traceRun = 0;        // the newest trace asked for
    bool m_traceExact = false; // its exact grids are shown
    NeuronWrites m_writes;
    EditCardView* m_cardView = nullptr;
    MemoryCheckView* m_checkView = nullptr;
    int m_writesEpoch = 0; // bumped when weights or the model change
    NeuronPanel* m_neuronPanel = nullptr;
    ProgressStrip* m_progress = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_weightsLabel = nullptr;
    QLabel* m_timingLabel = nullptr;
    QTimer* m_autosaveTimer = nullptr;
    QTimer* m_scopeIndexPoll = nullptr; // re-asks while a scope index is being built
    QString embeddingLabel(std::size_t changed) const;
    QAction* m_undoAction = nullptr;
    QAction* m_redoAction = nullptr;
    QAction* m_makeAnswerAction = nullptr;
    QAction* m_attributeAction = nullptr;
    QAction* m_revertWeightsAction = nullptr;
    QAction* m_cancelAction = nullptr;
    QPointer<AnswerDialog> m_previewDialog;
    QPointer<QMessageBox> m_recoveryBox;
    QByteArray m_defaultLayout;

    ModelLoadResult m_model;
    bool m_modelReady = false;
    // The document's edit-memory revision the worker has confirmed; 0: the
    // next sync sends the whole memory.
    uint64_t m_editsAcked = 0;
    bool m_loading = false;
    QString m_requestedModel; // the model loaded or being loaded
    PredictResult m_lastPrediction;
    QElapsedTimer m_predictClock;
    QString m_factKey;     // the fact whose paraphrases fill the refining panel
    QString m_curvePrompt; // the prompt the shown curve was computed for

    bool m_dragging = false;
    int m_dragId = 0;
    bool m_applying = false; // showing the document: widget signals are echoes
    int m_pendingWeightOps = 0;
    bool m_dirty = false;           // changed since the last autosave
    bool m_recoveryPending = false; // nothing is autosaved until it is answered
    QString m_sessionPath;
    int m_demoStage = 0;
    SessionState m_pendingSession;
    bool m_hasPendingSession = false;
};
