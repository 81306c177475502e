#pragma once
// Asks for an answer word ("make the answer …", "update fact to …") with a
// completer of the words the model knows, and can show a before/after top-k
// preview that its owner fills in. In erase mode there is no word to ask for,
// only the preview and a confirmation.
#include "WidgetTypes.h"
#include "WorkerTypes.h"

#include <QDialog>
#include <QStringList>
#include <QVector>

class PredictionView;
class QLabel;
class QLineEdit;
class QPushButton;

class AnswerDialog : public QDialog {
    Q_OBJECT

public:
    enum class Mode { Answer, AnswerWithPreview, ConfirmWithPreview };

    AnswerDialog(Mode mode, const QString& title, const QString& question,
                 const QStringList& knownAnswers, QWidget* parent = nullptr);

    QString answer() const;
    void setAnswer(const QString& text);
    // `others`: the top answer of other facts before and after, so the
    // preview shows what else the change moves.
    void setPreview(const QVector<PredictionRow>& before, const QVector<PredictionRow>& after,
                    const QString& error, const QVector<PreviewLine>& others = {});
    QLineEdit* answerEdit() const { return m_edit; }

Q_SIGNALS:
    // The owner computes the preview and calls setPreview().
    void previewRequested(const QString& answer);

private:
    void updateButtons();

    Mode m_mode;
    QLineEdit* m_edit = nullptr;
    QLabel* m_warning = nullptr;
    QPushButton* m_okButton = nullptr;
    QPushButton* m_previewButton = nullptr;
    PredictionView* m_preview = nullptr;
    class QTableWidget* m_others = nullptr;
    QStringList m_known;
};
