// The jobs the studio gives the worker and how each result lands in the
// document and on screen. Each is one invoke(): a tag, a function on the
// engine (EngineJobs.h) and what to do with its result on the UI thread.
#include "MainWindow.h"

#include "AnswerDialog.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "EngineJobs.h"
#include "ModelWorker.h"
#include "NeuronPanel.h"
#include "PredictionView.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "RefinePanel.h"

#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QTimer>

#include <algorithm>
#include <cstdio>

namespace {

// Master scales the answer curve is sampled at.
QVector<double> curveScales() {
    QVector<double> s;
    for (int i = 0; i <= 12; ++i)
        s.push_back(i * 0.25);
    return s;
}

const QString kLoadTag = QStringLiteral("load");
const QString kPredictTag = QStringLiteral("predict");
const QString kEditsTag = QStringLiteral("edits");
const QString kAttributeTag = QStringLiteral("attribute");
const QString kRefineTag = QStringLiteral("refine");
const QString kCurveTag = QStringLiteral("curve");
const QString kWeightsTag = QStringLiteral("weights");
const QString kPreviewTag = QStringLiteral("preview");

} // namespace

// ---- the model ----------------------------------------------------------------

void MainWindow::loadModel(const QString& dir) {
    m_loading = true;
    m_requestedModel = dir;
    m_worker->invoke(
        {kLoadTag, JobClass::Mutating, tr("Loading %1").arg(QFileInfo(dir).fileName()),
         /*cancellable=*/true,
         /*dropStale=*/false},
        [dir](WorkerEngine& e, JobContext& c) { return jobs::loadModel(e, dir, c); },
        [this](const ModelLoadResult& r) { onModelLoaded(r); },
        [this, dir] {
            ModelLoadResult r;
            r.path = dir;
            r.cancelled = true;
            r.error = tr("Loading was cancelled.");
            onModelLoaded(r);
        });
}

void MainWindow::openModelFolder(const QString& dir) {
    loadModel(dir);
}

void MainWindow::onModelLoaded(const ModelLoadResult& r) {
    m_loading = false;
    const bool first = !m_modelReady;
    if (!r.ok) {
        m_hasPendingSession = false;
        m_requestedModel = m_model.path;
        Q_EMIT modelChanged(false, r.error);
        if (first) {
            m_predictions->setColumn(PredictionView::BaseColumn, tr("Base model"),
                                     tr("No model: %1").arg(r.error), {});
            m_modelLabel->setText(tr("no model — File ▸ Open model folder"));
        } else if (r.cancelled) {
            showStatusMessage(tr("Loading cancelled: the studio keeps %1").arg(m_model.name));
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
    if (!first)
        m_doc->resetForNewModel();
    m_model = r;
    m_modelReady = true;
    // A masked model offers to append its mask to a prompt without one.
    m_console->setClozeMaskToken(r.maskToken);
    updateStatus();
    syncEdits();
    if (m_hasPendingSession) {
        const QString wanted = m_pendingSession.modelPath;
        // A session waits for its own model; one without a model takes this.
        if (wanted.isEmpty() || !QFileInfo::exists(wanted) ||
            QFileInfo(wanted) == QFileInfo(r.path)) {
            m_hasPendingSession = false;
            m_doc->restore(m_pendingSession);
        }
    }
    requestPrediction();
    Q_EMIT modelChanged(true, {});
}

// ---- edit memory and weights -------------------------------------------------------

// Many edits at once (an import, a reload) may take the scope classifier a
// while to embed: the progress strip says so, unless it is showing a long
// job that this one would be served inside. One edit is silent.
QString MainWindow::embeddingLabel(std::size_t changed) const {
    return changed >= 1000 && !m_progress->isBusy() ? tr("Embedding edits") : QString();
}

void MainWindow::syncEdits() {
    if (!m_modelReady)
        return; // the load sends them
    const scalpel::EditMemory& memory = m_doc->editMemory();
    jobs::EditChanges changes;
    if (jobs::editChangesSince(memory, m_editsAcked, changes)) {
        // Usually one edit: only what changed since the worker's last
        // confirmed revision travels. A newer set replaces a queued one and
        // holds everything it held.
        m_worker->invoke(
            {kEditsTag, JobClass::Quick, embeddingLabel(changes.changes.size())},
            [changes](WorkerEngine& e, JobContext& c) {
                return jobs::applyEditChanges(e, changes, &c);
            },
            [this, revision = changes.revision](bool inSync) {
                if (!inSync) {
                    m_editsAcked = 0;
                    syncEdits();
                } else if (revision > m_editsAcked) {
                    m_editsAcked = revision;
                }
            });
        return;
    }
    // The whole memory, once after a load or when the journal cannot say.
    m_worker->invoke(
        {kEditsTag, JobClass::Quick, embeddingLabel(memory.size())},
        [memory](WorkerEngine& e, JobContext& c) {
            jobs::syncEdits(e, memory, &c);
            return true;
        },
        [this, revision = memory.revision()](bool) { m_editsAcked = revision; });
}

void MainWindow::postWeightOp(const WeightOp& op) {
    ++m_pendingWeightOps;
    m_worker->invoke(
        {kWeightsTag, JobClass::Mutating, {}, false, /*dropStale=*/false},
        [op](WorkerEngine& e, JobContext&) { return jobs::weightOp(e, op); },
        [this](const WeightOpResult& r) { onWeightOpDone(r); });
}

void MainWindow::requestPreview(const WeightOp& op) {
    m_worker->invoke(
        {kPreviewTag, JobClass::Long},
        [op](WorkerEngine& e, JobContext&) { return jobs::weightOp(e, op); },
        [this](const WeightOpResult& r) {
            if (m_previewDialog)
                m_previewDialog->setPreview(r.before, r.after, r.error, r.others);
        });
}

void MainWindow::onWeightOpDone(const WeightOpResult& r) {
    m_pendingWeightOps = qMax(0, m_pendingWeightOps - 1);
    if (!r.ok) {
        // The engine refused (an unknown word, say): the weights are as they
        // were, so the document must not count the change.
        if (r.op.kind == WeightOp::Kind::UpdateFact || r.op.kind == WeightOp::Kind::EraseRelation) {
            m_doc->forgetWeightChange(r.op.token);
            if (isVisible()) {
                auto* box = new QMessageBox(QMessageBox::Warning, tr("Weights unchanged"), r.error,
                                            QMessageBox::Ok, this);
                box->setAttribute(Qt::WA_DeleteOnClose);
                box->open();
            }
        }
        m_progress->finishJob(tr("Weight change failed: %1").arg(r.error));
    }
    requestCurve();
    Q_EMIT weightOpFinished(r.ok, r.error);
}

// ---- predictions -----------------------------------------------------------------------

void MainWindow::requestPrediction() {
    if (!m_modelReady)
        return;
    PredictRequest req;
    req.prompt = m_doc->prompt();
    req.scales = m_doc->scales();
    m_predictClock.start();
    m_worker->invoke(
        {kPredictTag, JobClass::Quick},
        [req](WorkerEngine& e, JobContext&) { return jobs::predict(e, req); },
        [this](const PredictResult& r) { onPredicted(r); });
}

QString MainWindow::baseTitle() const {
    return m_doc->weightsModified() ? tr("Base model, weights edited") : tr("Base model");
}

QString MainWindow::editedSubtitle(const PredictResult& r) const {
    if (!r.seracAvailable)
        return r.seracStatus;
    const auto& memory = m_doc->editMemory();
    if (memory.empty())
        return tr("edit memory is empty: same as the base model");
    if (r.routedTo.isEmpty() || r.routedTo == QLatin1String("base"))
        return tr("no edit in scope (best p = %1, routes above %2)")
            .arg(r.routedProb, 0, 'f', 2)
            .arg(r.routingThreshold, 0, 'f', 2);
    const scalpel::Edit* e = memory.find(r.routedTo.toStdString());
    const QString what =
        e ? QStringLiteral("“%1” → %2")
                .arg(QString::fromStdString(e->prompt), QString::fromStdString(e->answer))
          : r.routedTo;
    return tr("edit %1 fired, p = %2 > %3")
        .arg(what)
        .arg(r.routedProb, 0, 'f', 2)
        .arg(r.routingThreshold, 0, 'f', 2);
}

void MainWindow::onPredicted(const PredictResult& r) {
    m_lastPrediction = r;
    m_console->setTokens(r.tokens, r.droppedTokens);
    QString baseSubtitle = r.warning.isEmpty() ? m_model.name : r.warning;
    if (m_doc->weightsModified())
        baseSubtitle +=
            tr(" · %n weight change(s) applied", nullptr, m_doc->weightChanges().size());
    if (r.prompt.trimmed().isEmpty())
        baseSubtitle = tr("Type a prompt to see the next token");
    m_predictions->setColumn(PredictionView::BaseColumn, baseTitle(), baseSubtitle, r.base);
    m_predictions->setColumn(PredictionView::EditedColumn, tr("With edit memory"),
                             editedSubtitle(r), r.edited);
    m_editView->setScopeSearchNote(r.scopeIndexNote);
    if (!r.scopeIndexNote.isEmpty())
        m_scopeIndexPoll->start();
    int scaled = 0;
    for (const auto& s : m_doc->scales())
        scaled += s.factor != 1.0;
    m_predictions->setColumn(PredictionView::IntervenedColumn, tr("With interventions"),
                             scaled ? tr("%n neuron(s) scaled", nullptr, scaled)
                                    : tr("no neuron scaled: same as the base model"),
                             r.intervened);

    auto* table = m_editView->model();
    table->setScopes(r.scopes);
    table->setRoutedEdit(r.routedTo == QLatin1String("base") ? QString() : r.routedTo);
    m_editView->setToolTip(
        r.seracAvailable ? tr("An edit answers a prompt when its scope probability is above %1")
                               .arg(r.routingThreshold, 0, 'f', 2)
                         : QString());

    // A prompt that states a known fact fills the refining panel with the
    // fact's paraphrases, once per fact so hand edits there survive typing.
    if (!r.factPrompts.isEmpty() && !m_refinePanel->isBusy()) {
        const QString key = r.factPrompts.join(QLatin1Char('|')) + r.factAnswer;
        if (key != m_factKey) {
            m_factKey = key;
            const auto refine = m_doc->refine();
            m_doc->setRefineSetup(r.factPrompts, r.factAnswer, refine.share, refine.threshold,
                                  refine.steps);
        }
    }
    // The curve belongs to a prompt: a new prompt gets its own.
    if (!m_doc->neurons().isEmpty() && r.prompt != m_curvePrompt && !m_dragging)
        requestCurve();
    const double roundTripMs = m_predictClock.nsecsElapsed() / 1e6;
    m_timingLabel->setText(tr("predict %1 ms").arg(roundTripMs, 0, 'f', 1));
    Q_EMIT predictionShown(roundTripMs);
    if (m_options.demo)
        runDemoStep();
}

QString MainWindow::currentAnswer() const {
    const auto refine = m_doc->refine();
    const QString prompt = m_doc->prompt().trimmed();
    if (!refine.target.trimmed().isEmpty() && refine.prompts.contains(prompt))
        return refine.target.trimmed();
    if (m_lastPrediction.prompt == m_doc->prompt()) {
        if (!m_lastPrediction.factAnswer.isEmpty())
            return m_lastPrediction.factAnswer;
        if (!m_lastPrediction.base.isEmpty())
            return m_lastPrediction.base.front().token.trimmed();
    }
    return refine.target.trimmed();
}

// ---- long jobs ------------------------------------------------------------------------------

void MainWindow::runAttribution() {
    if (!m_modelReady)
        return;
    // A prompt typed a moment ago may still be in the debounce.
    m_doc->setPrompt(m_console->prompt());
    const QString prompt = promptOrComplain(tr("Attribution"));
    if (prompt.isEmpty())
        return;
    AttributionRequest req;
    req.prompt = m_doc->prompt();
    req.target = currentAnswer();
    req.steps = RefinePanel::kDefaultSteps;
    if (req.target.isEmpty()) {
        showStatusMessage(tr("Attribution needs an answer: wait for the predictions"));
        return;
    }
    m_progress->startJob(tr("Attribution"));
    m_worker->invoke(
        {kAttributeTag, JobClass::Long, tr("Attribution"), /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext& c) { return jobs::attribute(e, req, c); },
        [this](const AttributionResult& r) { onAttributed(r); },
        [this] {
            AttributionResult r;
            r.cancelled = true;
            onAttributed(r);
        });
}

void MainWindow::onAttributed(const AttributionResult& r) {
    Q_EMIT attributionFinished(r);
    if (r.cancelled)
        return; // the old map stays
    if (!r.error.isEmpty()) {
        m_progress->finishJob(tr("Attribution failed: %1").arg(r.error));
        return;
    }
    m_doc->setAttribution(r.grid);
    Q_EMIT attributionShown();
}

void MainWindow::runRefine() {
    if (!m_modelReady)
        return;
    const auto setup = m_doc->refine();
    RefineRequest req;
    req.prompts = setup.prompts;
    req.target = setup.target.trimmed();
    req.share = setup.share;
    req.threshold = setup.threshold;
    req.steps = setup.steps;
    if (req.prompts.isEmpty() || req.target.isEmpty()) {
        m_progress->finishJob(tr("Refining needs prompts and their answer"));
        return;
    }
    m_refinePanel->setBusy(true);
    m_progress->startJob(tr("Refining"));
    m_worker->invoke(
        {kRefineTag, JobClass::Long, tr("Refining"), /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext& c) { return jobs::refine(e, req, c); },
        [this](const RefineResult& r) { onRefined(r); },
        [this, req] {
            RefineResult r;
            r.prompts = req.prompts;
            r.target = req.target;
            r.cancelled = true;
            onRefined(r);
        });
}

void MainWindow::onRefined(const RefineResult& r) {
    m_refinePanel->setBusy(false);
    Q_EMIT refineFinished(r);
    if (r.cancelled)
        return;
    if (!r.error.isEmpty()) {
        m_progress->finishJob(tr("Refining failed: %1").arg(r.error));
        return;
    }
    // The result names its own fact: the panel may show another one by now.
    const QString source = StudioDocument::factLabel(r.prompts.value(0), r.target);
    m_doc->setRefineResult(r.neurons, source);
    if (!r.firstGrid.isEmpty())
        m_doc->setAttribution(r.firstGrid);
    m_doc->selectRefinedNeurons(r.neurons, r.prompts.size(), source);
    Q_EMIT refineShown();
    if (m_options.demo)
        runDemoStep();
}

void MainWindow::requestCurve() {
    if (!m_modelReady)
        return;
    const QVector<NeuronRef> neurons = m_doc->neurons();
    const QString answer = currentAnswer();
    if (neurons.isEmpty() || answer.isEmpty() || m_doc->prompt().trimmed().isEmpty()) {
        m_curvePrompt.clear();
        m_neuronPanel->setCurve({}, {}, {});
        return;
    }
    CurveRequest req;
    req.prompt = m_doc->prompt();
    req.answer = answer;
    req.neurons = neurons;
    req.scales = curveScales();
    m_curvePrompt = req.prompt;
    m_worker->invoke(
        {kCurveTag, JobClass::Long},
        [req](WorkerEngine& e, JobContext& c) { return jobs::curve(e, req, c); },
        [this](const CurveResult& r) { onCurve(r); });
}

void MainWindow::onCurve(const CurveResult& r) {
    m_neuronPanel->setCurve(r.scales, r.probs, r.answer);
    Q_EMIT curveReady(r);
    Q_EMIT curveShown();
    if (m_options.demo && m_demoStage == 3) {
        m_demoStage = 4;
        // The screenshot script waits for this line.
        std::fprintf(stdout, "scalpel: demo ready\n");
        std::fflush(stdout);
    }
}
