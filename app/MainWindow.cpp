#include "MainWindow.h"

#include "AttributionHeatmap.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "ModelWorker.h"
#include "NeuronPanel.h"
#include "PredictionView.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "RefinePanel.h"
#include "Resources.h"
#include "TsanHandoff.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QCoreApplication>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QThread>
#include <QTimer>
#include <QToolBar>
#include <QUndoStack>

MainWindow::MainWindow(const Options& options, QWidget* parent)
    : QMainWindow(parent), m_options(options) {
    registerWorkerTypes();
    setWindowTitle(tr("Scalpel"));
    m_undo = new QUndoStack(this);
    buildWidgets();
    buildDocks();
    buildMenus();

    if (m_options.restoreWindowState) {
        QSettings settings;
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
        restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    }

    connect(m_undo, &QUndoStack::indexChanged, this, [this] { markDirty(); });
    m_autosaveTimer = new QTimer(this);
    m_autosaveTimer->setInterval(m_options.autosaveIntervalMs);
    connect(m_autosaveTimer, &QTimer::timeout, this, &MainWindow::autosave);
    m_autosaveTimer->start();

    startWorker();
    const QString modelDir = m_options.modelDir.isEmpty()
                                 ? QString::fromStdString(scalpel::defaultModelDir())
                                 : m_options.modelDir;
    m_requestedModel = modelDir;
    m_worker->post(RequestKind::LoadModel, modelDir);
    m_console->setPrompt(m_options.initialPrompt);
    m_console->lineEdit()->setFocus();

    if (m_options.offerRecovery && recoveryAvailable())
        QTimer::singleShot(0, this, &MainWindow::offerRecovery);
    // A marker that stays behind after a crash is how the next start knows
    // to offer the autosave.
    QDir().mkpath(QFileInfo(markerPath()).absolutePath());
    QFile marker(markerPath());
    if (marker.open(QIODevice::WriteOnly))
        marker.write(QByteArray::number(QCoreApplication::applicationPid()));
}

MainWindow::~MainWindow() {
    stopWorker();
    // ~QWidget deletes the children after this object has stopped being a
    // MainWindow; the undo stack clears itself then and must not call back.
    disconnect(m_undo, nullptr, this, nullptr);
}

void MainWindow::buildWidgets() {
    m_console = new PromptConsole(this);
    m_predictions = new PredictionView(this);
    m_predictions->setColumn(PredictionView::BaseColumn, tr("Base model"), tr("loading…"), {});
    m_predictions->setColumn(PredictionView::EditedColumn, tr("With edit memory"), {}, {});
    m_predictions->setColumn(PredictionView::IntervenedColumn, tr("With interventions"), {}, {});
    m_editView = new EditMemoryView(this);
    m_heatmap = new AttributionHeatmap(this);
    m_refinePanel = new RefinePanel(this);
    m_neuronPanel = new NeuronPanel(this);
    m_progress = new ProgressStrip(this);
    m_modelLabel = new QLabel(tr("no model"), this);
    m_deviceLabel = new QLabel(this);
    m_timingLabel = new QLabel(this);
    m_timingLabel->setToolTip(tr("Time from the request to the predictions on screen"));
    statusBar()->addWidget(m_modelLabel);
    statusBar()->addWidget(m_deviceLabel);
    statusBar()->addWidget(m_timingLabel);
    statusBar()->addPermanentWidget(m_progress, 1);

    connect(m_console, &PromptConsole::promptChanged, this, [this] {
        markDirty();
        requestPrediction();
    });
    connect(m_console, &PromptConsole::promptSubmitted, this, [this] { requestPrediction(); });
    connect(m_editView, &EditMemoryView::addRequested, this, &MainWindow::askMakeAnswer);
    connect(m_editView, &EditMemoryView::deleteRequested, this, &MainWindow::deleteEdits);
    connect(m_editView, &EditMemoryView::importRequested, this, &MainWindow::askImportEdits);
    connect(m_editView, &EditMemoryView::exportRequested, this, &MainWindow::askExportEdits);
    connect(m_editView->model(), &EditMemoryModel::editChanged, this,
            &MainWindow::onEditChangedInTable);
    connect(m_heatmap, &AttributionHeatmap::neuronClicked, this, &MainWindow::selectNeuron);
    connect(m_heatmap, &AttributionHeatmap::thresholdChanged, this, [this] { markDirty(); });
    connect(m_refinePanel, &RefinePanel::runRequested, this, [this] { runRefine(); });
    connect(m_refinePanel, &RefinePanel::neuronActivated, this, &MainWindow::selectNeuron);
    connect(m_neuronPanel, &NeuronPanel::scalesChanged, this, &MainWindow::onScalesChanged);
    connect(m_neuronPanel, &NeuronPanel::dragStarted, this, [this] {
        m_dragging = true;
        ++m_dragId;
    });
    connect(m_neuronPanel, &NeuronPanel::dragFinished, this, [this] {
        m_dragging = false;
        requestCurve();
    });
    connect(m_neuronPanel, &NeuronPanel::updateFactRequested, this, &MainWindow::askUpdateFact);
    connect(m_neuronPanel, &NeuronPanel::eraseRelationRequested, this,
            &MainWindow::askEraseRelation);
}

QDockWidget* MainWindow::addDock(const QString& title, const QString& name, QWidget* widget,
                                 Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(name); // saveState() finds docks by name
    dock->setWidget(widget);
    addDockWidget(area, dock);
    return dock;
}

void MainWindow::buildDocks() {
    setDockNestingEnabled(true);
    setDockOptions(dockOptions() | QMainWindow::AllowTabbedDocks);
    auto* console =
        addDock(tr("Prompt"), QStringLiteral("promptDock"), m_console, Qt::TopDockWidgetArea);
    console->setFeatures(console->features() & ~QDockWidget::DockWidgetClosable);
    auto* predictions = addDock(tr("Predictions"), QStringLiteral("predictionsDock"), m_predictions,
                                Qt::LeftDockWidgetArea);
    auto* edits = addDock(tr("Edit memory"), QStringLiteral("editMemoryDock"), m_editView,
                          Qt::LeftDockWidgetArea);
    auto* heat = addDock(tr("Attribution"), QStringLiteral("heatmapDock"), m_heatmap,
                         Qt::RightDockWidgetArea);
    auto* refine = addDock(tr("Refining"), QStringLiteral("refineDock"), m_refinePanel,
                           Qt::RightDockWidgetArea);
    auto* neurons = addDock(tr("Neurons"), QStringLiteral("neuronDock"), m_neuronPanel,
                            Qt::RightDockWidgetArea);
    splitDockWidget(predictions, edits, Qt::Vertical);
    splitDockWidget(heat, refine, Qt::Vertical);
    splitDockWidget(refine, neurons, Qt::Horizontal);
    // The prompt line and its chips need two lines, not a third of the window.
    resizeDocks({console, predictions, heat}, {96, 400, 400}, Qt::Vertical);
    resizeDocks({predictions, heat}, {640, 960}, Qt::Horizontal);
    resizeDocks({predictions, edits}, {300, 500}, Qt::Vertical);
    resizeDocks({heat, refine}, {470, 380}, Qt::Vertical);
    resize(1600, 1000);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open &model folder…"), this, &MainWindow::askOpenModel);
    file->addSeparator();
    file->addAction(tr("&Open session…"), QKeySequence::Open, this, &MainWindow::askOpenSession);
    file->addAction(tr("&Save session…"), QKeySequence::Save, this, &MainWindow::askSaveSession);
    file->addSeparator();
    file->addAction(tr("&Import edits…"), this, &MainWindow::askImportEdits);
    file->addAction(tr("&Export edits…"), this, &MainWindow::askExportEdits);
    QMenu* exportMenu = file->addMenu(tr("Export &heatmap"));
    exportMenu->addAction(tr("PNG image…"), this,
                          [this] { askExportHeatmap(QStringLiteral("png")); });
    exportMenu->addAction(tr("PDF document…"), this,
                          [this] { askExportHeatmap(QStringLiteral("pdf")); });
    exportMenu->addAction(tr("CSV table…"), this,
                          [this] { askExportHeatmap(QStringLiteral("csv")); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_undo->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_undo->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    m_makeAnswerAction = edit->addAction(tr("&Make the answer…"), this, &MainWindow::askMakeAnswer);
    m_makeAnswerAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_makeAnswerAction->setToolTip(tr("Add an edit: the current prompt with a new answer"));

    QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
    m_attributeAction =
        analysis->addAction(tr("&Attribute the answer"), this, &MainWindow::runAttribution);
    m_attributeAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    analysis->addAction(tr("Re&fine knowledge neurons"), this, &MainWindow::runRefine);
    analysis->addSeparator();
    analysis->addAction(tr("&Update fact…"), this, &MainWindow::askUpdateFact);
    analysis->addAction(tr("&Erase relation…"), this, &MainWindow::askEraseRelation);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (auto* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());

    auto* tools = addToolBar(tr("Actions"));
    tools->setObjectName(QStringLiteral("actionsToolBar"));
    tools->setToolButtonStyle(Qt::ToolButtonTextOnly);
    tools->addAction(undo);
    tools->addAction(redo);
    tools->addSeparator();
    tools->addAction(m_makeAnswerAction);
    tools->addAction(m_attributeAction);
}

void MainWindow::startWorker() {
    ModelWorker::Config config;
    config.seracDir = m_options.seracDir;
    config.factsPath = m_options.factsPath;
    config.device = m_options.device;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("ModelWorker"));
    m_worker = new ModelWorker(config);
    m_worker->moveToThread(m_thread);
    connect(m_worker, &ModelWorker::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(m_worker, &ModelWorker::predicted, this, &MainWindow::onPredicted);
    connect(m_worker, &ModelWorker::attributed, this, &MainWindow::onAttributed);
    connect(m_worker, &ModelWorker::refined, this, &MainWindow::onRefined);
    connect(m_worker, &ModelWorker::curveReady, this, &MainWindow::onCurve);
    connect(m_worker, &ModelWorker::weightOpDone, this, &MainWindow::onWeightOpDone);
    connect(m_worker, &ModelWorker::jobStarted, m_progress, &ProgressStrip::startJob);
    connect(m_worker, &ModelWorker::jobProgress, m_progress,
            [this](double f, const QString& detail) { m_progress->setProgress(f, detail); });
    connect(m_worker, &ModelWorker::jobFinished, m_progress,
            [this](const QString& message) { m_progress->finishJob(message); });
    connect(m_progress, &ProgressStrip::cancelRequested, this, [this] { m_worker->cancelJobs(); });
    if constexpr (tsan::kEnabled) {
        // QThread::wait() orders the thread's end before stopWorker() through
        // a lock inside libQt6Core, which ThreadSanitizer cannot see.
        connect(
            m_thread, &QThread::finished, m_worker, [w = m_worker] { tsan::release(w); },
            Qt::DirectConnection);
    }
    m_thread->start();
}

void MainWindow::stopWorker() {
    if (!m_thread)
        return;
    m_worker->stop();
    m_thread->quit();
    m_thread->wait();
    tsan::acquire(m_worker);
    delete m_worker;
    m_worker = nullptr;
    m_thread = nullptr;
}

void MainWindow::onModelLoaded(const ModelLoadResult& r) {
    const bool first = !m_modelReady;
    if (!r.ok) {
        Q_EMIT modelChanged(false, r.error);
        if (first) {
            m_predictions->setColumn(PredictionView::BaseColumn, tr("Base model"),
                                     tr("No model: %1").arg(r.error), {});
            m_modelLabel->setText(tr("no model — File ▸ Open model folder"));
        } else if (isVisible()) {
            // Not modal: the studio stays usable behind the message.
            auto* box = new QMessageBox(QMessageBox::Warning, tr("Not a model folder"),
                                        tr("%1 could not be opened as a model:\n\n%2\n\nThe "
                                           "studio keeps the model it had (%3).")
                                            .arg(r.path, r.error, m_model.name),
                                        QMessageBox::Ok, this);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        return;
    }
    if (!first) {
        // Weight changes and neuron indices belong to the old model.
        m_undo->clear();
        m_appliedWeightOps.clear();
        m_attribution = {};
        m_heatmap->clear();
        applyNeuronSet({}, {}, {});
        m_refinePanel->setResult({});
    }
    m_model = r;
    m_modelReady = true;
    updateStatus();
    postEdits();
    if (m_hasPendingSession) {
        m_hasPendingSession = false;
        applySession(m_pendingSession);
    }
    requestPrediction();
    Q_EMIT modelChanged(true, {});
}

void MainWindow::updateStatus() {
    m_modelLabel->setText(tr("Model: %1 (%2 layers × %3 neurons, %4 M parameters)")
                              .arg(m_model.name)
                              .arg(m_model.layers)
                              .arg(m_model.neuronsPerLayer)
                              .arg(m_model.parameters / 1e6, 0, 'f', 1));
    m_modelLabel->setToolTip(m_model.path);
    m_deviceLabel->setText(tr("Device: %1")
                               .arg(m_model.device.startsWith(QLatin1String("cuda"))
                                        ? m_model.device.toUpper()
                                        : QStringLiteral("CPU")));
    setWindowTitle(tr("Scalpel — %1").arg(m_model.name));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    m_dirty = true;
    autosave();
    QFile::remove(markerPath());
    QMainWindow::closeEvent(event);
}
