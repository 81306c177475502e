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
#include <QCoreApplication>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QThread>
#include <QScreen>
#include <QTimer>
#include <QToolBar>
#include <QUndoStack>

namespace {

EditRow toRow(const scalpel::Edit& e) {
    EditRow r;
    r.id = QString::fromStdString(e.id);
    r.enabled = e.enabled;
    r.prompt = QString::fromStdString(e.prompt);
    r.answer = QString::fromStdString(e.answer);
    return r;
}

} // namespace

MainWindow::MainWindow(const Options& options, QWidget* parent)
    : QMainWindow(parent), m_options(options) {
    registerWorkerTypes();
    setWindowTitle(tr("Scalpel"));
    m_doc = new StudioDocument(this);
    buildWidgets();
    buildDocks();
    buildMenus();
    buildAnalysisDocks();
    buildCurationDocks();
    observeDocument();
    // The layout as built, for View > Reset layout.
    m_defaultLayout = saveState();

    if (m_options.restoreWindowState) {
        QSettings settings;
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
        restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    }

    m_autosaveTimer = new QTimer(this);
    m_autosaveTimer->setInterval(m_options.autosaveIntervalMs);
    connect(m_autosaveTimer, &QTimer::timeout, this, &MainWindow::autosave);
    m_autosaveTimer->start();
    // A large memory's scope index builds beside the worker: the line under
    // the edit table says how far, refreshed each second until it is in use.
    m_scopeIndexPoll = new QTimer(this);
    m_scopeIndexPoll->setSingleShot(true);
    m_scopeIndexPoll->setInterval(1000);
    connect(m_scopeIndexPoll, &QTimer::timeout, this, &MainWindow::requestPrediction);

    startWorker();
    const QString modelDir = m_options.modelDir.isEmpty()
                                 ? QString::fromStdString(scalpel::defaultModelDir())
                                 : m_options.modelDir;
    loadModel(modelDir);
    m_console->setPrompt(m_options.initialPrompt);
    m_doc->setPrompt(m_options.initialPrompt);
    m_console->lineEdit()->setFocus();

    if (m_options.offerRecovery && recoveryAvailable()) {
        // Until the question is answered the autosave is the only copy of
        // the last session: nothing may be written over it.
        m_recoveryPending = true;
        QTimer::singleShot(0, this, &MainWindow::offerRecovery);
    }
    // A marker that stays behind after a crash is how the next start knows
    // to offer the autosave.
    QDir().mkpath(QFileInfo(markerPath()).absolutePath());
    QFile marker(markerPath());
    if (marker.open(QIODevice::WriteOnly))
        marker.write(QByteArray::number(QCoreApplication::applicationPid()));
}

MainWindow::~MainWindow() {
    stopWorker();
    // The document's observers are this window's members.
    disconnect(m_doc, nullptr, this, nullptr);
}

QUndoStack* MainWindow::undoStack() const {
    return m_doc->undoStack();
}

void MainWindow::buildWidgets() {
    m_console = new PromptConsole(this);
    // The prompt dock holds the line and its chips and never takes the
    // window's spare height (PromptConsole caps itself).
    m_predictions = new PredictionView(this);
    m_predictions->setColumn(PredictionView::BaseColumn, tr("Base model"), tr("loading…"), {});
    m_predictions->setColumn(PredictionView::EditedColumn, tr("With edit memory"), {}, {});
    m_predictions->setColumn(PredictionView::IntervenedColumn, tr("With interventions"), {}, {});
    m_editView = new EditMemoryView(this);
    m_heatmap = new AttributionHeatmap(this);
    m_refinePanel = new RefinePanel(this);
    m_neuronPanel = new NeuronPanel(this);
    m_progress = new ProgressStrip(this);
    // A fixed height: the status bar never changes height when a job
    // starts or ends, so the docks above it never move.
    m_progress->setFixedHeight(m_progress->sizeHint().height());
    m_modelLabel = new QLabel(tr("no model"), this);
    m_deviceLabel = new QLabel(this);
    m_weightsLabel = new QLabel(this);
    m_weightsLabel->setObjectName(QStringLiteral("weightsLabel"));
    m_timingLabel = new QLabel(this);
    m_timingLabel->setToolTip(tr("Time from the request to the predictions on screen"));
    statusBar()->addWidget(m_modelLabel);
    statusBar()->addWidget(m_deviceLabel);
    statusBar()->addWidget(m_weightsLabel);
    statusBar()->addWidget(m_timingLabel);
    statusBar()->addPermanentWidget(m_progress, 1);

    // Widgets -> document.
    connect(m_console, &PromptConsole::promptChanged, this, [this](const QString& text) {
        if (!m_applying)
            m_doc->setPrompt(text);
    });
    connect(m_console, &PromptConsole::promptSubmitted, this, [this](const QString& text) {
        m_doc->setPrompt(text);
        m_doc->setHistory(m_console->history());
        requestPrediction();
    });
    // The studio's undo works with the focus in the prompt too.
    m_console->lineEdit()->installEventFilter(this);
    connect(m_editView, &EditMemoryView::addRequested, this, &MainWindow::askMakeAnswer);
    connect(m_editView, &EditMemoryView::deleteRequested, this, &MainWindow::deleteEdits);
    connect(m_editView, &EditMemoryView::importRequested, this, &MainWindow::askImportEdits);
    connect(m_editView, &EditMemoryView::exportRequested, this, &MainWindow::askExportEdits);
    connect(m_editView->model(), &EditMemoryModel::editChanged, this,
            &MainWindow::onEditChangedInTable);
    connect(m_heatmap, &AttributionHeatmap::neuronClicked, this,
            &MainWindow::selectNeuronFromHeatmap);
    connect(m_heatmap, &AttributionHeatmap::thresholdChanged, this, [this](double f) {
        if (!m_applying)
            m_doc->setHeatmapThreshold(f);
    });
    connect(m_refinePanel, &RefinePanel::runRequested, this, [this] { runRefine(); });
    connect(m_refinePanel, &RefinePanel::neuronActivated, this, [this](int layer, int neuron) {
        m_doc->selectNeuron(layer, neuron, m_doc->refine().source);
    });
    connect(m_refinePanel, &RefinePanel::setupChanged, this, [this] {
        if (m_applying)
            return;
        m_doc->setRefineSetup(m_refinePanel->prompts(), m_refinePanel->target(),
                              m_refinePanel->share(), m_refinePanel->threshold(),
                              m_refinePanel->steps());
    });
    connect(m_neuronPanel, &NeuronPanel::scalesChanged, this,
            [this](const QVector<NeuronScale>& scales) {
                if (!m_applying)
                    m_doc->changeScales(scales, m_dragging ? m_dragId : 0);
            });
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

void MainWindow::observeDocument() {
    StudioDocument* d = m_doc;
    connect(d, &StudioDocument::promptChanged, this, [this](const QString& prompt) {
        if (m_console->prompt() != prompt) {
            m_applying = true;
            m_console->setPrompt(prompt);
            m_applying = false;
        }
        requestPrediction();
    });
    connect(d, &StudioDocument::historyChanged, this, [this] {
        if (m_console->history() != m_doc->history())
            m_console->setHistory(m_doc->history());
    });
    connect(d, &StudioDocument::editInserted, this, [this](const scalpel::Edit& e, int at) {
        auto* table = m_editView->model();
        if (at == table->rowCount())
            table->addEdit(toRow(e));
        else
            showEditsInTable();
    });
    connect(d, &StudioDocument::editRemoved, this,
            [this](const QString& id) { m_editView->model()->removeEdit(id); });
    connect(d, &StudioDocument::editReplaced, this,
            [this](const scalpel::Edit& e) { m_editView->model()->updateEdit(toRow(e)); });
    connect(d, &StudioDocument::editsReset, this, &MainWindow::showEditsInTable);
    connect(d, &StudioDocument::editsChanged, this, [this] {
        syncEdits();
        requestPrediction();
    });
    connect(d, &StudioDocument::neuronsChanged, this, [this] {
        showNeurons();
        requestPrediction();
        requestCurve();
    });
    connect(d, &StudioDocument::scalesChanged, this, [this] {
        m_applying = true;
        m_neuronPanel->setScales(m_doc->scales());
        m_applying = false;
        requestPrediction();
        if (!m_dragging)
            requestCurve();
    });
    connect(d, &StudioDocument::weightChangeApplied, this, [this](const WeightOp& op) {
        postWeightOp(op);
        requestPrediction();
    });
    connect(d, &StudioDocument::weightChangeRestored, this, [this](int token) {
        WeightOp op;
        op.kind = WeightOp::Kind::Restore;
        op.token = token;
        postWeightOp(op);
        requestPrediction();
    });
    connect(d, &StudioDocument::weightsReset, this, [this](const QVector<WeightOp>& ops) {
        WeightOp reset;
        reset.kind = WeightOp::Kind::RestoreAll;
        postWeightOp(reset);
        for (const auto& op : ops)
            postWeightOp(op);
        requestPrediction();
    });
    connect(d, &StudioDocument::weightsModifiedChanged, this, &MainWindow::updateWeightsIndicator);
    connect(d, &StudioDocument::attributionChanged, this, [this] {
        const AttributionData grid = m_doc->attribution();
        if (grid.isEmpty()) {
            m_heatmap->clear();
            return;
        }
        m_heatmap->setGrid(
            grid.layers, grid.neurons, grid.scores,
            tr("“%1” → %2 (p = %3)").arg(grid.prompt, grid.target).arg(grid.targetProb, 0, 'f', 3));
        m_applying = true;
        m_heatmap->setThreshold(m_doc->heatmapThreshold());
        m_applying = false;
    });
    connect(d, &StudioDocument::heatmapThresholdChanged, this, [this](double f) {
        m_applying = true;
        m_heatmap->setThreshold(f);
        m_applying = false;
    });
    connect(d, &StudioDocument::refineChanged, this, &MainWindow::showRefineSetup);
    connect(d, &StudioDocument::changed, this, [this] { m_dirty = true; });
    connect(d, &StudioDocument::modifiedChanged, this, &MainWindow::updateWindowTitle);
    connect(d, &StudioDocument::restored, this, [this] {
        m_factKey.clear();
        requestPrediction();
        Q_EMIT sessionRestored();
    });
}

void MainWindow::whenWeightsOrModelChange(const std::function<void()>& react) {
    // Queued: the weight change is posted to the worker (by the document's
    // observers) before any job `react` asks for.
    connect(m_doc, &StudioDocument::weightChangeApplied, this, react, Qt::QueuedConnection);
    connect(m_doc, &StudioDocument::weightChangeRestored, this, react, Qt::QueuedConnection);
    connect(m_doc, &StudioDocument::weightsReset, this, react, Qt::QueuedConnection);
    connect(this, &MainWindow::modelChanged, this, react, Qt::QueuedConnection);
}

void MainWindow::showEditsInTable() {
    QVector<EditRow> rows;
    const auto& edits = m_doc->editMemory().edits();
    rows.reserve(static_cast<int>(edits.size()));
    for (const auto& e : edits)
        rows.push_back(toRow(e));
    m_editView->model()->setEdits(rows);
}

void MainWindow::showRefineSetup() {
    const StudioDocument::RefineSetup r = m_doc->refine();
    m_applying = true;
    if (m_refinePanel->prompts() != r.prompts || m_refinePanel->target() != r.target)
        m_refinePanel->setPrompts(r.prompts, r.target);
    m_refinePanel->setShare(r.share);
    m_refinePanel->setThreshold(r.threshold);
    m_refinePanel->setSteps(r.steps);
    m_refinePanel->setResult(r.result, r.source);
    m_applying = false;
    QVector<NeuronRef> knowledge;
    for (const auto& n : r.result)
        knowledge.push_back({n.layer, n.neuron});
    m_heatmap->setKnowledgeNeurons(knowledge);
}

void MainWindow::showNeurons() {
    m_applying = true;
    m_neuronPanel->setNeurons(m_doc->neurons(), m_doc->neuronLabels());
    m_neuronPanel->setScales(m_doc->scales());
    m_neuronPanel->setSource(m_doc->neuronSource());
    m_applying = false;
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
    // The dock hugs the console: one to three rows of chips, never a band
    // left over from a narrower window or a longer prompt.
    connect(m_console, &PromptConsole::chipRowsChanged, this, [this, console] {
        if (!console->isFloating())
            resizeDocks({console}, {console->sizeHint().height()}, Qt::Vertical);
    });
    auto* predictions = addDock(tr("Predictions"), QStringLiteral("predictionsDock"), m_predictions,
                                Qt::LeftDockWidgetArea);
    auto* edits = addDock(tr("Edit memory"), QStringLiteral("editMemoryDock"), m_editView,
                          Qt::LeftDockWidgetArea);
    auto* heat = addDock(tr("Attribution"), QStringLiteral("heatmapDock"), m_heatmap,
                         Qt::RightDockWidgetArea);
    auto* refine = addDock(tr("Refining"), QStringLiteral("refineDock"), m_refinePanel,
                           Qt::RightDockWidgetArea);
    // The sliders and their buttons scroll in a small window instead of
    // being cut off or squashed to a bare handle.
    auto* neuronScroll = new QScrollArea(this);
    neuronScroll->setWidget(m_neuronPanel);
    neuronScroll->setWidgetResizable(true);
    neuronScroll->setFrameShape(QFrame::NoFrame);
    m_neuronPanel->setMinimumSize(320, 300);
    auto* neurons =
        addDock(tr("Neurons"), QStringLiteral("neuronDock"), neuronScroll, Qt::RightDockWidgetArea);
    m_heatmap->setMinimumSize(240, 200);
    splitDockWidget(predictions, edits, Qt::Vertical);
    splitDockWidget(heat, refine, Qt::Vertical);
    splitDockWidget(refine, neurons, Qt::Horizontal);
    // The prompt line and its chips need two lines, not a third of the window.
    resizeDocks({console, predictions, heat}, {96, 400, 400}, Qt::Vertical);
    resizeDocks({predictions, heat}, {640, 960}, Qt::Horizontal);
    resizeDocks({predictions, edits}, {300, 500}, Qt::Vertical);
    resizeDocks({heat, refine}, {470, 380}, Qt::Vertical);
    // 1600 x 1000, or what the screen has room for (a laptop's 1366 x 768).
    QSize size(1600, 1000);
    if (const QScreen* s = screen()) {
        const QSize room = s->availableGeometry().size() * 0.95;
        size = size.boundedTo(room).expandedTo(QSize(800, 600));
    }
    resize(size);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open &model folder…"), this, &MainWindow::askOpenModel);
    QMenu* builtIn = file->addMenu(tr("Open &built-in model"));
    builtIn->setObjectName(QStringLiteral("builtInModels"));
    for (const auto& m : scalpel::builtInModels()) {
        const QString dir = QString::fromStdString(m.dir);
        builtIn
            ->addAction(QString::fromStdString(m.title), this,
                        [this, dir] { openModelFolder(dir); })
            ->setData(QString::fromStdString(m.name));
    }
    file->addSeparator();
    file->addAction(tr("&Open session…"), QKeySequence::Open, this, &MainWindow::askOpenSession);
    file->addAction(tr("&Save session"), QKeySequence::Save, this, &MainWindow::askSaveSession);
    file->addAction(tr("Save session &as…"), QKeySequence::SaveAs, this,
                    &MainWindow::askSaveSessionAs);
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

    QUndoStack* stack = m_doc->undoStack();
    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    m_undoAction = stack->createUndoAction(this, tr("&Undo"));
    m_undoAction->setShortcuts(QKeySequence::Undo);
    m_redoAction = stack->createRedoAction(this, tr("&Redo"));
    m_redoAction->setShortcuts(QKeySequence::Redo);
    edit->addAction(m_undoAction);
    edit->addAction(m_redoAction);
    edit->addSeparator();
    m_makeAnswerAction = edit->addAction(tr("&Make the answer…"), this, &MainWindow::askMakeAnswer);
    m_makeAnswerAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_makeAnswerAction->setToolTip(tr("Add an edit: the current prompt with a new answer"));

    QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
    m_attributeAction =
        analysis->addAction(tr("&Attribute the answer"), this, &MainWindow::runAttribution);
    m_attributeAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    analysis->addAction(tr("Re&fine knowledge neurons"), this, &MainWindow::runRefine);
    m_cancelAction =
        analysis->addAction(tr("&Cancel the running job"), this, &MainWindow::cancelJobs);
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    analysis->addSeparator();
    analysis->addAction(tr("&Update fact…"), this, &MainWindow::askUpdateFact);
    analysis->addAction(tr("&Erase relation…"), this, &MainWindow::askEraseRelation);
    m_revertWeightsAction =
        analysis->addAction(tr("&Revert weights"), this, &MainWindow::revertWeights);
    m_revertWeightsAction->setToolTip(
        tr("Undo every weight change at once: back to the weights in the model folder"));
    m_revertWeightsAction->setEnabled(false);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (auto* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);

    auto* tools = addToolBar(tr("Actions"));
    tools->setObjectName(QStringLiteral("actionsToolBar"));
    tools->setToolButtonStyle(Qt::ToolButtonTextOnly);
    tools->addAction(m_undoAction);
    tools->addAction(m_redoAction);
    tools->addSeparator();
    tools->addAction(m_makeAnswerAction);
    tools->addAction(m_attributeAction);
    tools->addAction(m_revertWeightsAction);
}

void MainWindow::resetLayout() {
    restoreState(m_defaultLayout);
    for (auto* dock : findChildren<QDockWidget*>()) {
        dock->setFloating(false);
        dock->show();
    }
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
    // A line edit takes Ctrl+Z / Ctrl+Shift+Z for its own text undo before
    // any window shortcut sees them. Refusing the override lets the studio's
    // Undo and Redo act wherever the focus is, as Edit > Undo says.
    if (watched == m_console->lineEdit() && event->type() == QEvent::ShortcutOverride) {
        auto* key = static_cast<QKeyEvent*>(event);
        if (key->matches(QKeySequence::Undo) || key->matches(QKeySequence::Redo))
            return true;
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::startWorker() {
    ModelWorker::Config config;
    config.seracDir = m_options.seracDir;
    config.factsPath = m_options.factsPath;
    config.device = m_options.device;
    config.threads = m_options.threads;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("ModelWorker"));
    m_worker = new ModelWorker(config);
    m_worker->moveToThread(m_thread);
    connect(m_worker, &ModelWorker::jobStarted, m_progress, &ProgressStrip::startJob);
    connect(m_worker, &ModelWorker::jobProgress, m_progress,
            [this](double f, const QString& detail) { m_progress->setProgress(f, detail); });
    connect(m_worker, &ModelWorker::jobFinished, m_progress,
            [this](const QString& message) { m_progress->finishJob(message); });
    connect(m_progress, &ProgressStrip::cancelRequested, this, &MainWindow::cancelJobs);
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

int MainWindow::staleResultsDropped() const {
    return m_worker ? m_worker->staleResultsDropped() : 0;
}

void MainWindow::cancelJobs() {
    if (m_worker)
        m_worker->cancelJobs();
}

void MainWindow::updateStatus() {
    const QString dtype =
        m_model.dtypeOnDisk.isEmpty() ? QString() : m_model.dtypeOnDisk + QLatin1Char(' ');
    m_modelLabel->setText(tr("Model: %1 (%2, %3%4 M parameters; %5 layers × %6 neurons)")
                              .arg(m_model.name,
                                   m_model.family.isEmpty() ? tr("unknown family") : m_model.family,
                                   dtype)
                              .arg(m_model.parameters / 1e6, 0, 'f', 1)
                              .arg(m_model.layers)
                              .arg(m_model.neuronsPerLayer));
    m_modelLabel->setToolTip(tr("%1\nmodel_type: %2").arg(m_model.path, m_model.modelType));
    m_deviceLabel->setText(tr("Device: %1")
                               .arg(m_model.device.startsWith(QLatin1String("cuda"))
                                        ? m_model.device.toUpper()
                                        : QStringLiteral("CPU")));
    updateWeightsIndicator();
}

void MainWindow::updateWeightsIndicator() {
    const int changes = m_doc->weightChanges().size();
    m_revertWeightsAction->setEnabled(changes > 0);
    if (changes > 0) {
        m_weightsLabel->setText(tr("⚠ weights edited (%n change(s))", nullptr, changes));
        m_weightsLabel->setToolTip(tr("The weights differ from the model folder; "
                                      "Analysis ▸ Revert weights goes back"));
        m_weightsLabel->setStyleSheet(QStringLiteral("color: #b45f06; font-weight: bold;"));
    } else {
        m_weightsLabel->setText({});
        m_weightsLabel->setToolTip({});
    }
    m_predictions->setColumn(PredictionView::BaseColumn, baseTitle(),
                             m_predictions->subtitle(PredictionView::BaseColumn),
                             m_predictions->rows(PredictionView::BaseColumn));
    updateWindowTitle();
}

void MainWindow::updateWindowTitle() {
    QString title = m_model.name.isEmpty() ? tr("Scalpel") : tr("Scalpel — %1").arg(m_model.name);
    if (m_doc->weightsModified())
        title += tr(" (weights edited)");
    if (!m_sessionPath.isEmpty())
        title += QStringLiteral(" — ") + QFileInfo(m_sessionPath).fileName();
    if (m_doc->isModified())
        title += QStringLiteral(" *");
    setWindowTitle(title);
}

void MainWindow::showStatusMessage(const QString& message) {
    statusBar()->showMessage(message, 5000);
    if (!m_progress->isBusy())
        m_progress->finishJob(message);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (isVisible() && m_doc->isModified() && !m_recoveryPending) {
        const auto answer = QMessageBox::question(
            this, tr("Save the session?"),
            tr("The session has changes that are not saved in a session file. Save them before "
               "quitting?"),
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
        if (answer == QMessageBox::Cancel) {
            event->ignore();
            return;
        }
        if (answer == QMessageBox::Save) {
            askSaveSession();
            if (m_doc->isModified()) { // the save was cancelled or failed
                event->ignore();
                return;
            }
        }
    }
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    m_dirty = true;
    autosave();
    QFile::remove(markerPath());
    QMainWindow::closeEvent(event);
}
