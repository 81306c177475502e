// Curating the edit memory: the selected edit's test card (its paraphrases
// and neighbours run through the base model and the edit memory), adding
// test prompts to an edit or having the fact world propose them, and the
// whole-memory check (Edit > Check the edit memory).
#include "MainWindow.h"

#include "CurationJobs.h"
#include "EditCardView.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "MemoryCheckView.h"
#include "ModelWorker.h"
#include "ProgressStrip.h"
#include "StudioDocument.h"

#include <QAction>
#include <QDockWidget>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QTableView>

namespace {

const QString kCardTag = QStringLiteral("edit-card");
const QString kCheckTag = QStringLiteral("check-memory");
const QString kProposeTag = QStringLiteral("propose-tests");

} // namespace

void MainWindow::buildCurationDocks() {
    m_cardView = new EditCardView(this);
    m_cardView->setObjectName(QStringLiteral("editCardView"));
    m_checkView = new MemoryCheckView(this);
    m_checkView->setObjectName(QStringLiteral("memoryCheckView"));
    auto* card = addDock(tr("Edit card"), QStringLiteral("editCardDock"), m_cardView,
                         Qt::LeftDockWidgetArea);
    auto* check = addDock(tr("Memory check"), QStringLiteral("memoryCheckDock"), m_checkView,
                          Qt::LeftDockWidgetArea);
    if (auto* edits = findChild<QDockWidget*>(QStringLiteral("editMemoryDock"))) {
        splitDockWidget(edits, card, Qt::Vertical);
        tabifyDockWidget(card, check);
        card->raise();
        // The card lists a prompt per row: it needs more room than an
        // empty table.
        if (auto* predictions = findChild<QDockWidget*>(QStringLiteral("predictionsDock")))
            resizeDocks({predictions, edits, card}, {300, 230, 320}, Qt::Vertical);
    }
    for (QAction* a : menuBar()->actions()) {
        if (a->menu() && a->text() == tr("&Edit")) {
            a->menu()->addSeparator();
            a->menu()->addAction(tr("&Check the edit memory"), this, &MainWindow::runMemoryCheck);
            a->menu()->addAction(tr("&Test every edit's card"), this, &MainWindow::runEditCards);
        }
        if (a->menu() && a->text() == tr("&View")) {
            QAction* first = a->menu()->actions().value(0);
            a->menu()->insertAction(first, card->toggleViewAction());
            a->menu()->insertAction(first, check->toggleViewAction());
        }
    }

    connect(m_editView->tableView()->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::refreshEditCard);
    // Queued: the memory or weight change reaches the worker before the card
    // that reads it is asked for.
    connect(m_doc, &StudioDocument::editsChanged, this, &MainWindow::refreshEditCard,
            Qt::QueuedConnection);
    // Base answers change with the weights and the model: every card is
    // stale, and the one shown runs again.
    whenWeightsOrModelChange([this] {
        m_editView->model()->clearCardSummaries();
        refreshEditCard();
    });
    connect(m_cardView, &EditCardView::addParaphraseRequested, this, [this](const QString& id) {
        bool ok = false;
        const QString p = QInputDialog::getText(this, tr("Add paraphrase"),
                                                tr("A prompt that should take this edit's answer:"),
                                                QLineEdit::Normal, QString(), &ok);
        if (ok && !p.trimmed().isEmpty())
            addEditTests(id, {p.trimmed()}, {});
    });
    connect(m_cardView, &EditCardView::addNeighbourRequested, this, [this](const QString& id) {
        bool ok = false;
        const QString p = QInputDialog::getText(
            this, tr("Add neighbour"), tr("A prompt whose answer this edit must not change:"),
            QLineEdit::Normal, QString(), &ok);
        if (ok && !p.trimmed().isEmpty())
            addEditTests(id, {}, {p.trimmed()});
    });
    connect(m_cardView, &EditCardView::proposeRequested, this, &MainWindow::proposeEditTests);
    connect(m_checkView, &MemoryCheckView::editActivated, this, [this](const QString& id) {
        if (!m_editView->selectEdit(id))
            showStatusMessage(tr("Edit %1 is not in the table (deleted, or filtered out)").arg(id));
    });
}

void MainWindow::refreshEditCard() {
    const QStringList ids = m_editView->selectedIds();
    if (ids.size() != 1) {
        m_cardView->clear(ids.isEmpty() ? QString()
                                        : tr("%n edits selected: select one to see its card.",
                                             nullptr, ids.size()));
        return;
    }
    showEditCard(ids.front());
}

void MainWindow::showCardSummary(const EditCardData& card) {
    m_editView->model()->setCardSummary(card.editId, card.paraphrases, card.paraphrasesPassed,
                                        card.neighbours, card.neighboursKept);
}

void MainWindow::showEditCard(const QString& id) {
    if (!m_modelReady)
        return;
    EditCardRequest req;
    req.editId = id;
    m_worker->invoke(
        {kCardTag, JobClass::Quick},
        [req](WorkerEngine& e, JobContext&) { return jobs::editCard(e, req); },
        [this](const EditCardResult& r) {
            if (!r.error.isEmpty()) {
                m_cardView->clear(tr("No card: %1").arg(r.error));
            } else {
                m_cardView->setCard(r.card);
                showCardSummary(r.card);
            }
            Q_EMIT editCardShown();
        });
}

bool MainWindow::addEditTests(const QString& id, const QStringList& paraphrases,
                              const QStringList& neighbours) {
    const scalpel::Edit* old = m_doc->editMemory().find(id.toStdString());
    if (!old)
        return false;
    scalpel::Edit now = *old;
    for (const QString& p : paraphrases)
        now.descriptor.paraphrases.push_back(p.toStdString());
    for (const QString& n : neighbours)
        now.descriptor.neighbourhood.push_back({n.toStdString(), {}, {}});
    return m_doc->modifyEdit(now);
}

void MainWindow::proposeEditTests(const QString& id) {
    if (!m_modelReady)
        return;
    ProposeRequest req;
    req.editId = id;
    m_worker->invoke(
        {kProposeTag, JobClass::Quick},
        [req](WorkerEngine& e, JobContext&) { return jobs::propose(e, req); },
        [this, id](const ProposeResult& r) {
            if (!r.error.isEmpty()) {
                showStatusMessage(tr("Nothing to propose: %1").arg(r.error));
            } else if (r.paraphrases.isEmpty() && r.neighbours.isEmpty()) {
                showStatusMessage(
                    tr("Edit %1 already has every prompt the fact world proposes").arg(id));
            } else {
                addEditTests(id, r.paraphrases, r.neighbours);
                showStatusMessage(tr("Added %1 paraphrase(s) and %2 neighbour(s) to edit %3")
                                      .arg(r.paraphrases.size())
                                      .arg(r.neighbours.size())
                                      .arg(id));
            }
            Q_EMIT testsProposed(r.error);
        });
}

void MainWindow::runMemoryCheck() {
    if (!m_modelReady)
        return;
    m_progress->startJob(tr("Checking the edit memory"));
    m_worker->invoke(
        {kCheckTag, JobClass::Long, tr("Checking the edit memory"), /*cancellable=*/true},
        [](WorkerEngine& e, JobContext& c) { return jobs::checkMemory(e, c); },
        [this](const MemoryCheckResult& r) {
            if (r.cancelled)
                return;
            if (!r.error.isEmpty()) {
                m_progress->finishJob(tr("Check failed: %1").arg(r.error));
                return;
            }
            m_checkView->setCheck(r.check);
            if (auto* dock = findChild<QDockWidget*>(QStringLiteral("memoryCheckDock"))) {
                dock->show();
                dock->raise();
            }
            Q_EMIT memoryChecked();
        });
}

void MainWindow::runEditCards() {
    if (!m_modelReady)
        return;
    m_progress->startJob(tr("Testing every edit"));
    m_worker->invoke(
        {QStringLiteral("edit-cards"), JobClass::Long, tr("Testing every edit"),
         /*cancellable=*/true},
        [](WorkerEngine& e, JobContext& c) { return jobs::editCards(e, c); },
        [this](const EditCardsResult& r) {
            if (r.cancelled)
                return;
            if (!r.error.isEmpty()) {
                m_progress->finishJob(tr("Testing failed: %1").arg(r.error));
                return;
            }
            for (const EditCardData& card : r.cards)
                showCardSummary(card);
            Q_EMIT editCardsTested();
        });
}

void MainWindow::importEditsInBackground(const QString& path,
                                         std::optional<StudioDocument::Duplicates> duplicates) {
    ImportEditsRequest req;
    req.path = path;
    m_progress->startJob(tr("Importing edits"));
    m_worker->invoke(
        {QStringLiteral("import-edits"), JobClass::Long, tr("Importing edits"),
         /*cancellable=*/true},
        [req](WorkerEngine& e, JobContext& c) { return jobs::importEdits(e, req, c); },
        [this, duplicates](const ImportEditsResult& r) {
            if (r.cancelled) {
                Q_EMIT editsImported(tr("cancelled"), 0);
                return;
            }
            if (!r.error.isEmpty()) {
                if (!duplicates) // asked from the menu: say why
                    QMessageBox::warning(this, tr("Import failed"), r.error);
                Q_EMIT editsImported(r.error, 0);
                return;
            }
            StudioDocument::Duplicates policy =
                duplicates.value_or(StudioDocument::Duplicates::KeepBoth);
            const int clashes = m_doc->countDuplicates(*r.memory);
            if (!duplicates && clashes > 0) {
                QMessageBox box(QMessageBox::Question, tr("Import edits"),
                                tr("%n edit(s) in this file have the prompt of an edit already "
                                   "in the memory.",
                                   nullptr, clashes),
                                QMessageBox::NoButton, this);
                auto* skip = box.addButton(tr("Skip them"), QMessageBox::AcceptRole);
                auto* replace = box.addButton(tr("Replace the old ones"), QMessageBox::AcceptRole);
                auto* both = box.addButton(tr("Keep both"), QMessageBox::AcceptRole);
                box.addButton(QMessageBox::Cancel);
                box.setDefaultButton(skip);
                box.exec();
                if (box.clickedButton() == skip)
                    policy = StudioDocument::Duplicates::Skip;
                else if (box.clickedButton() == replace)
                    policy = StudioDocument::Duplicates::Replace;
                else if (box.clickedButton() != both) {
                    Q_EMIT editsImported(tr("cancelled"), 0);
                    return;
                }
            }
            const int before = static_cast<int>(m_doc->editMemory().size());
            m_doc->importEdits(*r.memory, policy);
            const int added = static_cast<int>(m_doc->editMemory().size()) - before;
            showStatusMessage(tr("Imported %1 (%2, %n record(s))", nullptr, r.records)
                                  .arg(r.memory->size() == 1 ? tr("1 edit")
                                                             : tr("%1 edits").arg(r.memory->size()),
                                       r.format));
            Q_EMIT editsImported({}, added);
        });
}
