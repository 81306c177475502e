// Conflict and overlap checks and the EasyEdit / CounterFact metrics on the
// built-in model with the shipped SERAC weights: each kind of problem is
// found with its edits named, a memory of unrelated facts has none, the
// batched scope pass agrees with scoring one prompt at a time, and the
// metrics follow their definitions (an edit the method did not apply
// leaves locality at 1; weight edits are restored).
#include "EditChecks.h"
#include "EditDatasets.h"
#include "EditMemory.h"
#include "EditMetrics.h"
#include "Error.h"
#include "FactWorld.h"
#include "FactWorldEdits.h"
#include "Resources.h"
#include "SeracEditor.h"

#include <QtTest>

#include <algorithm>
#include <set>

using namespace scalpel;

namespace {

std::string dataPath(const std::string& name) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/edits/" + name;
}

const EditProblem* findProblem(const EditCheckReport& r, const std::string& kind,
                               const std::string& edit, const std::string& other) {
    for (const auto& p : r.problems)
        if (p.kind == kind && p.editId == edit && p.otherId == other)
            return &p;
    return nullptr;
}

std::string describe(const EditCheckReport& r) {
    std::string s;
    for (const auto& p : r.problems)
        s += p.kind + " " + p.editId + "/" + p.otherId + ": " + p.reason + "\n";
    return s;
}

} // namespace

class TestEditChecks : public QObject {
    Q_OBJECT
    std::shared_ptr<LanguageModel> m_model;
    std::unique_ptr<SeracEditor> m_editor;
    std::unique_ptr<FactWorld> m_world;

private Q_SLOTS:
    void initTestCase() {
        m_model = LanguageModel::load(defaultModelDir(), "cpu");
        m_editor = SeracEditor::load(resourceDir() + "/models/serac", m_model);
        m_world = std::make_unique<FactWorld>(FactWorld::load(defaultFactsPath()));
    }

    void eachKindOfProblemIsFound() {
        EditMemory m;
        const auto a = m.add("The capital of Ireland is", "Lisbon").id;
        const auto dup = m.add("the capital of  Ireland is ", "Lisbon").id;
        const auto samePrompt = m.add("The capital of Ireland is", "Oslo").id;
        const auto otherWording = m.add("The capital city of Ireland is", "Paris").id;
        const auto unknown = m.add("The currency of Japan is", "Zorkmid").id;
        const auto fine = m.add("A person from Kenya is", "Irish").id;
        m_editor->sync(m);
        EditCheckOptions o;
        o.editor = m_editor.get();
        o.world = m_world.get();
        const EditCheckReport r = checkEdits(m, o);
        QVERIFY2(findProblem(r, "duplicate", dup, a), describe(r).c_str());
        QVERIFY2(findProblem(r, "conflict", samePrompt, a), describe(r).c_str());
        // The same subject and relation in another wording, from the fact world.
        QVERIFY2(findProblem(r, "conflict", otherWording, a), describe(r).c_str());
        const EditProblem* u = findProblem(r, "unknown-answer", unknown, "");
        QVERIFY2(u && u->reason.find("Zorkmid") != std::string::npos, describe(r).c_str());
        for (const auto& p : r.problems)
            QVERIFY2(p.editId != fine && p.otherId != fine, describe(r).c_str());
        QCOMPARE(r.edits, 6);
    }

    void scopeCaptureIsFoundWhenNothingElseRelatesTheEdits() {
        // Without the fact world or descriptors, nothing says these two are
        // one fact: only the scope classifier sees the overlap.
        EditMemory m;
        const auto a = m.add("The capital of Ireland is", "Lisbon").id;
        const auto b = m.add("Ireland's capital is called", "Oslo").id;
        m_editor->sync(m);
        EditCheckOptions o;
        o.editor = m_editor.get();
        const EditCheckReport r = checkEdits(m, o);
        const EditProblem* p = findProblem(r, "scope-capture", a, b);
        QVERIFY2(p, describe(r).c_str());
        QVERIFY(p->prob > m_editor->threshold());
        QCOMPARE(p->text, std::string("Ireland's capital is called"));
        QCOMPARE(r.inputs, 2);
        // With the fact world they are one conflict, not also a capture.
        o.world = m_world.get();
        const EditCheckReport w = checkEdits(m, o);
        QVERIFY2(findProblem(w, "conflict", b, a), describe(w).c_str());
        QCOMPARE(w.counts.count("scope-capture"), std::size_t(0));
    }

    void unrelatedFactsHaveNoProblems() {
        EditMemory m;
        m.add("The capital of Ireland is", "Lisbon");
        m.add("The currency of Japan is", "Euro");
        m.add("A person from Kenya is", "Chilean");
        m.add("The continent of Peru is", "Asia");
        m.add("The language of Norway is", "Spanish");
        m_editor->sync(m);
        EditCheckOptions o;
        o.editor = m_editor.get();
        o.world = m_world.get();
        const EditCheckReport r = checkEdits(m, o);
        QVERIFY2(r.problems.empty(), describe(r).c_str());
    }

    void batchedCapturesAgreeWithOnePromptAtATime() {
        FactWorldEditOptions fo;
        fo.count = 30;
        const EditMemory m = factWorldEdits(*m_world, fo);
        m_editor->sync(m);
        std::vector<std::string> texts;
        for (const Edit& e : m.edits())
            texts.push_back(e.descriptor.paraphrases.at(0));
        // A text too long to pair whole with an edit: its pairs are cut to
        // fit the context, the others run after their edit's cached part.
        std::string longText = "Everyone who has read about it knows very well that";
        for (int i = 0; i < 4; ++i)
            longText += " today, as before,";
        texts.push_back(longText + " " + m.edits()[0].descriptor.paraphrases.at(0));
        const int k = 4;
        const auto batched = m_editor->captures(texts, k);
        QCOMPARE(batched.size(), texts.size());
        int captured = 0, compared = 0;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            std::set<std::string> one, many;
            const auto alone = m_editor->scope(texts[i], k);
            for (const auto& s : alone)
                if (s.prob > m_editor->threshold() + 1e-4)
                    one.insert(s.editId);
            for (const auto& s : batched[i]) {
                if (s.prob > m_editor->threshold() + 1e-4)
                    many.insert(s.editId);
                // The same probability as the prompt scored alone.
                for (const auto& a : alone)
                    if (a.editId == s.editId) {
                        QVERIFY2(std::abs(a.prob - s.prob) < 1e-5,
                                 (texts[i] + " / " + s.editId + ": " + std::to_string(a.prob) +
                                  " alone, " + std::to_string(s.prob) + " batched")
                                     .c_str());
                        ++compared;
                    }
            }
            QCOMPARE(many, one);
            if (i < m.edits().size())
                captured += many.count(m.edits()[i].id);
        }
        QVERIFY(compared > 20);
        // Paraphrases are mostly in their own edit's scope.
        QVERIFY2(captured > 20, std::to_string(captured).c_str());
    }

    void seracMetricsOnTheCounterFactSample() {
        const auto cf = importEditsFile(dataPath("counterfact.json"));
        EditMetricsOptions o;
        o.seracDir = resourceDir() + "/models/serac";
        o.method = EditMethod::Serac;
        const auto r = evaluateEditMetrics(m_model, cf.memory, o);
        QCOMPARE(r.records.size(), std::size_t(3));
        for (const auto& rec : r.records) {
            // The edit prompt itself is in scope and takes the new answer.
            QCOMPARE(rec.reliability, 1.0);
            QVERIFY(rec.rewriteSuccess && *rec.rewriteSuccess);
            QVERIFY(rec.generalization && rec.locality && rec.neighborhoodSuccess);
            QVERIFY(!rec.portability);
        }
        QCOMPARE(r.totals.reliability, 1.0);
        QVERIFY(r.totals.locality && *r.totals.locality >= 0 && *r.totals.locality <= 1);
        // One edit: batch and sequential see the same memory.
        EditMemory one;
        one.insert(cf.memory.edits()[0]);
        o.mode = EditEvalMode::Batch;
        const auto b = evaluateEditMetrics(m_model, one, o);
        o.mode = EditEvalMode::Sequential;
        const auto s = evaluateEditMetrics(m_model, one, o);
        QCOMPARE(*b.records[0].generalization, *s.records[0].generalization);
        QCOMPARE(*b.records[0].locality, *s.records[0].locality);
    }

    void anEditNotAppliedLeavesTheModelAsItWas() {
        // Without its old answer the fact update cannot find the fact's
        // neurons: nothing changes, so every neighbour keeps its answer.
        EditMemory m;
        EditDescriptor d;
        d.neighbourhood = {{"The capital of France is", {"Paris"}, ""},
                           {"The currency of Japan is", {}, ""}};
        m.add("The capital of Ireland is", "Lisbon", d);
        const auto before =
            m_model->nextTokenProbs(m_model->prepare("The capital of Chile is").ids);
        EditMetricsOptions o;
        o.method = EditMethod::KnUpdate;
        const auto r = evaluateEditMetrics(m_model, m, o);
        QCOMPARE(r.totals.notApplied, 1);
        QVERIFY(r.records[0].note.find("old answer") != std::string::npos);
        QCOMPARE(*r.records[0].locality, 1.0);
        QCOMPARE(r.records[0].reliability, 0.0);
        QVERIFY(!r.records[0].rewriteSuccess);
        // A fact update that is applied is restored afterwards.
        d.trueAnswer = "Dublin";
        EditMemory applied;
        applied.add("The capital of Ireland is", "Lisbon", d);
        o.knSteps = 8;
        const auto a = evaluateEditMetrics(m_model, applied, o);
        QVERIFY2(a.records[0].note.empty() ||
                     a.records[0].note.find("no knowledge neurons") != std::string::npos,
                 a.records[0].note.c_str());
        QCOMPARE(m_model->nextTokenProbs(m_model->prepare("The capital of Chile is").ids), before);
    }

    void methodAndModeNamesParse() {
        for (auto m : {EditMethod::Serac, EditMethod::SeracInContext, EditMethod::KnUpdate})
            QCOMPARE(parseEditMethod(editMethodName(m)), m);
        QCOMPARE(parseEditEvalMode("sequential"), EditEvalMode::Sequential);
        QVERIFY_THROWS_EXCEPTION(Error, parseEditMethod("rome"));
        QVERIFY_THROWS_EXCEPTION(Error, parseEditEvalMode("parallel"));
    }
};

QTEST_GUILESS_MAIN(TestEditChecks)
#include "tst_editchecks.moc"
