#pragma once
// The studio window. It owns the widgets, the undo stack and the UI-side
// truth of the session (the edit memory, the selected neurons and their
// factors, the weight changes applied), and talks to the ModelWorker thread
// only by posting plain-value requests and taking its result signals.
// Split by concern: MainWindow.cpp (building, worker wiring),
// MainWindowPredict.cpp (predictions and long jobs), MainWindowActions.cpp
// (menus and undoable changes), MainWindowSession.cpp (sessions, autosave).
#include "EditMemory.h"
#include "GenerationGate.h"
#include "Session.h"
#include "UndoCommands.h"
#include "WorkerTypes.h"

#include <QElapsedTimer>
#include <QMainWindow>
#include <QStringList>
#include <QVector>

class AnswerDialog;
class AttributionHeatmap;
class EditMemoryView;
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

class MainWindow : public QMainWindow, public UndoTarget {
    Q_OBJECT

public:
    static constexpr const char* kDemoPrompt = "The capital of Ireland is";

    struct Options {
        QString modelDir;  // empty: the built-in model
        QString seracDir;  // empty: the built-in SERAC weights
        QString factsPath; // empty: the built-in facts
        QString device = QStringLiteral("auto");
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

    PromptConsole* promptConsole() const { return m_console; }
    PredictionView* predictionView() const { return m_predictions; }
    EditMemoryView* editMemoryView() const { return m_editView; }
    AttributionHeatmap* heatmap() const { return m_heatmap; }
    NeuronPanel* neuronPanel() const { return m_neuronPanel; }
    RefinePanel* refinePanel() const { return m_refinePanel; }
    ProgressStrip* progressStrip() const { return m_progress; }
    QUndoStack* undoStack() const { return m_undo; }
    ModelWorker* worker() const { return m_worker; }

    bool modelReady() const { return m_modelReady; }
    const ModelLoadResult& modelInfo() const { return m_model; }
    const PredictResult& lastPrediction() const { return m_lastPrediction; }
    const scalpel::EditMemory& editMemory() const { return m_memory; }
    QVector<NeuronScale> currentScales() const { return m_scales; }
    QStringList knownAnswers() const { return m_model.entities; }
    int staleResultsDropped() const { return m_staleDropped; }
    int pendingWeightOps() const { return m_pendingWeightOps; }

    // The actions behind the menus, callable without their dialogs.
    void openModelFolder(const QString& dir);
    QString addEditFromPrompt(const QString& answer); // the new edit's id
    void deleteEdits(const QStringList& ids);
    void runAttribution();
    void runRefine();
    void updateFact(const QString& newObject);
    void eraseRelation();
    void requestPrediction();
    bool saveSession(const QString& path, QString* error = nullptr);
    bool openSession(const QString& path, QString* error = nullptr);
    bool importEdits(const QString& path, QString* error = nullptr);
    bool exportEdits(const QString& path, QString* error = nullptr);
    SessionState captureSession() const;
    QString autosavePath() const;
    // True when the last run ended without closing and left an autosave.
    bool recoveryAvailable() const;

    // UndoTarget
    void applyScales(const QVector<NeuronScale>& scales) override;
    void applyNeuronSet(const QVector<NeuronRef>& neurons, const QStringList& labels,
                        const QVector<NeuronScale>& scales) override;
    void insertEdit(const scalpel::Edit& edit, int position) override;
    void removeEdit(const QString& id) override;
    void replaceEdit(const scalpel::Edit& edit) override;
    void replaceAllEdits(const std::vector<scalpel::Edit>& edits) override;
    void applyWeightChange(const WeightOp& op) override;
    void restoreWeightChange(int token) override;

Q_SIGNALS:
    void modelChanged(bool ok, const QString& error);
    // After the predictions of the newest request are on screen; `roundTripMs`
    // is from the request to the repaint being scheduled.
    void predictionShown(double roundTripMs);
    void attributionShown();
    void refineShown();
    void curveShown();
    void weightOpFinished(bool ok, const QString& error);
    void sessionRestored();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    // MainWindow.cpp
    void buildWidgets();
    void buildDocks();
    void buildMenus();
    void startWorker();
    void stopWorker();
    QDockWidget* addDock(const QString& title, const QString& name, QWidget* widget,
                         Qt::DockWidgetArea area);
    void onModelLoaded(const ModelLoadResult& result);
    void updateStatus();

    // MainWindowPredict.cpp
    void onPredicted(const PredictResult& result);
    void onAttributed(const AttributionResult& result);
    void onRefined(const RefineResult& result);
    void onCurve(const CurveResult& result);
    void onWeightOpDone(const WeightOpResult& result);
    void requestCurve();
    void showAttribution(const AttributionData& grid);
    QString currentAnswer() const;
    QString editedSubtitle(const PredictResult& r) const;
    void runDemoStep();

    // MainWindowActions.cpp
    void onScalesChanged(const QVector<NeuronScale>& scales);
    void onEditChangedInTable(const QString& id, const EditRow& now, const EditRow& before);
    void selectNeuron(int layer, int neuron);
    void setRefinedNeurons(const QVector<RefinedNeuron>& neurons);
    void postEdits();
    void askOpenModel();
    void askMakeAnswer();
    void askUpdateFact();
    void askEraseRelation();
    void askImportEdits();
    void askExportEdits();
    void askExportHeatmap(const QString& format);
    QVector<NeuronRef> factNeurons() const;
    int nextWeightToken() { return ++m_lastWeightToken; }

    // MainWindowSession.cpp
    void askOpenSession();
    void askSaveSession();
    void autosave();
    void markDirty() { m_dirty = true; }
    void offerRecovery();
    void applySession(const SessionState& state);
    QString markerPath() const;

    Options m_options;
    QThread* m_thread = nullptr;
    ModelWorker* m_worker = nullptr;
    GenerationGate m_gate;

    PromptConsole* m_console = nullptr;
    PredictionView* m_predictions = nullptr;
    EditMemoryView* m_editView = nullptr;
    AttributionHeatmap* m_heatmap = nullptr;
    RefinePanel* m_refinePanel = nullptr;
    NeuronPanel* m_neuronPanel = nullptr;
    ProgressStrip* m_progress = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_timingLabel = nullptr;
    QUndoStack* m_undo = nullptr;
    QTimer* m_autosaveTimer = nullptr;
    QAction* m_makeAnswerAction = nullptr;
    QAction* m_attributeAction = nullptr;
    AnswerDialog* m_previewDialog = nullptr;

    ModelLoadResult m_model;
    bool m_modelReady = false;
    QString m_requestedModel;
    PredictResult m_lastPrediction;
    QElapsedTimer m_predictClock;
    QString m_factKey; // the fact whose paraphrases fill the refining panel

    scalpel::EditMemory m_memory;
    QVector<NeuronScale> m_scales;
    QStringList m_neuronLabels;
    bool m_dragging = false;
    int m_dragId = 0;
    bool m_applying = false;
    AttributionData m_attribution;
    QVector<WeightOp> m_appliedWeightOps;
    int m_lastWeightToken = 0;
    int m_pendingWeightOps = 0;
    int m_previewToken = 0;
    int m_staleDropped = 0;
    bool m_dirty = false;
    int m_demoStage = 0;
    SessionState m_pendingSession;
    bool m_hasPendingSession = false;
};
