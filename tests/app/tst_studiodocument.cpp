// The studio's document with plain data, no model and no window: edit ids
// come from the document, imports handle duplicates, weight changes and their
// revert, neuron sources, and a session restores everything it saved.
#include "EngineJobs.h"
#include "Intervention.h"
#include "LanguageModel.h"
#include "StudioDocument.h"

#include <QSignalSpy>
#include <QTest>
#include <QUndoStack>

#include <algorithm>
#include <random>
#include <set>

namespace {

scalpel::EditMemory memoryOf(const std::vector<std::pair<std::string, std::string>>& edits) {
    scalpel::EditMemory m;
    for (const auto& [prompt, answer] : edits)
        m.add(prompt, answer);
    return m;
}

} // namespace

class TestStudioDocument : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // The studio's Update fact on a gated MLP (Qwen2 layout) takes its
    // neurons' signs from the fact's prompt, as the engine's own fact update
    // does; without the prompt the signs would all be +1.
    void updateFactOnAGatedModelUsesThePromptsSigns() {
        const std::string dir =
            qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/families/qwen2";
        WorkerEngine engine;
        engine.model = scalpel::LanguageModel::load(dir, "cpu");
        engine.weights = std::make_unique<scalpel::WeightEditor>(engine.model);
        const auto& m = *engine.model;
        QVERIFY(m.config().gatedMlp);
        const int L = m.config().layers;
        const std::string oldObject = m.tokenizer().tokenText(30);
        const std::string newObject = m.tokenizer().tokenText(31);
        WeightOp op;
        op.kind = WeightOp::Kind::UpdateFact;
        op.token = 1;
        for (int i = 0; i < 20; ++i)
            op.neurons.push_back({L - 1, i});
        op.oldObject = QString::fromStdString(oldObject);
        op.newObject = QString::fromStdString(newObject);
        op.prompt = QStringLiteral("w5 w6 w7 w8");
        const auto ids = m.prepare(op.prompt.toStdString()).ids;
        QVERIFY(jobs::weightOp(engine, op).ok);
        const auto viaStudio = m.nextTokenProbs(ids);

        std::vector<scalpel::NeuronId> neurons;
        for (const auto& n : op.neurons)
            neurons.push_back({n.layer, n.neuron});
        auto reference = scalpel::LanguageModel::load(dir, "cpu");
        scalpel::WeightEditor direct(reference);
        direct.updateFact(neurons, oldObject, newObject, {}, {ids});
        QCOMPARE(viaStudio, reference->nextTokenProbs(ids));
        auto unsigned_ = scalpel::LanguageModel::load(dir, "cpu");
        scalpel::WeightEditor plain(unsigned_);
        plain.updateFact(neurons, oldObject, newObject);
        QVERIFY(viaStudio != unsigned_->nextTokenProbs(ids));
    }

    // A masked model (BERT) in the studio's jobs: the load names its mask
    // token (the console's cloze hint), a cloze prompt's mask is a marked
    // chip and the base column is the distribution at the mask, and a prompt
    // without a mask says why nothing is predicted.
    void bertJobsMarkTheMaskAndExplainAMissingOne() {
        struct Context : JobContext {
            bool progress(double, const QString&) override { return true; }
            void serveQuick() override {}
            bool cancelled() const override { return false; }
        } context;
        WorkerEngine engine;
        const ModelLoadResult loaded = jobs::loadModel(
            engine, qEnvironmentVariable("SCALPEL_TEST_DATA") + QStringLiteral("/families/bert"),
            context);
        QVERIFY2(loaded.ok, qPrintable(loaded.error));
        QCOMPARE(loaded.family, QStringLiteral("bert"));
        QCOMPARE(loaded.maskToken, QStringLiteral("[MASK]"));

        PredictRequest req;
        req.prompt = QStringLiteral("w17 w42 w9 [MASK] w60 w11");
        req.topK = 3;
        const PredictResult r = jobs::predict(engine, req);
        QVERIFY2(r.warning.isEmpty(), qPrintable(r.warning));
        QCOMPARE(r.tokens.size(), 8);
        for (int i = 0; i < r.tokens.size(); ++i)
            QCOMPARE(r.tokens[i].mask, i == 4);
        const auto probs =
            engine.model->nextTokenProbs(engine.model->prepare("w17 w42 w9 [MASK] w60 w11").ids);
        QCOMPARE(r.base.size(), 3);
        QCOMPARE(r.base[0].id,
                 static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin()));

        req.prompt = QStringLiteral("w17 w42 w9");
        const PredictResult none = jobs::predict(engine, req);
        QVERIFY2(none.warning.contains(QStringLiteral("no [MASK]")), qPrintable(none.warning));
        QVERIFY(none.base.isEmpty());
        QCOMPARE(none.tokens.size(), 5); // the chips still show what the model reads
    }

    // The worker's copy of the memory follows the document through changes
    // only (what the studio sends after every edit), including when a newer
    // set replaced a queued one, and ends equal to it: same edits, same
    // order, same fields.
    void workerFollowsTheDocumentThroughChanges() {
        StudioDocument doc;
        WorkerEngine engine;
        uint64_t acked = 0;
        std::mt19937_64 rng(11);
        const QString prompts[] = {QStringLiteral("The capital of Ireland is"),
                                   QStringLiteral("The capital of France is"),
                                   QStringLiteral("The currency of Japan is"),
                                   QStringLiteral("The language of Brazil is")};
        int incremental = 0;
        for (int step = 0; step < 300; ++step) {
            const auto& edits = doc.editMemory().edits();
            const int op = edits.size() < 3 ? 0 : static_cast<int>(rng() % 7);
            const QString answer = QStringLiteral("A%1").arg(step);
            if (op == 0 || op == 1) {
                doc.addEdit(prompts[rng() % 4], answer);
            } else if (op == 2) {
                scalpel::Edit e = edits[rng() % edits.size()];
                e.enabled = !e.enabled;
                doc.modifyEdit(e);
            } else if (op == 3) {
                scalpel::Edit e = edits[rng() % edits.size()];
                e.answer = answer.toStdString();
                doc.modifyEdit(e);
            } else if (op == 4) {
                doc.deleteEdits({QString::fromStdString(edits[rng() % edits.size()].id)});
            } else if (op == 5) {
                doc.undoStack()->undo();
            } else {
                doc.undoStack()->redo();
            }
            if (step == 150) // a reset: the journal cannot say, the whole memory goes
                doc.importEdits(memoryOf({{"The capital of Spain is", "Oslo"}}),
                                StudioDocument::Duplicates::KeepBoth);
            // One step in four the set is replaced by the next one before the
            // worker runs it: nothing is confirmed, the next set holds it all.
            if (rng() % 4 == 0)
                continue;
            jobs::EditChanges changes;
            if (jobs::editChangesSince(doc.editMemory(), acked, changes)) {
                QVERIFY(jobs::applyEditChanges(engine, changes));
                ++incremental;
            } else {
                jobs::syncEdits(engine, doc.editMemory());
            }
            acked = doc.editMemory().revision();
            const auto& want = doc.editMemory().edits();
            const auto& got = engine.memory.edits();
            QCOMPARE(got.size(), want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                QCOMPARE(got[i].id, want[i].id);
                QCOMPARE(got[i].prompt, want[i].prompt);
                QCOMPARE(got[i].answer, want[i].answer);
                QCOMPARE(got[i].enabled, want[i].enabled);
            }
        }
        // Most syncs were changes, not copies.
        QVERIFY2(incremental > 150, qPrintable(QString::number(incremental)));
    }

    void editIdsAreFreshAcrossUndoAndRedo() {
        StudioDocument doc;
        QSignalSpy changed(&doc, &StudioDocument::editsChanged);
        const QString a =
            doc.addEdit(QStringLiteral("The capital of Ireland is"), QStringLiteral("Lisbon"));
        const QString b =
            doc.addEdit(QStringLiteral("The capital of France is"), QStringLiteral("Rome"));
        QVERIFY(!a.isEmpty() && !b.isEmpty() && a != b);
        QCOMPARE(changed.count(), 2);
        doc.undoStack()->undo(); // b gone
        const QString c =
            doc.addEdit(QStringLiteral("The capital of Spain is"), QStringLiteral("Oslo"));
        // A new edit never reuses the id of one that an undo took away:
        // redo of b could otherwise clash after more undos.
        QVERIFY(c != a && c != b);
        QCOMPARE(doc.editMemory().size(), std::size_t(2));
        QString error;
        QVERIFY(doc.addEdit(QStringLiteral("  "), QStringLiteral("x"), &error).isEmpty());
        QVERIFY(!error.isEmpty());
    }

    void importSkipsReplacesOrKeepsDuplicates_data() {
        QTest::addColumn<int>("policy");
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("irelandAnswer");
        QTest::newRow("skip") << static_cast<int>(StudioDocument::Duplicates::Skip) << 3
                              << QStringLiteral("Lisbon");
        QTest::newRow("replace") << static_cast<int>(StudioDocument::Duplicates::Replace) << 3
                                 << QStringLiteral("Madrid");
        QTest::newRow("keep both") << static_cast<int>(StudioDocument::Duplicates::KeepBoth) << 4
                                   << QStringLiteral("Lisbon");
    }

    void importSkipsReplacesOrKeepsDuplicates() {
        QFETCH(int, policy);
        QFETCH(int, size);
        QFETCH(QString, irelandAnswer);
        StudioDocument doc;
        doc.importEdits(memoryOf({{"The capital of Ireland is", "Lisbon"},
                                  {"The capital of France is", "Rome"}}),
                        StudioDocument::Duplicates::Skip);
        const auto incoming = memoryOf(
            {{"The capital of Ireland is", "Madrid"}, {"The capital of Spain is", "Oslo"}});
        QCOMPARE(doc.countDuplicates(incoming), 1);
        doc.importEdits(incoming, static_cast<StudioDocument::Duplicates>(policy));
        QCOMPARE(static_cast<int>(doc.editMemory().size()), size);
        QCOMPARE(QString::fromStdString(doc.editMemory().edits().front().answer), irelandAnswer);
        std::set<std::string> ids;
        for (const auto& e : doc.editMemory().edits())
            ids.insert(e.id);
        QCOMPARE(static_cast<int>(ids.size()), size); // ids stay unique
        // One undo step takes the whole import back.
        doc.undoStack()->undo();
        QCOMPARE(doc.editMemory().size(), std::size_t(2));
    }

    void importingTheSameFileTwiceAddsNothing() {
        StudioDocument doc;
        const auto file = memoryOf({{"a b", "c"}, {"d e", "f"}});
        doc.importEdits(file, StudioDocument::Duplicates::Skip);
        const int steps = doc.undoStack()->count();
        doc.importEdits(file, StudioDocument::Duplicates::Skip);
        QCOMPARE(doc.editMemory().size(), std::size_t(2));
        QCOMPARE(doc.undoStack()->count(), steps); // nothing to undo either
    }

    void weightChangesAndTheirRevert() {
        StudioDocument doc;
        QSignalSpy applied(&doc, &StudioDocument::weightChangeApplied);
        QSignalSpy restored(&doc, &StudioDocument::weightChangeRestored);
        QSignalSpy modified(&doc, &StudioDocument::weightsModifiedChanged);
        QVERIFY(!doc.revertWeights());
        for (int i = 0; i < 2; ++i) {
            WeightOp op;
            op.kind = WeightOp::Kind::EraseRelation;
            op.neurons = {{1, i}};
            doc.changeWeights(op);
        }
        QVERIFY(doc.weightsModified());
        QCOMPARE(applied.count(), 2);
        QCOMPARE(modified.count(), 1);
        const int firstToken = doc.weightChanges().front().token;
        QVERIFY(doc.revertWeights());
        QVERIFY(!doc.weightsModified());
        QCOMPARE(restored.last().at(0).toInt(), firstToken);
        doc.undoStack()->undo();
        QCOMPARE(doc.weightChanges().size(), 2);
        QCOMPARE(applied.count(), 4);
        // A change the engine refused is forgotten.
        doc.forgetWeightChange(doc.weightChanges().back().token);
        QCOMPARE(doc.weightChanges().size(), 1);
    }

    void neuronsKeepTheFactTheyCameFrom() {
        StudioDocument doc;
        const QString ireland = StudioDocument::factLabel(
            QStringLiteral("The capital of Ireland is"), QStringLiteral("Dublin"));
        doc.selectRefinedNeurons({{2, 10, 5, 0.5}, {3, 7, 4, 0.25}}, 5, ireland);
        QCOMPARE(doc.neuronSource(), ireland);
        QCOMPARE(doc.neuronLabels().front(), QStringLiteral("in 5/5 prompts"));
        doc.selectNeuron(1, 1, QStringLiteral("“The capital of Brazil is” → Brasília"));
        QCOMPARE(doc.neurons().size(), 3);
        QVERIFY(doc.neuronSource() != ireland); // no longer one fact's
        doc.undoStack()->undo();
        QCOMPARE(doc.neuronSource(), ireland);
    }

    void sessionRoundTripRestoresEverything() {
        StudioDocument doc;
        doc.setPrompt(QStringLiteral("The capital of Ireland is"));
        doc.setHistory({QStringLiteral("The capital of France is")});
        doc.addEdit(doc.prompt(), QStringLiteral("Lisbon"));
        doc.selectRefinedNeurons({{2, 10, 5, 0.5}}, 5, QStringLiteral("Ireland"));
        doc.changeScales({{2, 10, 0.0}}, 0);
        WeightOp op;
        op.kind = WeightOp::Kind::UpdateFact;
        op.neurons = {{2, 10}};
        op.oldObject = QStringLiteral("Dublin");
        op.newObject = QStringLiteral("Lisbon");
        doc.changeWeights(op);
        AttributionData grid;
        grid.layers = 1;
        grid.neurons = 2;
        grid.scores = {0.5f, -0.25f};
        grid.prompt = doc.prompt();
        grid.target = QStringLiteral("Dublin");
        doc.setAttribution(grid);
        doc.setHeatmapThreshold(0.4);
        doc.setRefineSetup({doc.prompt()}, QStringLiteral("Dublin"), 0.6, 0.3, 12);
        doc.setRefineResult({{2, 10, 1, 0.5}}, QStringLiteral("Ireland"));
        QVERIFY(doc.isModified());
        const SessionState saved = doc.toSession(QStringLiteral("/m"));
        SessionState back;
        QVERIFY(Session::fromJson(Session::toJson(saved), &back, nullptr));

        StudioDocument other;
        QSignalSpy reset(&other, &StudioDocument::weightsReset);
        QString error;
        QVERIFY2(other.restore(back, &error), qPrintable(error));
        QCOMPARE(other.prompt(), doc.prompt());
        QCOMPARE(other.history(), doc.history());
        QCOMPARE(other.editMemory().toJson(), doc.editMemory().toJson());
        QCOMPARE(other.neurons(), doc.neurons());
        QCOMPARE(other.scales(), doc.scales());
        QCOMPARE(other.neuronSource(), doc.neuronSource());
        QCOMPARE(other.attribution().scores, grid.scores);
        QCOMPARE(other.heatmapThreshold(), 0.4);
        QCOMPARE(other.refine().steps, 12);
        QCOMPARE(other.refine().result.size(), 1);
        QCOMPARE(reset.count(), 1);
        QCOMPARE(reset.at(0).at(0).value<QVector<WeightOp>>().size(), 1);
        QCOMPARE(other.undoStack()->count(), 0);
        QVERIFY(!other.isModified());

        // A session whose edit memory does not parse changes nothing.
        SessionState bad = back;
        bad.editsJson = "{not json";
        bad.prompt = QStringLiteral("other");
        QVERIFY(!other.restore(bad, &error));
        QCOMPARE(other.prompt(), doc.prompt());
    }
};

QTEST_GUILESS_MAIN(TestStudioDocument)
#include "tst_studiodocument.moc"
