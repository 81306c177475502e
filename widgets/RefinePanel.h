#pragma once

#include "WidgetTypes.h"

#include <QStringList>
#include <QVector>
#include <QWidget>

class QDoubleSpinBox;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTableWidget;

// Sets up knowledge-neuron refining: several paraphrases of one fact, the
// answer they share, and the thresholds. A neuron survives refining when it is
// a candidate (score >= threshold x max) in at least `share` of the prompts.
// The result table lists the survivors; double-clicking one activates it.
class RefinePanel : public QWidget {
    Q_OBJECT

public:
    static constexpr double kDefaultShare = 0.7;
    static constexpr double kDefaultThreshold = 0.2;
    static constexpr int kDefaultSteps = 20;

    explicit RefinePanel(QWidget* parent = nullptr);

    void setPrompts(const QStringList& prompts, const QString& target);
    // The non-empty prompts, in list order.
    QStringList prompts() const;
    QString target() const;

    double share() const;
    void setShare(double share);
    double threshold() const;
    void setThreshold(double threshold);
    int steps() const;
    void setSteps(int steps);

    // `source` names the fact the neurons were refined on; shown above them.
    void setResult(const QVector<RefinedNeuron>& neurons, const QString& source = {});
    QString resultSource() const { return m_resultSource; }
    QVector<RefinedNeuron> result() const { return m_result; }
    // What the neurons write (their value vectors' top tokens), in the
    // result's Writes column.
    void setNeuronWrites(const NeuronWrites& writes);

    // While a run is in progress the Run button is disabled.
    void setBusy(bool busy);
    bool isBusy() const { return m_busy; }

    QListWidget* promptList() const { return m_promptList; }
    QTableWidget* resultTable() const { return m_resultTable; }

Q_SIGNALS:
    void runRequested(const QStringList& prompts, const QString& target, double share,
                      double threshold, int steps);
    void neuronActivated(int layer, int neuron);
    // The prompts, answer, share, threshold or steps changed (by the user or
    // a setter).
    void setupChanged();

private:
    void addPrompt();
    void removeSelectedPrompts();
    void requestRun();
    void updateButtons();
    void showWrites();

    QListWidget* m_promptList = nullptr;
    QLineEdit* m_targetEdit = nullptr;
    QDoubleSpinBox* m_shareSpin = nullptr;
    QDoubleSpinBox* m_thresholdSpin = nullptr;
    QSpinBox* m_stepsSpin = nullptr;
    QPushButton* m_addButton = nullptr;
    QPushButton* m_removeButton = nullptr;
    QPushButton* m_runButton = nullptr;
    QTableWidget* m_resultTable = nullptr;
    QVector<RefinedNeuron> m_result;
    QString m_resultSource;
    NeuronWrites m_writes;
    class QLabel* m_resultLabel = nullptr;
    bool m_busy = false;
};
