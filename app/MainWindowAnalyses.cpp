// The locating docks: the causal trace (its attribution-patching preview
// first, replaced by the exact trace when that finishes) and the logit lens,
// their menu actions and their jobs.
#include "MainWindow.h"

#include "AnalysisJobs.h"
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

namespace {

const QString kTracePreviewTag = QStringLiteral("trace-preview");
const QString kTraceTag = QStringLiteral("trace");
const QString kLensTag = QStringLiteral("lens");

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
    }
    if (QMenu* view = menuNamed(menuBar(), tr("&View"))) {
        auto* first = view->actions().value(0);
        view->insertAction(first, traceDock->toggleViewAction());
        view->insertAction(first, lensDock->toggleViewAction());
    }
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
            m_traceExact = true;
            m_traceView->setTrace(r.trace);
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
            m_lensView->setLens(r.lens);
            if (auto* dock = findChild<QDockWidget*>(QStringLiteral("lensDock")))
                dock->raise();
            Q_EMIT lensShown();
        });
}
