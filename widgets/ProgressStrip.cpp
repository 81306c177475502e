#include "ProgressStrip.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QTimer>
#include <QToolButton>

#include <algorithm>
#include <cmath>

namespace {
constexpr int kBarSteps = 1000;
} // namespace

ProgressStrip::ProgressStrip(QWidget* parent) : QWidget(parent) {
    m_nameLabel = new QLabel(this);
    QFont bold = m_nameLabel->font();
    bold.setBold(true);
    m_nameLabel->setFont(bold);
    m_bar = new QProgressBar(this);
    m_bar->setRange(0, kBarSteps);
    m_bar->setTextVisible(true);
    m_bar->setFixedWidth(180);
    m_detailLabel = new QLabel(this);
    m_detailLabel->setObjectName(QStringLiteral("detailLabel"));
    m_detailLabel->setMinimumWidth(120);
    m_cancelButton = new QToolButton(this);
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setText(tr("Cancel"));
    m_cancelButton->setToolTip(tr("Stop the job; the model stays as it was before it started"));
    connect(m_cancelButton, &QToolButton::clicked, this, [this] {
        // One request is enough: the job stops at its next check.
        m_cancelButton->setEnabled(false);
        m_detailLabel->setText(tr("Cancelling…"));
        Q_EMIT cancelRequested();
    });

    m_messageTimer = new QTimer(this);
    m_messageTimer->setSingleShot(true);
    m_messageTimer->setInterval(kDefaultMessageTimeoutMs);
    connect(m_messageTimer, &QTimer::timeout, m_detailLabel, &QLabel::clear);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 0, 4, 0);
    layout->setSpacing(6);
    layout->addWidget(m_nameLabel);
    layout->addWidget(m_bar);
    layout->addWidget(m_detailLabel, 1);
    layout->addWidget(m_cancelButton);

    m_nameLabel->hide();
    m_bar->hide();
    m_cancelButton->hide();
}

void ProgressStrip::startJob(const QString& name, bool cancellable) {
    m_messageTimer->stop();
    m_busy = true;
    m_jobName = name;
    m_progress = 0;
    m_nameLabel->setText(name);
    m_bar->setRange(0, kBarSteps);
    m_bar->setValue(0);
    m_detailLabel->clear();
    m_cancelButton->setEnabled(true);
    m_nameLabel->show();
    m_bar->show();
    m_cancelButton->setVisible(cancellable);
}

void ProgressStrip::setProgress(double fraction, const QString& detail) {
    if (!m_busy)
        return;
    if (fraction < 0 || std::isnan(fraction)) {
        m_progress = -1;
        m_bar->setRange(0, 0);
    } else {
        m_progress = std::min(fraction, 1.0);
        m_bar->setRange(0, kBarSteps);
        m_bar->setValue(int(std::lround(m_progress * kBarSteps)));
    }
    // Keep "Cancelling…" visible once asked: later detail would hide that the
    // request was heard.
    if (m_cancelButton->isEnabled())
        m_detailLabel->setText(detail);
}

void ProgressStrip::finishJob(const QString& message) {
    m_busy = false;
    m_nameLabel->hide();
    m_bar->hide();
    m_cancelButton->hide();
    m_detailLabel->setText(message);
    if (!message.isEmpty())
        m_messageTimer->start();
}

int ProgressStrip::messageTimeoutMs() const {
    return m_messageTimer->interval();
}

void ProgressStrip::setMessageTimeoutMs(int timeoutMs) {
    m_messageTimer->setInterval(qMax(0, timeoutMs));
}

QString ProgressStrip::detail() const {
    return m_busy ? m_detailLabel->text() : QString();
}

QString ProgressStrip::message() const {
    return m_busy ? QString() : m_detailLabel->text();
}
