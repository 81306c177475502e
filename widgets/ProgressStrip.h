#pragma once

#include <QString>
#include <QWidget>

class QLabel;
class QProgressBar;
class QTimer;
class QToolButton;

// A status-bar strip for one long job at a time: its name, a progress bar, a
// detail line and a Cancel button. Idle, it shows only the last job's closing
// message, which fades after a while.
class ProgressStrip : public QWidget {
    Q_OBJECT

public:
    static constexpr int kDefaultMessageTimeoutMs = 8000;

    explicit ProgressStrip(QWidget* parent = nullptr);

    // A job that cannot be cancelled shows no Cancel button.
    void startJob(const QString& name, bool cancellable = true);
    // `fraction` in 0..1; a negative fraction shows a busy bar of unknown length.
    void setProgress(double fraction, const QString& detail = {});
    void finishJob(const QString& message = {});

    bool isBusy() const { return m_busy; }
    QString jobName() const { return m_jobName; }
    // The last fraction given, clamped to 0..1; -1 while unknown.
    double progress() const { return m_progress; }
    QString detail() const;
    // How long the closing message stays before it clears.
    int messageTimeoutMs() const;
    void setMessageTimeoutMs(int timeoutMs);
    QString message() const;

    QToolButton* cancelButton() const { return m_cancelButton; }
    QProgressBar* progressBar() const { return m_bar; }

Q_SIGNALS:
    void cancelRequested();

private:
    QLabel* m_nameLabel = nullptr;
    QProgressBar* m_bar = nullptr;
    QLabel* m_detailLabel = nullptr;
    QToolButton* m_cancelButton = nullptr;
    QTimer* m_messageTimer = nullptr;
    QString m_jobName;
    double m_progress = 0;
    bool m_busy = false;
};
