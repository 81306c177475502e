// The locating docks: the causal trace (its attribution-patching preview
// first, replaced by the exact trace when that finishes) and the logit lens,
// their menu actions and their jobs; a clicked cell of the exact trace runs
// that restoration again for its top tokens.
#include "MainWindow.h"

#include "AnalysisJobs.h"
#include "AttributionHeatmap.h"
#include "NeuronPanel.h"
#include "RefinePanel.h"
#include "StudioDocument.h"
#include "LensView.h"
#include "ModelWorker.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "TraceView.h"

#include <QAction>
#include <QDockWidget>
#include <QInputDialog>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>

namespace {

const QString kTracePreviewTag = QStringLiteral("trace-preview");
const QString kTraceTag = QStringLiteral("trace");
const QString kLensTag = QStringLiteral("lens");
const QString kWritesHoverTag = QStringLiteral("writes-hover");
const QString kWritesNeuronsTag = QStringLiteral("writes-neurons");
const QString kWritesRefinedTag = QStringLiteral("writes-refined");

QMenu* menuNamed(QMenuBar* bar, const QString& title) {
    for (QAction* a : bar->actions())
        if (a->menu() && a->text() == title)
            return a->menu();
    return nullptr;
}

} // namespace

void MainWindow::buildAnalysisDocks() {
    m_traceView = new TraceView(this);
    m_traceView->setObjectName(QStringLiteral("traceView"));
    m_lensView = new LensView(this);
    m_lensView->setObjectName(QStringLiteral("lensView"));
    auto* traceDock =
        addDock(tr("Trace"), QStringLiteral("traceDock"), m_traceView, Qt::RightDockWidgetArea);
    auto* lensDock =
        addDock(tr("Lens"), QStringLiteral("lensDock"), m_lensView, Qt::RightDockWidgetArea);
    if (auto* heat = findChild<QDockWidget*>(QStringLiteral("heatmapDock"))) {
        tabifyDockWidget(heat, traceDock);
        tabifyDockWidget(traceDock, lensDock);
        heat->raise();
    }
    if (QMenu* analysis = menuNamed(menuBar(), tr("&Analysis"))) {
        auto* first = analysis->actions().value(3); // after attribute, refine, cancel
        auto* trace = new QAction(tr("&Trace the subject…"), this);
        trace->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
        trace->setToolTip(tr("Causal tracing (ROME): where the prompt's subject is carried"));
        connect(trace, &QAction::triggered, this, &MainWindow::askTrace);
        auto* lens = new QAction(tr("&Logit lens"), this);
        connect(lens, &QAction::triggered, this, &MainWindow::runLens);
        analysis->insertAction(first, trace);
        analysis->insertAction(first, lens);
        auto* promote = new QAction(tr("Find neurons that &promote…"), this);
        promote->setToolTip(tr("The neurons whose value vectors push a token hardest on this "
                               "prompt, into the neuron panel"));
        connect(promote, &QAction::triggered, this, &MainWindow::askPromote);
        analysis->insertAction(first, promote);
    }
    if (QMenu* file = menuNamed(menuBar(), tr("&File"))) {
        QAction* after = nullptr;
        for (QAction* a : file->actions())
            if (a->menu() && a->text() == tr("Export &heatmap"))
                after = file->actions().value(file->actions().indexOf(a) + 1);
        auto* exportTrace = new QMenu(tr("Export &trace"), file);
        exportTrace->addAction(tr("PNG image…"), this,
                               [this] { askExportTrace(QStringLiteral("png")); });
        exportTrace->addAction(tr("PDF document…"), this,
                               [this] { askExportTrace(QStringLiteral("pdf")); });
        exportTrace->addAction(tr("CSV table…"), this,
                               [this] { askExportTrace(QStringLiteral("csv")); });
        file->insertMenu(after, exportTrace);
    }
    if (QMenu* view = menuNamed(menuBar(), tr("&View"))) {
        auto* first = view->actions().value(0);
        view->insertAction(first, traceDock->toggleViewAction());
        view->insertAction(first, lensDock->toggleViewAction());
    }
    connect(m_traceView, &TraceView::cellClicked, this, &MainWindow::runTraceCell);
    connect(m_traceView, &TraceView::traceRequested, this, &MainWindow::askTrace);

    // What neurons write, wherever neurons show. Looked up when they appear;
    // forgotten when the weights or the model change.
    connect(m_heatmap, &AttributionHeatmap::neuronHovered, this, [this](int layer, int neuron) {
        requestWrites({{layer, neuron}}, kWritesHoverTag);
    });
    connect(m_doc, &StudioDocument::neuronsChanged, this,
            [this] { requestWrites(m_doc->neurons(), kWritesNeuronsTag); });
    connect(m_doc, &StudioDocument::refineChanged, this, [this] {
        QVector<NeuronRef> neurons;
        for (const auto& n : m_doc->refine().result)
            neurons.push_back({n.layer, n.neuron});
        requestWrites(neurons, kWritesRefinedTag);
    });
    whenWeightsOrModelChange([this] { forgetWrites(); });
    connect(m_doc, &StudioDocument::traceChanged, this, [this] {
        const TraceData t = m_doc->trace();
        if (t.isEmpty()) {
            m_traceView->clear();
            return;
        }
        m_traceSubject = t.subject;
        m_traceExact = true;
        m_traceView->setTrace(t);
    });
    connect(m_doc, &StudioDocument::lensChanged, this, [this] {
        const LensData l = m_doc->lens();
        if (l.isEmpty())
            m_lensView->clear();
        else
            m_lensView->setLens(l);
    });
}

void MainWindow::requestWrites(const QVector<NeuronRef>& neurons, const QString& tag) {
    if (!m_modelReady)
        return;
    WritesRequest req;
    for (const auto& n : neurons)
        if (!m_writes.contains(n) && !req.neurons.contains(n))
            req.neurons.push_back(n);
    if (req.neurons.isEmpty())
        return;
    const int epoch = m_writesEpoch;
    // A newer lookup with the same tag replaces a queued one: the hovered
    // neuron, the selection and the refined list each ask under their own.
    m_worker->invoke(
        {tag, JobClass::Quick, QString(), false, /*dropStale=*/tag == kWritesHoverTag},
        [req](WorkerEngine& e, JobContext&) { return jobs::writes(e, req); },
        [this, epoch](const WritesResult& r) {
            if (epoch != m_writesEpoch || !r.error.isEmpty())
                return;
            m_writes.insert(r.writes);
            showWrites();
        });
}

void MainWindow::showWrites() {
    m_heatmap->setNeuronWrites(m_writes);
    m_neuronPanel->setNeuronWrites(m_writes);
    m_refinePanel->setNeuronWrites(m_writes);
    Q_EMIT writesShown();
}

void MainWindow::forgetWrites() {
    ++m_writesEpoch;
    m_writes.clear();
    showWrites();
    requestWrites(m_doc->neurons(), kWritesNeuronsTag);
    QVector<NeuronRef> refined;
    for (const auto& n : m_doc->refine().result)
        refined.push_back({n.layer, n.neuron});
    requestWrites(refined, kWritesRefinedTag);
}

void MainWindow::askPromote() {
    if (!m_modelReady)
        return;
    const QString suggested =
        m_lastPrediction.base.isEmpty() ? QString() : m_lastPrediction.base.front().token.trimmed();
    bool ok = false;
    const QString token = QInputDialog::getText(
        this, tr("Find neurons that promote…"),
        tr("Token (one token of the vocabulary); the neurons are ranked by their push on the "
           "prompt's last position:"),
        QLineEdit::Normal, suggested, &ok);
    if (ok && !token.trimmed().isEmpty())
        runPromote(token.trimmed());
}

void MainWindow::runPromote(const QString& token) {
    if (!m_modelReady)
        return;
    m_doc->setPrompt(m_console->prompt());
    PromoteRequest req;
    req.token = token;
    req.prompt = m_console->prompt().trimmed();
    m_worker->invoke(
        {QStringLiteral("promote"), JobClass::Quick},
        [req](WorkerEngine& e, JobContext&) { return jobs::promote(e, req); },
        [this, req](const PromoteResult& r) {
            if (!r.error.isEmpty()) {
                showStatusMessage(tr("Finding neurons failed: %1").arg(r.error));
                Q_EMIT promoteFinished(r.error);
                return;
            }
            const QString source = req.prompt.isEmpty()
                                       ? tr("“%1” (value vectors)").arg(r.token)
                                       : tr("“%1” → pushes %2").arg(req.prompt, r.token);
            m_doc->selectNeurons(r.neurons, r.labels, source,
                                 tr("Select neurons that promote %1").arg(r.token));
            if (auto* dock = findChild<QDockWidget*>(QStringLiteral("neuronDock")))
                dock->raise();
            Q_EMIT promoteFinished({});
        });
}

void MainWindow::askExportTrace(const QString& format) {
    if (m_doc->trace().isEmpty()) {
        QMessageBox::information(this, tr("Export trace"),
                                 tr("Trace a subject first (Analysis ▸ Trace the subject)."));
        return;
    }
    askExportFigure(tr("Export trace"), QStringLiteral("trace"), format,
                    [this, format](const QString& path) {
                        return format == QLatin1String("png")   ? m_traceView->exportPng(path)
                               : format == QLatin1String("pdf") ? m_traceView->exportPdf(path)
                                                                : m_traceView->exportCsv(path);
                    });
}

void MainWindow::runTraceCell(const QString& kind, int token, int layer) {
    const TraceData shown = m_traceView->trace();
    // The preview's cells are estimates; the exact trace's can be rerun.
    if (!m_modelReady || shown.isEmpty() || shown.method == QLatin1String("approximate"))
        return;
    TraceCellRequest req;
    req.trace = shown;
    req.kind = kind;
    req.token = token;
    req.layer = layer;
    m_traceView->showRestorationPending(kind, token, layer);
    const int run = m_traceRun;
    m_worker->invoke(
        {QStringLiteral("trace-cell"), JobClass::Quick},
        [req](WorkerEngine& e, JobContext&) { return jobs::traceCell(e, req); },
        [this, run](const TraceCellResult& r) {
            if (run != m_traceRun)
                return;
            if (!r.error.isEmpty()) {
                showStatusMessage(tr("Restoring the cell failed: %1").arg(r.error));
                return;
            }
            m_traceView->setRestoration(r.restoration);
            Q_EMIT traceCellShown();
        });
}

void MainWindow::askTrace() {
    if (!m_modelReady)
        return;
    m_doc->setPrompt(m_console->prompt());
    const QString prompt = promptOrComplain(tr("Tracing"));
    if (prompt.isEmpty())
        return;
    bool ok = false;
    const QString subject =
        QInputDialog::getText(this, tr("Trace the subject"),
                              tr("Subject (a part of the prompt; empty: the fact's subject):"),
                              QLineEdit::Normal, m_traceSubject, &ok);
    if (ok)
        runTrace(subject.trimmed());
}

void MainWindow::runTrace(const QString& subject) {
    if (!m_modelReady)
        return;
    m_doc->setPrompt(m_console->prompt());
    TraceRequest req;
    req.prompt = promptOrComplain(tr("Tracing"));
    if (req.prompt.isEmpty())
        return;
    req.subject = subject;
    const TraceSettings settings = m_traceView->settings();
    req.samples = settings.samples;
    req.window = settings.window;
    req.noise = settings.noise;
    req.seed = settings.seed;
    m_traceSubject = subject;
    ++m_traceRun;
    const int run = m_traceRun;
    // The preview (one forward and one backward pass) first, then the exact
    // trace, which replaces it.
    req.approximate = true;
    m_worker->invoke(
        {kTracePreviewTag, JobClass::Long, QString(), /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext& c) { return jobs::trace(e, req, c); },
        [this, run](const TraceResult& r) {
            if (run == m_traceRun && !m_traceExact && !r.cancelled && r.error.isEmpty()) {
                m_traceView->setTrace(r.trace);
                Q_EMIT traceShown(false);
            }
        });
    req.approximate = false;
    m_traceExact = false;
    m_progress->startJob(tr("Tracing"));
    m_worker->invoke(
        {kTraceTag, JobClass::Long, tr("Tracing"), /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext& c) { return jobs::trace(e, req, c); },
        [this, run](const TraceResult& r) {
            if (run != m_traceRun)
                return;
            if (r.cancelled)
                return;
            if (!r.error.isEmpty()) {
                m_progress->finishJob(tr("Trace failed: %1").arg(r.error));
                return;
            }
            m_doc->setTrace(r.trace);
            if (auto* dock = findChild<QDockWidget*>(QStringLiteral("traceDock")))
                dock->raise();
            Q_EMIT traceShown(true);
        });
}

void MainWindow::runLens() {
    if (!m_modelReady)
        return;
    m_doc->setPrompt(m_console->prompt());
    LensRequest req;
    req.prompt = promptOrComplain(tr("The logit lens"));
    if (req.prompt.isEmpty())
        return;
    m_worker->invoke(
        {kLensTag, JobClass::Long, tr("Logit lens"), /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext&) { return jobs::lens(e, req); },
        [this](const LensResult& r) {
            if (!r.error.isEmpty()) {
                m_progress->finishJob(tr("Logit lens failed: %1").arg(r.error));
                return;
            }
            m_doc->setLens(r.lens);
            if (auto* dock = findChild<QDockWidget*>(QStringLiteral("lensDock")))
                dock->raise();
            Q_EMIT lensShown();
        });
}
