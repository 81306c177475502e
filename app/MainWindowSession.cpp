// Sessions: capture and apply the whole studio state, save and open session
// files, autosave, crash recovery, and the scripted demonstration.
#include "MainWindow.h"

#include "AttributionHeatmap.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "ModelWorker.h"
#include "NeuronPanel.h"
#include "PromptConsole.h"
#include "RefinePanel.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QStandardPaths>
#include <QUndoStack>

SessionState MainWindow::captureSession() const {
    SessionState s;
    s.modelPath = m_model.path;
    s.prompt = m_console->prompt();
    s.history = m_console->history();
    s.editsJson = QByteArray::fromStdString(m_memory.toJson());
    s.weightChanges = m_appliedWeightOps;
    s.neurons = m_neuronPanel->neurons();
    s.neuronLabels = m_neuronLabels;
    s.scales = m_scales;
    s.refinePrompts = m_refinePanel->prompts();
    s.refineTarget = m_refinePanel->target();
    s.refineShare = m_refinePanel->share();
    s.refineThreshold = m_refinePanel->threshold();
    s.refineSteps = m_refinePanel->steps();
    s.refined = m_refinePanel->result();
    s.attribution = m_attribution;
    s.heatmapThreshold = m_heatmap->threshold();
    return s;
}

bool MainWindow::saveSession(const QString& path, QString* error) {
    return Session::save(path, captureSession(), error);
}

bool MainWindow::openSession(const QString& path, QString* error) {
    SessionState s;
    if (!Session::load(path, &s, error))
        return false;
    try {
        // Parse the edit memory before touching anything, so a bad file
        // leaves the studio as it was.
        if (!s.editsJson.isEmpty())
            scalpel::EditMemory::fromJson(s.editsJson.toStdString(), path.toStdString());
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
    if (!s.modelPath.isEmpty() && QFileInfo(s.modelPath) != QFileInfo(m_model.path) &&
        QFileInfo::exists(s.modelPath)) {
        // The session belongs to another model: load it, then apply.
        m_pendingSession = s;
        m_hasPendingSession = true;
        openModelFolder(s.modelPath);
        return true;
    }
    applySession(s);
    return true;
}

void MainWindow::applySession(const SessionState& s) {
    m_undo->clear();
    // Weights: back to the model as loaded, then the session's changes in
    // their order.
    WeightOp reset;
    reset.kind = WeightOp::Kind::RestoreAll;
    ++m_pendingWeightOps;
    m_worker->post(RequestKind::WeightOp, QVariant::fromValue(reset));
    m_appliedWeightOps.clear();
    for (WeightOp op : s.weightChanges) {
        op.token = nextWeightToken();
        applyWeightChange(op);
    }

    std::vector<scalpel::Edit> edits;
    if (!s.editsJson.isEmpty())
        edits = scalpel::EditMemory::fromJson(s.editsJson.toStdString(), "session").edits();
    replaceAllEdits(edits);

    m_refinePanel->setPrompts(s.refinePrompts, s.refineTarget);
    m_refinePanel->setShare(s.refineShare);
    m_refinePanel->setThreshold(s.refineThreshold);
    m_refinePanel->setSteps(s.refineSteps);
    m_refinePanel->setResult(s.refined);
    m_factKey.clear();

    showAttribution(s.attribution);
    m_heatmap->setThreshold(s.heatmapThreshold);
    QVector<NeuronRef> knowledge;
    for (const auto& n : s.refined)
        knowledge.push_back({n.layer, n.neuron});
    m_heatmap->setKnowledgeNeurons(knowledge);

    applyNeuronSet(s.neurons, s.neuronLabels, s.scales);
    m_console->setHistory(s.history);
    m_console->setPrompt(s.prompt);
    requestPrediction();
    m_undo->clear();
    m_undo->setClean();
    Q_EMIT sessionRestored();
}

void MainWindow::askOpenSession() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open session"), {},
                                                      tr("Scalpel session (*.scalpel *.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!openSession(path, &error))
        QMessageBox::warning(this, tr("Session not opened"), error);
}

void MainWindow::askSaveSession() {
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.scalpel"),
                                     tr("Scalpel session (*.scalpel *.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!saveSession(path, &error))
        QMessageBox::critical(this, tr("Session not saved"),
                              tr("%1\n\nNothing was lost: the studio still holds the session; "
                                 "save it somewhere else.")
                                  .arg(error));
}

QString MainWindow::autosavePath() const {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/autosave.scalpel");
}

QString MainWindow::markerPath() const {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/running.marker");
}

bool MainWindow::recoveryAvailable() const {
    return QFile::exists(markerPath()) && QFile::exists(autosavePath());
}

void MainWindow::autosave() {
    if (!m_dirty || !m_modelReady)
        return;
    QDir().mkpath(QFileInfo(autosavePath()).absolutePath());
    QString error;
    if (Session::save(autosavePath(), captureSession(), &error))
        m_dirty = false;
    // A failed autosave retries on the next tick; the state is still here.
}

void MainWindow::offerRecovery() {
    const QFileInfo info(autosavePath());
    const auto answer = QMessageBox::question(
        this, tr("Restore the last session?"),
        tr("Scalpel did not close properly last time. Restore the session autosaved at %1?")
            .arg(QLocale().toString(info.lastModified(), QLocale::ShortFormat)));
    if (answer != QMessageBox::Yes)
        return;
    QString error;
    if (!openSession(autosavePath(), &error))
        QMessageBox::warning(this, tr("Session not restored"), error);
}

void MainWindow::runDemoStep() {
    switch (m_demoStage) {
    case 0:
        if (!m_lastPrediction.factPrompts.isEmpty()) {
            m_demoStage = 1;
            runRefine();
        }
        break;
    case 1:
        if (!m_neuronPanel->neurons().isEmpty()) {
            m_demoStage = 2;
            if (m_model.seracAvailable && knownAnswers().contains(QStringLiteral("Lisbon")))
                addEditFromPrompt(QStringLiteral("Lisbon"));
            QVector<NeuronScale> suppressed;
            for (const auto& n : m_neuronPanel->neurons())
                suppressed.push_back({n.layer, n.neuron, 0.0});
            m_demoStage = 3;
            m_undo->push(new ScalesCommand(this, m_scales, suppressed, 0));
        }
        break;
    default:
        break;
    }
}
