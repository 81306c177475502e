// The undo commands against a recording target: a drag is one step, undo
// puts back exactly what was there, and deleted edits return to their places.
#include "UndoCommands.h"

#include <QTest>
#include <QUndoStack>

namespace {

class FakeTarget : public UndoTarget {
public:
    QVector<NeuronScale> scales;
    QVector<NeuronRef> neurons;
    QString source;
    scalpel::EditMemory memory;
    QVector<int> appliedTokens;
    QVector<int> restoredTokens;
    int scaleCalls = 0;

    void applyScales(const QVector<NeuronScale>& s) override {
        scales = s;
        ++scaleCalls;
    }
    void applyNeuronSet(const QVector<NeuronRef>& n, const QStringList&,
                        const QVector<NeuronScale>& s, const QString& from) override {
        neurons = n;
        scales = s;
        source = from;
    }
    void insertEdit(const scalpel::Edit& e, int position) override { memory.insert(e, position); }
    void removeEdit(const QString& id) override { memory.remove(id.toStdString()); }
    void replaceEdit(const scalpel::Edit& e) override {
        memory.update(e.id, e.prompt, e.answer);
        memory.setEnabled(e.id, e.enabled);
    }
    void replaceAllEdits(const std::vector<scalpel::Edit>& edits) override {
        memory.clear();
        for (const auto& e : edits)
            memory.insert(e);
    }
    void applyWeightChange(const WeightOp& op) override { appliedTokens.push_back(op.token); }
    void restoreWeightChange(int token) override { restoredTokens.push_back(token); }
};

QVector<NeuronScale> at(double f) {
    return {{2, 17, f}, {3, 5, f}};
}

QStringList ids(const scalpel::EditMemory& m) {
    QStringList out;
    for (const auto& e : m.edits())
        out << QString::fromStdString(e.id);
    return out;
}

} // namespace

class TestUndoCommands : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void oneDragIsOneUndoStep() {
        FakeTarget t;
        t.scales = at(1.0);
        QUndoStack stack;
        const double steps[] = {0.9, 0.6, 0.3, 0.0};
        QVector<NeuronScale> prev = t.scales;
        for (double f : steps) {
            stack.push(new ScalesCommand(&t, prev, at(f), /*dragId=*/7));
            prev = at(f);
        }
        QCOMPARE(stack.count(), 1);
        QCOMPARE(t.scales, at(0.0));
        stack.undo();
        QCOMPARE(t.scales, at(1.0));
        stack.redo();
        QCOMPARE(t.scales, at(0.0));
    }

    void separateDragsAndClicksStaySeparate() {
        FakeTarget t;
        t.scales = at(1.0);
        QUndoStack stack;
        stack.push(new ScalesCommand(&t, at(1.0), at(0.5), 1));
        stack.push(new ScalesCommand(&t, at(0.5), at(0.2), 2));
        stack.push(new ScalesCommand(&t, at(0.2), at(2.0), 0)); // a preset button
        stack.push(new ScalesCommand(&t, at(2.0), at(3.0), 0));
        QCOMPARE(stack.count(), 4);
        stack.undo();
        stack.undo();
        QCOMPARE(t.scales, at(0.2));
        stack.undo();
        QCOMPARE(t.scales, at(0.5));
    }

    void dragBackToTheStartLeavesNoStep() {
        FakeTarget t;
        QUndoStack stack;
        stack.push(new ScalesCommand(&t, at(1.0), at(1.5), 3));
        stack.push(new ScalesCommand(&t, at(1.5), at(1.0), 3));
        QCOMPARE(stack.count(), 0);
        QCOMPARE(t.scales, at(1.0));
    }

    void deletedEditsReturnToTheirPlaces() {
        FakeTarget t;
        for (int i = 0; i < 5; ++i)
            t.memory.add("prompt " + std::to_string(i), "answer " + std::to_string(i));
        const QStringList before = ids(t.memory);
        QUndoStack stack;
        std::vector<std::pair<scalpel::Edit, int>> removed = {{t.memory.edits()[3], 3},
                                                              {t.memory.edits()[1], 1}};
        stack.push(new RemoveEditsCommand(&t, removed));
        QCOMPARE(t.memory.size(), std::size_t(3));
        stack.undo();
        QCOMPARE(ids(t.memory), before);
        QCOMPARE(t.memory.edits()[3].answer, std::string("answer 3"));
    }

    void addAndModifyUndoExactly() {
        FakeTarget t;
        QUndoStack stack;
        scalpel::Edit e;
        e.id = "e1";
        e.prompt = "The capital of Ireland is";
        e.answer = "Lisbon";
        stack.push(new AddEditCommand(&t, e));
        QCOMPARE(t.memory.size(), std::size_t(1));
        scalpel::Edit off = e;
        off.enabled = false;
        off.answer = "Paris";
        stack.push(new ModifyEditCommand(&t, e, off));
        QCOMPARE(t.memory.find("e1")->enabled, false);
        QCOMPARE(t.memory.find("e1")->answer, std::string("Paris"));
        stack.undo();
        QCOMPARE(t.memory.find("e1")->enabled, true);
        QCOMPARE(t.memory.find("e1")->answer, std::string("Lisbon"));
        stack.undo();
        QVERIFY(t.memory.empty());
        stack.redo();
        QCOMPARE(t.memory.find("e1")->prompt, std::string("The capital of Ireland is"));
    }

    void weightChangeUndoRestoresItsToken() {
        FakeTarget t;
        QUndoStack stack;
        WeightOp op;
        op.kind = WeightOp::Kind::UpdateFact;
        op.token = 42;
        op.description = QStringLiteral("Update fact: Dublin → Lisbon");
        stack.push(new WeightChangeCommand(&t, op));
        QCOMPARE(stack.undoText(), op.description);
        stack.undo();
        stack.redo();
        QCOMPARE(t.appliedTokens, (QVector<int>{42, 42}));
        QCOMPARE(t.restoredTokens, (QVector<int>{42}));
    }

    void neuronSetUndoBringsBackFactors() {
        FakeTarget t;
        QUndoStack stack;
        NeuronSetCommand::State before{
            {{1, 2}}, {QStringLiteral("picked")}, {{1, 2, 0.0}}, QStringLiteral("Ireland")};
        NeuronSetCommand::State after{
            {{3, 4}, {3, 5}}, {}, {{3, 4, 1.0}, {3, 5, 1.0}}, QStringLiteral("Brazil")};
        t.neurons = before.neurons;
        t.scales = before.scales;
        stack.push(new NeuronSetCommand(&t, before, after, QStringLiteral("refine")));
        QCOMPARE(t.neurons.size(), 2);
        QCOMPARE(t.source, QStringLiteral("Brazil"));
        stack.undo();
        QCOMPARE(t.neurons, before.neurons);
        QCOMPARE(t.scales, before.scales);
        QCOMPARE(t.source, QStringLiteral("Ireland"));
    }

    void revertWeightsRestoresTheFirstAndReappliesInOrder() {
        FakeTarget t;
        QUndoStack stack;
        QVector<WeightOp> ops;
        for (int token : {3, 5, 9}) {
            WeightOp op;
            op.token = token;
            ops.push_back(op);
        }
        stack.push(new RevertWeightsCommand(&t, ops));
        // The engine's restore of the first change restores the later ones.
        QCOMPARE(t.restoredTokens, (QVector<int>{3}));
        stack.undo();
        QCOMPARE(t.appliedTokens, (QVector<int>{3, 5, 9}));
    }
};

QTEST_GUILESS_MAIN(TestUndoCommands)
#include "tst_undocommands.moc"
