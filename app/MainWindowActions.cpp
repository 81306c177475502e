// The menu actions and what the widgets ask for: each builds a change and
// hands it to the document, which records it on the undo stack.
#include "MainWindow.h"

#include "AnswerDialog.h"
#include "AtomicFile.h"
#include "AttributionHeatmap.h"
#include "EditDatasets.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "NeuronPanel.h"
#include "ProgressStrip.h"
#include "PromptConsole.h"
#include "RefinePanel.h"

#include <QFileDialog>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>

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

QString MainWindow::promptOrComplain(const QString& what) {
    const QString prompt = m_doc->prompt().trimmed();
    if (prompt.isEmpty()) {
        showStatusMessage(tr("%1 needs a prompt: type one in the Prompt panel first").arg(what));
        m_console->lineEdit()->setFocus();
        return prompt;
    }
    // A prompt the user ran an analysis or an edit on is worth walking back
    // to, as much as one submitted with Enter.
    m_console->remember(m_doc->prompt());
    m_doc->setHistory(m_console->history());
    return prompt;
}

bool MainWindow::isKnownAnswer(const QString& answer) const {
    // A byte-level model can say any text; a word-level one only its words.
    if (m_model.openVocabulary || m_model.entities.isEmpty())
        return true;
    return m_model.entities.contains(answer.trimmed());
}

// ---- interventions --------------------------------------------------------

void MainWindow::selectNeuronFromHeatmap(int layer, int neuron) {
    const AttributionData grid = m_doc->attribution();
    m_doc->selectNeuron(layer, neuron, StudioDocument::factLabel(grid.prompt, grid.target));
}

// ---- edit memory ------------------------------------------------------------

QString MainWindow::addEditFromPrompt(const QString& answer) {
    m_doc->setPrompt(m_console->prompt());
    QString error;
    const QString id = m_doc->addEdit(m_doc->prompt(), answer, &error);
    if (id.isEmpty() && isVisible())
        showStatusMessage(tr("Edit not added: %1").arg(error));
    return id;
}

void MainWindow::deleteEdits(const QStringList& ids) {
    m_doc->deleteEdits(ids);
}

void MainWindow::onEditChangedInTable(const QString& id, const EditRow& now, const EditRow&) {
    const scalpel::Edit* old = m_doc->editMemory().find(id.toStdString());
    if (!old)
        return;
    scalpel::Edit after = *old;
    after.prompt = now.prompt.trimmed().toStdString();
    after.answer = now.answer.trimmed().toStdString();
    after.enabled = now.enabled;
    QString refusal;
    if (after.prompt.empty() || after.answer.empty())
        refusal = tr("An edit needs a prompt and an answer.");
    else if (after.answer != old->answer && !isKnownAnswer(now.answer))
        refusal = tr("The model does not know the word “%1”, so it cannot answer it. "
                     "Pick one of the words it knows (Edit ▸ Make the answer… completes them).")
                      .arg(now.answer.trimmed());
    if (!refusal.isEmpty()) {
        // The table already shows the new text: put the old edit back.
        m_editView->model()->updateEdit(toRow(*old));
        showStatusMessage(refusal);
        if (isVisible()) {
            auto* box = new QMessageBox(QMessageBox::Warning, tr("Edit not changed"), refusal,
                                        QMessageBox::Ok, this);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        return;
    }
    if (!m_doc->modifyEdit(after))
        m_editView->model()->updateEdit(toRow(*old));
}

bool MainWindow::importEdits(const QString& path, QString* error,
                             StudioDocument::Duplicates duplicates) {
    try {
        // Any edit set: Scalpel's file, CounterFact, zsRE, MQuAKE or KnowEdit.
        const scalpel::EditMemory loaded = scalpel::importEditsFile(path.toStdString()).memory;
        m_doc->importEdits(loaded, duplicates);
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

bool MainWindow::exportEdits(const QString& path, QString* error) {
    try {
        m_doc->editMemory().save(path.toStdString());
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

// ---- weights ------------------------------------------------------------------

void MainWindow::updateFact(const QString& newObject) {
    WeightOp op;
    op.kind = WeightOp::Kind::UpdateFact;
    op.neurons = m_doc->neurons();
    op.oldObject = currentAnswer();
    op.newObject = newObject.trimmed();
    // A gated MLP's neuron may carry the fact while negative: the prompt
    // gives each neuron's sign (WeightEditor::updateFact).
    op.prompt = m_doc->prompt();
    op.description = tr("Update fact: %1 → %2").arg(op.oldObject, op.newObject);
    if (op.neurons.isEmpty() || op.oldObject.isEmpty() || op.newObject.isEmpty())
        return;
    m_doc->changeWeights(op);
}

void MainWindow::eraseRelation() {
    WeightOp op;
    op.kind = WeightOp::Kind::EraseRelation;
    op.neurons = m_doc->neurons();
    op.description = tr("Erase relation (%n neuron(s))", nullptr, op.neurons.size());
    if (op.neurons.isEmpty())
        return;
    m_doc->changeWeights(op);
}

void MainWindow::revertWeights() {
    if (!m_doc->revertWeights())
        showStatusMessage(tr("The weights are those of the model folder already"));
}

// ---- dialogs ------------------------------------------------------------------

void MainWindow::askOpenModel() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open a model folder (Hugging Face layout)"), m_model.path);
    if (!dir.isEmpty())
        openModelFolder(dir);
}

void MainWindow::askMakeAnswer() {
    m_doc->setPrompt(m_console->prompt());
    const QString prompt = promptOrComplain(tr("Make the answer"));
    if (prompt.isEmpty())
        return;
    AnswerDialog dialog(AnswerDialog::Mode::Answer, tr("Make the answer…"),
                        tr("When asked “%1”, the edited model should answer:").arg(prompt),
                        knownAnswers(), this);
    if (dialog.exec() == QDialog::Accepted)
        addEditFromPrompt(dialog.answer());
}

void MainWindow::askUpdateFact() {
    if (m_doc->neurons().isEmpty()) {
        QMessageBox::information(this, tr("Update fact"),
                                 tr("Select the fact's knowledge neurons first: refine them, or "
                                    "click neurons in the heatmap."));
        return;
    }
    const QString old = currentAnswer();
    const int count = m_doc->neurons().size();
    AnswerDialog dialog(AnswerDialog::Mode::AnswerWithPreview, tr("Update fact…"),
                        tr("Rewrite the value slots of %n neuron(s) so that “%1” answers the new "
                           "object instead of %2:",
                           nullptr, count)
                            .arg(m_doc->prompt().trimmed(), old),
                        knownAnswers(), this);
    m_previewDialog = &dialog;
    connect(&dialog, &AnswerDialog::previewRequested, this, [this, old](const QString& answer) {
        WeightOp op;
        op.kind = WeightOp::Kind::Preview;
        op.neurons = m_doc->neurons();
        op.oldObject = old;
        op.newObject = answer;
        op.prompt = m_doc->prompt();
        requestPreview(op);
    });
    const int result = dialog.exec();
    m_previewDialog = nullptr;
    if (result == QDialog::Accepted)
        updateFact(dialog.answer());
}

void MainWindow::askEraseRelation() {
    if (m_doc->neurons().isEmpty()) {
        QMessageBox::information(this, tr("Erase relation"),
                                 tr("Select the relation's knowledge neurons first."));
        return;
    }
    AnswerDialog dialog(AnswerDialog::Mode::ConfirmWithPreview, tr("Erase relation…"),
                        tr("Zero the value slots of %n neuron(s)? Undo restores them exactly.",
                           nullptr, m_doc->neurons().size()),
                        {}, this);
    m_previewDialog = &dialog;
    connect(&dialog, &AnswerDialog::previewRequested, this, [this] {
        WeightOp op;
        op.kind = WeightOp::Kind::Preview;
        op.erase = true;
        op.neurons = m_doc->neurons();
        op.prompt = m_doc->prompt();
        requestPreview(op);
    });
    Q_EMIT dialog.previewRequested({});
    const int result = dialog.exec();
    m_previewDialog = nullptr;
    if (result == QDialog::Accepted)
        eraseRelation();
}

void MainWindow::askImportEdits() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Import edits"), {},
                                     tr("Edit sets: Scalpel, CounterFact, zsRE, MQuAKE, "
                                        "KnowEdit (*.json)"));
    if (!path.isEmpty())
        importEditsInBackground(path);
}

void MainWindow::askExportEdits() {
    // One filter per format, in allEditFormats() order.
    const QStringList filters = {tr("Scalpel edit memory (*.json)"), tr("CounterFact (*.json)"),
                                 tr("zsRE, MEND split (*.json)"), tr("MQuAKE (*.json)"),
                                 tr("KnowEdit (*.json)")};
    QString chosen = filters.front();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export edits"), defaultSessionDir() + QStringLiteral("/edits.json"),
        filters.join(QStringLiteral(";;")), &chosen);
    if (path.isEmpty())
        return;
    const auto format = scalpel::allEditFormats().at(
        static_cast<std::size_t>(std::max<qsizetype>(0, filters.indexOf(chosen))));
    try {
        const scalpel::EditExportResult out = scalpel::exportEdits(m_doc->editMemory(), format);
        scalpel::writeFileAtomically(path.toStdString(), out.text);
        showStatusMessage(out.droppedTotal() == 0
                              ? tr("Exported %1").arg(path)
                              : tr("Exported %1 (%n value(s) the format cannot hold left out)",
                                   nullptr, static_cast<int>(out.droppedTotal()))
                                    .arg(path));
    } catch (const std::exception& e) {
        QMessageBox::critical(this, tr("Export failed"), QString::fromUtf8(e.what()));
    }
}

void MainWindow::askExportHeatmap(const QString& format) {
    if (m_doc->attribution().isEmpty()) {
        QMessageBox::information(this, tr("Export heatmap"),
                                 tr("Run an attribution first (Analysis ▸ Attribute the answer)."));
        return;
    }
    askExportFigure(tr("Export heatmap"), QStringLiteral("attribution"), format,
                    [this, format](const QString& path) {
                        return format == QLatin1String("png")   ? m_heatmap->exportPng(path)
                               : format == QLatin1String("pdf") ? m_heatmap->exportPdf(path)
                                                                : m_heatmap->exportCsv(path);
                    });
}

void MainWindow::askExportFigure(const QString& title, const QString& baseName,
                                 const QString& format,
                                 const std::function<bool(const QString&)>& write) {
    const QString path = QFileDialog::getSaveFileName(
        this, title, defaultSessionDir() + QStringLiteral("/%1.%2").arg(baseName, format),
        QStringLiteral("%1 (*.%2)").arg(format.toUpper(), format));
    if (path.isEmpty())
        return;
    if (!write(path))
        QMessageBox::critical(this, tr("Export failed"), tr("Could not write %1.").arg(path));
    else
        showStatusMessage(tr("Exported %1").arg(path));
}
