#pragma once

#include <QStringList>
#include <QWidget>

class EditMemoryModel;
class EditMemoryProxyModel;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class ScopeBarDelegate;

// The edit-memory table with a filter line and Add / Delete / Import / Export
// buttons. The buttons only ask: the owner of the edit memory does the work
// (and records it for undo), then updates model().
class EditMemoryView : public QWidget {
    Q_OBJECT

public:
    explicit EditMemoryView(QWidget* parent = nullptr);

    EditMemoryModel* model() const { return m_model; }
    EditMemoryProxyModel* proxyModel() const { return m_proxy; }
    QTableView* tableView() const { return m_table; }
    QLineEdit* filterEdit() const { return m_filter; }
    ScopeBarDelegate* scopeDelegate() const { return m_delegate; }

    // A line under the table about how the scope column is scored (a large
    // memory's index being built); empty hides it.
    void setScopeSearchNote(const QString& note);
    QString scopeSearchNote() const;

    // Ids of the selected edits, in table order.
    QStringList selectedIds() const;
    // Selects the edit and scrolls it into view; false when the id is unknown
    // or filtered out.
    bool selectEdit(const QString& id);

Q_SIGNALS:
    void addRequested();
    void deleteRequested(const QStringList& ids);
    void importRequested();
    void exportRequested();

private:
    void requestDelete();
    void updateButtons();

    EditMemoryModel* m_model = nullptr;
    EditMemoryProxyModel* m_proxy = nullptr;
    ScopeBarDelegate* m_delegate = nullptr;
    QTableView* m_table = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_busy = nullptr;
    QLabel* m_scopeNote = nullptr;
    QPushButton* m_addButton = nullptr;
    QPushButton* m_deleteButton = nullptr;
    QPushButton* m_importButton = nullptr;
    QPushButton* m_exportButton = nullptr;
};
