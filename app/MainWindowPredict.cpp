// Predictions and the long jobs: what is asked of the worker and how each
// result lands on screen.
#include "MainWindow.h"

#include "AnswerDialog.h"
#include "AttributionHeatmap.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "ModelWorker.h"
#include "NeuronPanel.h"
#include "PredictionView.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "RefinePanel.h"

#include <QLabel>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>

namespace {

// Master scales the answer curve is sampled at.
QVector<double> curveScales() {
    QVector<double> s;
    for (int i = 0; i <= 12; ++i)
        s.push_back(i * 0.25);
    return s;
}

} // namespace

void MainWindow::requestPrediction() {
    if (!m_modelReady)
        return;
    PredictRequest req;
    req.generation = m_gate.next(RequestKind::Predict);
    req.prompt = m_console->prompt();
    req.scales = m_scales;
    m_predictClock.start();
    m_worker->post(RequestKind::Predict, QVariant::fromValue(req));
}

QString MainWindow::editedSubtitle(const PredictResult& r) const {
    if (!r.seracAvailable)
        return r.seracStatus;
    if (m_memory.empty())
        return tr("edit memory is empty: same as the base model");
    if (r.routedTo.isEmpty() || r.routedTo == QLatin1String("base"))
        return tr("no edit in scope (best p = %1)").arg(r.routedProb, 0, 'f', 2);
    const scalpel::Edit* e = m_memory.find(r.routedTo.toStdString());
    const QString what =
        e ? QStringLiteral("“%1” → %2")
                .arg(QString::fromStdString(e->prompt), QString::fromStdString(e->answer))
          : r.routedTo;
    return tr("edit %1 fired, p = %2").arg(what).arg(r.routedProb, 0, 'f', 2);
}

void MainWindow::onPredicted(const PredictResult& r) {
    if (!m_gate.accept(RequestKind::Predict, r.generation)) {
        ++m_staleDropped;
        return;
    }
    m_lastPrediction = r;
    m_console->setTokens(r.tokens);
    const QString baseSubtitle = r.warning.isEmpty() ? m_model.name : r.warning;
    m_predictions->setColumn(PredictionView::BaseColumn, tr("Base model"), baseSubtitle, r.base);
    m_predictions->setColumn(PredictionView::EditedColumn, tr("With edit memory"),
                             editedSubtitle(r), r.edited);
    int scaled = 0;
    for (const auto& s : m_scales)
        scaled += s.factor != 1.0;
    m_predictions->setColumn(PredictionView::IntervenedColumn, tr("With interventions"),
                             scaled ? tr("%n neuron(s) scaled", nullptr, scaled)
                                    : tr("no neuron scaled: same as the base model"),
                             r.intervened);

    auto* table = m_editView->model();
    table->setScopes(r.scopes);
    table->setRoutedEdit(r.routedTo == QLatin1String("base") ? QString() : r.routedTo);

    // A prompt that states a known fact fills the refining panel with the
    // fact's paraphrases, once per fact so hand edits there survive typing.
    if (!r.factPrompts.isEmpty() && !m_refinePanel->isBusy()) {
        const QString key = r.factPrompts.join(QLatin1Char('|')) + r.factAnswer;
        if (key != m_factKey) {
            m_factKey = key;
            m_refinePanel->setPrompts(r.factPrompts, r.factAnswer);
        }
    }
    const double roundTripMs = m_predictClock.nsecsElapsed() / 1e6;
    m_timingLabel->setText(tr("predict %1 ms").arg(roundTripMs, 0, 'f', 1));
    Q_EMIT predictionShown(roundTripMs);
    if (m_options.demo)
        runDemoStep();
}

QString MainWindow::currentAnswer() const {
    if (!m_refinePanel->target().trimmed().isEmpty() && !m_refinePanel->prompts().isEmpty() &&
        m_refinePanel->prompts().contains(m_console->prompt().trimmed()))
        return m_refinePanel->target().trimmed();
    if (!m_lastPrediction.factAnswer.isEmpty())
        return m_lastPrediction.factAnswer;
    if (!m_lastPrediction.base.isEmpty())
        return m_lastPrediction.base.front().token.trimmed();
    return m_refinePanel->target().trimmed();
}

void MainWindow::runAttribution() {
    if (!m_modelReady || m_console->prompt().trimmed().isEmpty())
        return;
    AttributionRequest req;
    req.generation = m_gate.next(RequestKind::Attribute);
    req.prompt = m_console->prompt();
    req.target = currentAnswer();
    req.steps = m_refinePanel->steps();
    if (req.target.isEmpty())
        return;
    m_progress->startJob(tr("Attribution"));
    m_worker->post(RequestKind::Attribute, QVariant::fromValue(req));
}

void MainWindow::onAttributed(const AttributionResult& r) {
    if (!m_gate.accept(RequestKind::Attribute, r.generation))
        return;
    if (r.cancelled)
        return; // the old map stays
    if (!r.error.isEmpty()) {
        m_progress->finishJob(tr("Attribution failed: %1").arg(r.error));
        return;
    }
    showAttribution(r.grid);
    markDirty();
    Q_EMIT attributionShown();
}

void MainWindow::showAttribution(const AttributionData& grid) {
    m_attribution = grid;
    if (grid.isEmpty()) {
        m_heatmap->clear();
        return;
    }
    m_heatmap->setGrid(
        grid.layers, grid.neurons, grid.scores,
        tr("“%1” → %2 (p = %3)").arg(grid.prompt, grid.target).arg(grid.targetProb, 0, 'f', 3));
}

void MainWindow::runRefine() {
    if (!m_modelReady)
        return;
    RefineRequest req;
    req.generation = m_gate.next(RequestKind::Refine);
    req.prompts = m_refinePanel->prompts();
    req.target = m_refinePanel->target().trimmed();
    req.share = m_refinePanel->share();
    req.threshold = m_refinePanel->threshold();
    req.steps = m_refinePanel->steps();
    if (req.prompts.isEmpty() || req.target.isEmpty()) {
        m_progress->finishJob(tr("Refining needs prompts and their answer"));
        return;
    }
    m_refinePanel->setBusy(true);
    m_progress->startJob(tr("Refining"));
    m_worker->post(RequestKind::Refine, QVariant::fromValue(req));
}

void MainWindow::onRefined(const RefineResult& r) {
    if (!m_gate.accept(RequestKind::Refine, r.generation))
        return;
    m_refinePanel->setBusy(false);
    if (r.cancelled)
        return;
    if (!r.error.isEmpty()) {
        m_progress->finishJob(tr("Refining failed: %1").arg(r.error));
        return;
    }
    m_refinePanel->setResult(r.neurons);
    if (!r.firstGrid.isEmpty())
        showAttribution(r.firstGrid);
    QVector<NeuronRef> refs;
    for (const auto& n : r.neurons)
        refs.push_back({n.layer, n.neuron});
    m_heatmap->setKnowledgeNeurons(refs);
    setRefinedNeurons(r.neurons);
    markDirty();
    Q_EMIT refineShown();
    if (m_options.demo)
        runDemoStep();
}

void MainWindow::requestCurve() {
    if (!m_modelReady)
        return;
    const QVector<NeuronRef> neurons = m_neuronPanel->neurons();
    const QString answer = currentAnswer();
    if (neurons.isEmpty() || answer.isEmpty() || m_console->prompt().trimmed().isEmpty()) {
        m_neuronPanel->setCurve({}, {}, {});
        return;
    }
    CurveRequest req;
    req.generation = m_gate.next(RequestKind::Curve);
    req.prompt = m_console->prompt();
    req.answer = answer;
    req.neurons = neurons;
    req.scales = curveScales();
    m_worker->post(RequestKind::Curve, QVariant::fromValue(req));
}

void MainWindow::onCurve(const CurveResult& r) {
    if (!m_gate.accept(RequestKind::Curve, r.generation))
        return;
    m_neuronPanel->setCurve(r.scales, r.probs, r.answer);
    Q_EMIT curveShown();
    if (m_options.demo && m_demoStage == 3) {
        m_demoStage = 4;
        // The screenshot script waits for this line.
        std::fprintf(stdout, "scalpel: demo ready\n");
        std::fflush(stdout);
    }
}

void MainWindow::onWeightOpDone(const WeightOpResult& r) {
    if (r.op.kind == WeightOp::Kind::Preview) {
        if (m_previewDialog && r.op.token == m_previewToken)
            m_previewDialog->setPreview(r.before, r.after, r.error);
        return;
    }
    m_pendingWeightOps = qMax(0, m_pendingWeightOps - 1);
    if (!r.ok) {
        // The engine refused (an unknown word, say): the weights are as they
        // were, so the command that asked must not stay on the stack.
        if (r.op.kind == WeightOp::Kind::UpdateFact || r.op.kind == WeightOp::Kind::EraseRelation) {
            for (int i = 0; i < m_appliedWeightOps.size(); ++i)
                if (m_appliedWeightOps[i].token == r.op.token)
                    m_appliedWeightOps.remove(i);
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
