// Sessions: save and open session files, autosave, crash recovery, and the
// scripted demonstration. What a session holds is the document's.
#include "MainWindow.h"

#include "EditMemoryView.h"
#include "NeuronPanel.h"
#include "PromptConsole.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QStandardPaths>
#include <QStatusBar>
#include <QUndoStack>

SessionState MainWindow::captureSession() const {
    return m_doc->toSession(m_model.path);
}

bool MainWindow::saveSession(const QString& path, QString* error) {
    if (!Session::save(path, captureSession(), error))
        return false;
    m_sessionPath = path;
    m_doc->markSaved();
    updateWindowTitle();
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 5000);
    Q_EMIT sessionSaved(path);
    return true;
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
    if (path != autosavePath())
        m_sessionPath = path;
    const bool otherModel = !s.modelPath.isEmpty() && QFileInfo::exists(s.modelPath) &&
                            QFileInfo(s.modelPath) != QFileInfo(m_requestedModel);
    if (otherModel || !m_modelReady || m_loading) {
        // Applied once the model it belongs to is loaded: a session's neurons
        // and weight changes mean nothing on another model.
        m_pendingSession = s;
        m_hasPendingSession = true;
        if (otherModel)
            loadModel(s.modelPath);
        return true;
    }
    return m_doc->restore(s, error);
}

void MainWindow::askOpenSession() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open session"), defaultSessionDir(),
                                                      tr("Scalpel session (*.scalpel *.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!openSession(path, &error))
        QMessageBox::warning(this, tr("Session not opened"), error);
    updateWindowTitle();
}

void MainWindow::askSaveSession() {
    if (m_sessionPath.isEmpty()) {
        askSaveSessionAs();
        return;
    }
    QString error;
    if (!saveSession(m_sessionPath, &error))
        QMessageBox::critical(this, tr("Session not saved"),
                              tr("%1\n\nNothing was lost: the studio still holds the session; "
                                 "save it somewhere else.")
                                  .arg(error));
}

void MainWindow::askSaveSessionAs() {
    const QString proposed = m_sessionPath.isEmpty()
                                 ? defaultSessionDir() + QStringLiteral("/session.scalpel")
                                 : m_sessionPath;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save session"), proposed,
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

QString MainWindow::defaultSessionDir() const {
    const QString docs = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    return docs.isEmpty() ? QDir::homePath() : docs;
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
    // While "Restore the last session?" waits for its answer the autosave is
    // the last session; writing this one's state over it would lose it.
    if (m_recoveryPending || !m_dirty || !m_modelReady || m_hasPendingSession)
        return;
    QDir().mkpath(QFileInfo(autosavePath()).absolutePath());
    QString error;
    if (Session::save(autosavePath(), captureSession(), &error))
        m_dirty = false;
    // A failed autosave retries on the next tick; the state is still here.
}

void MainWindow::offerRecovery() {
    const QFileInfo info(autosavePath());
    m_recoveryBox = new QMessageBox(
        QMessageBox::Question, tr("Restore the last session?"),
        tr("Scalpel did not close properly last time. Restore the session autosaved at %1?")
            .arg(QLocale().toString(info.lastModified(), QLocale::ShortFormat)),
        QMessageBox::Yes | QMessageBox::No, this);
    m_recoveryBox->setAttribute(Qt::WA_DeleteOnClose);
    m_recoveryBox->setDefaultButton(QMessageBox::Yes);
    connect(m_recoveryBox, &QMessageBox::finished, this,
            [this](int result) { onRecoveryAnswered(result == QMessageBox::Yes); });
    m_recoveryBox->open();
}

void MainWindow::onRecoveryAnswered(bool restore) {
    m_recoveryBox = nullptr;
    if (restore) {
        QString error;
        if (!openSession(autosavePath(), &error))
            QMessageBox::warning(this, tr("Session not restored"), error);
    }
    // From here on the autosave is this session's again.
    m_recoveryPending = false;
    m_dirty = true;
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
        if (!m_doc->neurons().isEmpty()) {
            m_demoStage = 2;
            if (m_model.seracAvailable && knownAnswers().contains(QStringLiteral("Lisbon"))) {
                // Selected, so its test card shows too.
                const QString id = addEditFromPrompt(QStringLiteral("Lisbon"));
                if (!id.isEmpty())
                    m_editView->selectEdit(id);
            }
            QVector<NeuronScale> suppressed;
            for (const auto& n : m_doc->neurons())
                suppressed.push_back({n.layer, n.neuron, 0.0});
            m_demoStage = 3;
            m_doc->changeScales(suppressed, 0);
        }
        break;
    default:
        break;
    }
}
