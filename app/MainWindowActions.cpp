// The menu actions and every undoable change: each user action builds a
// command and pushes it; the command calls back into the UndoTarget methods
// here, which change the UI-side truth, the widgets and the worker together.
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

#include <QFileDialog>
#include <QMessageBox>
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

QVector<EditRow> toRows(const std::vector<scalpel::Edit>& edits) {
    QVector<EditRow> rows;
    rows.reserve(static_cast<int>(edits.size()));
    for (const auto& e : edits)
        rows.push_back(toRow(e));
    return rows;
}

QString neuronLabel(const RefinedNeuron& n, int prompts) {
    return QObject::tr("in %1/%2 prompts").arg(n.prompts).arg(prompts);
}

} // namespace

// ---- interventions --------------------------------------------------------

void MainWindow::onScalesChanged(const QVector<NeuronScale>& scales) {
    if (m_applying)
        return;
    // One drag is one undo step: its commands share a drag id and merge.
    m_undo->push(new ScalesCommand(this, m_scales, scales, m_dragging ? m_dragId : 0));
}

void MainWindow::applyScales(const QVector<NeuronScale>& scales) {
    m_scales = scales;
    m_applying = true;
    m_neuronPanel->setScales(scales);
    m_applying = false;
    requestPrediction();
    if (!m_dragging)
        requestCurve();
}

void MainWindow::applyNeuronSet(const QVector<NeuronRef>& neurons, const QStringList& labels,
                                const QVector<NeuronScale>& scales) {
    m_applying = true;
    m_neuronPanel->setNeurons(neurons, labels);
    m_neuronPanel->setScales(scales);
    m_applying = false;
    m_neuronLabels = labels;
    m_scales = m_neuronPanel->scales();
    requestPrediction();
    requestCurve();
}

void MainWindow::selectNeuron(int layer, int neuron) {
    QVector<NeuronRef> neurons = m_neuronPanel->neurons();
    for (const auto& n : neurons)
        if (n.layer == layer && n.neuron == neuron)
            return;
    NeuronSetCommand::State before{neurons, m_neuronLabels, m_scales};
    neurons.push_back({layer, neuron});
    QStringList labels = m_neuronLabels;
    while (labels.size() < neurons.size() - 1)
        labels.push_back({});
    labels.push_back(tr("picked"));
    QVector<NeuronScale> scales = m_scales;
    scales.push_back({layer, neuron, 1.0});
    m_undo->push(new NeuronSetCommand(this, before, {neurons, labels, scales},
                                      tr("Select neuron L%1 · N%2").arg(layer).arg(neuron)));
}

void MainWindow::setRefinedNeurons(const QVector<RefinedNeuron>& refined) {
    NeuronSetCommand::State before{m_neuronPanel->neurons(), m_neuronLabels, m_scales};
    NeuronSetCommand::State after;
    const int prompts = m_refinePanel->prompts().size();
    for (const auto& n : refined) {
        after.neurons.push_back({n.layer, n.neuron});
        after.labels.push_back(neuronLabel(n, prompts));
        after.scales.push_back({n.layer, n.neuron, 1.0});
    }
    m_undo->push(new NeuronSetCommand(this, before, after,
                                      tr("Select %n refined neuron(s)", nullptr, refined.size())));
}

QVector<NeuronRef> MainWindow::factNeurons() const {
    return m_neuronPanel->neurons();
}

// ---- edit memory ------------------------------------------------------------

void MainWindow::postEdits() {
    // The table's rows are the memory's; sending them is a shared copy.
    m_worker->post(RequestKind::SyncEdits, QVariant::fromValue(m_editView->model()->edits()));
    requestPrediction();
    markDirty();
}

QString MainWindow::addEditFromPrompt(const QString& answer) {
    const QString prompt = m_console->prompt().trimmed();
    if (prompt.isEmpty() || answer.trimmed().isEmpty())
        return {};
    // add() hands out a fresh id; the command then owns putting it in.
    scalpel::Edit e;
    try {
        e = m_memory.add(prompt.toStdString(), answer.trimmed().toStdString());
    } catch (const std::exception& ex) {
        if (isVisible())
            QMessageBox::warning(this, tr("Edit not added"), QString::fromUtf8(ex.what()));
        return {};
    }
    m_memory.remove(e.id);
    m_undo->push(new AddEditCommand(this, e));
    return QString::fromStdString(e.id);
}

void MainWindow::deleteEdits(const QStringList& ids) {
    std::vector<std::pair<scalpel::Edit, int>> removed;
    for (const auto& id : ids) {
        const int at = m_memory.indexOf(id.toStdString());
        if (at >= 0)
            removed.push_back({m_memory.edits()[static_cast<std::size_t>(at)], at});
    }
    if (!removed.empty())
        m_undo->push(new RemoveEditsCommand(this, std::move(removed)));
}

void MainWindow::onEditChangedInTable(const QString& id, const EditRow& now, const EditRow&) {
    const scalpel::Edit* old = m_memory.find(id.toStdString());
    if (!old)
        return;
    scalpel::Edit after = *old;
    after.prompt = now.prompt.toStdString();
    after.answer = now.answer.toStdString();
    after.enabled = now.enabled;
    if (after.prompt.empty() || after.answer.empty()) {
        m_editView->model()->updateEdit(toRow(*old)); // an empty field is refused
        return;
    }
    m_undo->push(new ModifyEditCommand(this, *old, after));
}

void MainWindow::insertEdit(const scalpel::Edit& edit, int position) {
    m_memory.insert(edit, position);
    if (position < 0 || position >= static_cast<int>(m_memory.size()) - 1)
        m_editView->model()->addEdit(toRow(edit));
    else
        m_editView->model()->setEdits(toRows(m_memory.edits()));
    postEdits();
}

void MainWindow::removeEdit(const QString& id) {
    m_memory.remove(id.toStdString());
    m_editView->model()->removeEdit(id);
    postEdits();
}

void MainWindow::replaceEdit(const scalpel::Edit& edit) {
    m_memory.update(edit.id, edit.prompt, edit.answer);
    m_memory.setEnabled(edit.id, edit.enabled);
    m_editView->model()->updateEdit(toRow(edit));
    postEdits();
}

void MainWindow::replaceAllEdits(const std::vector<scalpel::Edit>& edits) {
    m_memory.clear();
    for (const auto& e : edits)
        m_memory.insert(e);
    m_editView->model()->setEdits(toRows(m_memory.edits()));
    postEdits();
}

bool MainWindow::importEdits(const QString& path, QString* error) {
    try {
        const scalpel::EditMemory loaded = scalpel::EditMemory::loadFile(path.toStdString());
        scalpel::EditMemory merged = m_memory;
        for (const auto& e : loaded.edits()) {
            scalpel::Edit copy = e;
            // An id already here keeps both edits: the import gets a fresh id.
            if (merged.find(e.id)) {
                copy.id = merged.add(e.prompt, e.answer).id;
                merged.remove(copy.id);
            }
            merged.insert(copy);
        }
        const std::vector<scalpel::Edit> after = merged.edits();
        m_undo->push(new ReplaceEditsCommand(
            this, m_memory.edits(), after,
            tr("Import %n edit(s)", nullptr, static_cast<int>(loaded.size()))));
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

bool MainWindow::exportEdits(const QString& path, QString* error) {
    try {
        m_memory.save(path.toStdString());
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

// ---- weights ------------------------------------------------------------------

void MainWindow::applyWeightChange(const WeightOp& op) {
    m_appliedWeightOps.push_back(op);
    ++m_pendingWeightOps;
    m_worker->post(RequestKind::WeightOp, QVariant::fromValue(op));
    requestPrediction();
}

void MainWindow::restoreWeightChange(int token) {
    for (int i = 0; i < m_appliedWeightOps.size(); ++i) {
        if (m_appliedWeightOps[i].token == token) {
            m_appliedWeightOps.resize(i);
            break;
        }
    }
    WeightOp op;
    op.kind = WeightOp::Kind::Restore;
    op.token = token;
    ++m_pendingWeightOps;
    m_worker->post(RequestKind::WeightOp, QVariant::fromValue(op));
    requestPrediction();
}

void MainWindow::updateFact(const QString& newObject) {
    WeightOp op;
    op.kind = WeightOp::Kind::UpdateFact;
    op.token = nextWeightToken();
    op.neurons = factNeurons();
    op.oldObject = currentAnswer();
    op.newObject = newObject.trimmed();
    op.description = tr("Update fact: %1 → %2").arg(op.oldObject, op.newObject);
    if (op.neurons.isEmpty() || op.oldObject.isEmpty() || op.newObject.isEmpty())
        return;
    m_undo->push(new WeightChangeCommand(this, op));
}

void MainWindow::eraseRelation() {
    WeightOp op;
    op.kind = WeightOp::Kind::EraseRelation;
    op.token = nextWeightToken();
    op.neurons = factNeurons();
    op.description = tr("Erase relation (%n neuron(s))", nullptr, op.neurons.size());
    if (op.neurons.isEmpty())
        return;
    m_undo->push(new WeightChangeCommand(this, op));
}

// ---- dialogs ------------------------------------------------------------------

void MainWindow::askOpenModel() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open a GPT-2 model folder (Hugging Face layout)"), m_model.path);
    if (!dir.isEmpty())
        openModelFolder(dir);
}

void MainWindow::openModelFolder(const QString& dir) {
    m_requestedModel = dir;
    m_worker->post(RequestKind::LoadModel, dir);
}

void MainWindow::askMakeAnswer() {
    const QString prompt = m_console->prompt().trimmed();
    if (prompt.isEmpty())
        return;
    AnswerDialog dialog(AnswerDialog::Mode::Answer, tr("Make the answer…"),
                        tr("When asked “%1”, the edited model should answer:").arg(prompt),
                        knownAnswers(), this);
    if (dialog.exec() == QDialog::Accepted)
        addEditFromPrompt(dialog.answer());
}

void MainWindow::askUpdateFact() {
    if (factNeurons().isEmpty()) {
        QMessageBox::information(this, tr("Update fact"),
                                 tr("Select the fact's knowledge neurons first: refine them, or "
                                    "click neurons in the heatmap."));
        return;
    }
    const QString old = currentAnswer();
    AnswerDialog dialog(AnswerDialog::Mode::AnswerWithPreview, tr("Update fact…"),
                        tr("Rewrite the value slots of %n neuron(s) so that “%1” answers the new "
                           "object instead of %2:",
                           nullptr, factNeurons().size())
                            .arg(m_console->prompt().trimmed(), old),
                        knownAnswers(), this);
    m_previewDialog = &dialog;
    connect(&dialog, &AnswerDialog::previewRequested, this, [this, old](const QString& answer) {
        WeightOp op;
        op.kind = WeightOp::Kind::Preview;
        op.token = m_previewToken = nextWeightToken();
        op.neurons = factNeurons();
        op.oldObject = old;
        op.newObject = answer;
        op.prompt = m_console->prompt();
        m_worker->post(RequestKind::WeightOp, QVariant::fromValue(op));
    });
    const int result = dialog.exec();
    m_previewDialog = nullptr;
    if (result == QDialog::Accepted)
        updateFact(dialog.answer());
}

void MainWindow::askEraseRelation() {
    if (factNeurons().isEmpty()) {
        QMessageBox::information(this, tr("Erase relation"),
                                 tr("Select the relation's knowledge neurons first."));
        return;
    }
    AnswerDialog dialog(AnswerDialog::Mode::ConfirmWithPreview, tr("Erase relation…"),
                        tr("Zero the value slots of %n neuron(s)? Undo restores them exactly.",
                           nullptr, factNeurons().size()),
                        {}, this);
    m_previewDialog = &dialog;
    connect(&dialog, &AnswerDialog::previewRequested, this, [this] {
        WeightOp op;
        op.kind = WeightOp::Kind::Preview;
        op.erase = true;
        op.token = m_previewToken = nextWeightToken();
        op.neurons = factNeurons();
        op.prompt = m_console->prompt();
        m_worker->post(RequestKind::WeightOp, QVariant::fromValue(op));
    });
    Q_EMIT dialog.previewRequested({});
    const int result = dialog.exec();
    m_previewDialog = nullptr;
    if (result == QDialog::Accepted)
        eraseRelation();
}

void MainWindow::askImportEdits() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Import edits"), {}, tr("Edit memory (*.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!importEdits(path, &error))
        QMessageBox::warning(this, tr("Import failed"), error);
}

void MainWindow::askExportEdits() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export edits"), QStringLiteral("edits.json"), tr("Edit memory (*.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!exportEdits(path, &error))
        QMessageBox::critical(this, tr("Export failed"), error);
}

void MainWindow::askExportHeatmap(const QString& format) {
    if (m_attribution.isEmpty()) {
        QMessageBox::information(this, tr("Export heatmap"),
                                 tr("Run an attribution first (Analysis ▸ Attribute the answer)."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export heatmap"), QStringLiteral("attribution.%1").arg(format),
        QStringLiteral("%1 (*.%2)").arg(format.toUpper(), format));
    if (path.isEmpty())
        return;
    const bool ok = format == QLatin1String("png")   ? m_heatmap->exportPng(path)
                    : format == QLatin1String("pdf") ? m_heatmap->exportPdf(path)
                                                     : m_heatmap->exportCsv(path);
    if (!ok)
        QMessageBox::critical(this, tr("Export failed"), tr("Could not write %1.").arg(path));
}
