#include "EditMetrics.h"

#include "Attribution.h"
#include "Error.h"
#include "Intervention.h"
#include "SeracEditor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace scalpel {

namespace {

using NextProbs =
    std::function<std::vector<float>(const std::string& prompt, const std::vector<int>& prefix)>;

struct Forced {
    double meanLogProb = 0;
    double accuracy = 0;
    std::vector<int> top; // the top-1 token at each answer position
};

int argmax(const std::vector<float>& p) {
    return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

// The prompt followed by each prefix of the target: per-token log
// probability and top-1 agreement, as EasyEdit and ROME compute them.
Forced teacherForced(const NextProbs& next, const std::string& prompt,
                     const std::vector<int>& target) {
    Forced f;
    std::vector<int> prefix;
    for (int t : target) {
        const std::vector<float> p = next(prompt, prefix);
        const int top = argmax(p);
        f.top.push_back(top);
        f.accuracy += top == t;
        f.meanLogProb +=
            std::log(std::max(1e-30, static_cast<double>(p[static_cast<std::size_t>(t)])));
        prefix.push_back(t);
    }
    if (!target.empty()) {
        f.accuracy /= static_cast<double>(target.size());
        f.meanLogProb /= static_cast<double>(target.size());
    }
    return f;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Token ids of an answer, empty when the model cannot spell it.
std::vector<int> targetOf(const LanguageModel& m, const std::string& answer) {
    if (answer.find_first_not_of(" \t\r\n") == std::string::npos)
        return {};
    try {
        return encodeTarget(m, answer);
    } catch (const Error&) {
        return {};
    }
}

// What locality compares against: the unedited model's top-1 tokens on a
// neighbour, teacher-forced with its answer.
struct Neighbour {
    std::string prompt;
    std::vector<int> target;
    std::vector<int> baseTop;
};

// Restores every weight change however the evaluation ends.
struct RestoreGuard {
    WeightEditor* editor = nullptr;
    ~RestoreGuard() {
        if (editor)
            editor->restoreAll();
    }
};

} // namespace

std::string editMethodName(EditMethod m) {
    switch (m) {
    case EditMethod::Serac:
        return "serac";
    case EditMethod::SeracInContext:
        return "serac-in-context";
    case EditMethod::KnUpdate:
        return "kn-update";
    }
    return "?";
}

EditMethod parseEditMethod(const std::string& name) {
    for (EditMethod m : {EditMethod::Serac, EditMethod::SeracInContext, EditMethod::KnUpdate})
        if (editMethodName(m) == name)
            return m;
    throw Error("unknown editing method '" + name + "' (serac, serac-in-context or kn-update)");
}

std::string editEvalModeName(EditEvalMode m) {
    return m == EditEvalMode::Batch ? "batch" : "sequential";
}

EditEvalMode parseEditEvalMode(const std::string& name) {
    if (name == "batch")
        return EditEvalMode::Batch;
    if (name == "sequential")
        return EditEvalMode::Sequential;
    throw Error("unknown evaluation mode '" + name + "' (batch or sequential)");
}

EditMetricsResult evaluateEditMetrics(const std::shared_ptr<LanguageModel>& model,
                                      const EditMemory& memory, const EditMetricsOptions& o) {
    if (!model)
        throw Error("the evaluation needs a model");
    const auto t0 = std::chrono::steady_clock::now();
    const LanguageModel& m = *model;
    std::vector<const Edit*> edits;
    for (const Edit& e : memory.edits())
        if (e.enabled && (o.limit < 0 || static_cast<int>(edits.size()) < o.limit))
            edits.push_back(&e);
    if (edits.empty())
        throw Error("no enabled edits to evaluate");

    const NextProbs baseNext = [&](const std::string& prompt, const std::vector<int>& prefix) {
        std::vector<int> ids = m.prepare(prompt).ids;
        ids.insert(ids.end(), prefix.begin(), prefix.end());
        return m.nextTokenProbs(ids);
    };

    // The unedited model's answers on every neighbour, before any edit.
    std::vector<std::vector<Neighbour>> neighbours(edits.size());
    for (std::size_t r = 0; r < edits.size(); ++r) {
        const Edit& e = *edits[r];
        for (const auto& n : e.descriptor.neighbourhood) {
            Neighbour nb{n.prompt, {}, {}};
            nb.target = targetOf(m, n.answers.empty() ? e.descriptor.trueAnswer : n.answers[0]);
            if (nb.target.empty()) // no answer known: the unedited top-1 token
                nb.target = {argmax(baseNext(n.prompt, {}))};
            nb.baseTop = teacherForced(baseNext, nb.prompt, nb.target).top;
            neighbours[r].push_back(std::move(nb));
        }
        if (o.progress && !o.progress(0.1 * static_cast<double>(r + 1) / edits.size()))
            throw Cancelled();
    }

    // The method: how an edit is applied and how the edited model answers.
    std::unique_ptr<SeracEditor> serac;
    EditMemory inMemory;
    std::unique_ptr<WeightEditor> weights;
    RestoreGuard guard;
    NextProbs editedNext = baseNext;
    std::vector<std::string> notes(edits.size());
    if (o.method == EditMethod::KnUpdate) {
        weights = std::make_unique<WeightEditor>(model);
        guard.editor = weights.get();
    } else {
        serac = SeracEditor::load(o.seracDir, model);
        serac->setBackend(o.method == EditMethod::Serac ? CounterfactualBackend::Trained
                                                        : CounterfactualBackend::InContext);
        if (o.threshold >= 0)
            serac->setThreshold(o.threshold);
        editedNext = [&](const std::string& prompt, const std::vector<int>& prefix) {
            const std::string text =
                prefix.empty() ? prompt : prompt + m.tokenizer().decode(prefix);
            return serac->predict(text, 1).probs;
        };
    }
    // A fact update in two steps: its neurons are found (on the model as it
    // is then), and later their value slots are rewritten.
    std::vector<std::vector<NeuronId>> neuronsOf(edits.size());
    auto locate = [&](std::size_t r) {
        const Edit& e = *edits[r];
        if (serac)
            return;
        const auto oldIds = targetOf(m, e.descriptor.trueAnswer);
        const auto newIds = targetOf(m, e.answer);
        if (e.descriptor.trueAnswer.empty()) {
            notes[r] = "not applied: the fact update needs the old answer";
            return;
        }
        if (oldIds.size() != 1 || newIds.size() != 1) {
            notes[r] = "not applied: the fact update needs single-token old and new answers";
            return;
        }
        AttributionOptions ao;
        ao.steps = o.knSteps;
        const auto search =
            findKnowledgeNeurons(m, {e.prompt}, oldIds, o.knThreshold, o.knShare, ao);
        for (const auto& n : search.neurons)
            neuronsOf[r].push_back({n.layer, n.neuron});
        if (neuronsOf[r].empty())
            notes[r] = "not applied: no knowledge neurons found for the old answer";
    };
    auto apply = [&](std::size_t r) {
        const Edit& e = *edits[r];
        if (serac) {
            Edit copy = e;
            inMemory.insert(copy);
            return;
        }
        if (neuronsOf[r].empty())
            return;
        std::vector<std::vector<int>> prompts;
        if (m.config().gatedMlp)
            prompts.push_back(m.prepare(e.prompt).ids);
        weights->updateFact(neuronsOf[r], e.descriptor.trueAnswer, e.answer, e.id, prompts);
    };

    EditMetricsResult result;
    result.method = editMethodName(o.method);
    result.mode = editEvalModeName(o.mode);
    // One record asks for the same distribution more than once (P(new) and
    // P(true) after the same prompt): remembered for the record's duration.
    std::map<std::pair<std::string, std::vector<int>>, std::vector<float>> memo;
    const NextProbs methodNext = editedNext;
    editedNext = [&](const std::string& prompt, const std::vector<int>& prefix) {
        auto key = std::make_pair(prompt, prefix);
        auto it = memo.find(key);
        if (it == memo.end())
            it = memo.emplace(std::move(key), methodNext(prompt, prefix)).first;
        return it->second;
    };
    auto evaluate = [&](std::size_t r) {
        memo.clear();
        const Edit& e = *edits[r];
        EditRecordMetrics rec;
        rec.editId = e.id;
        rec.prompt = e.prompt;
        rec.note = notes[r];
        const auto newIds = targetOf(m, e.answer);
        const auto trueIds = targetOf(m, e.descriptor.trueAnswer);
        if (newIds.empty()) {
            rec.note = "the new answer is not in the model's vocabulary";
            result.records.push_back(rec);
            return;
        }
        const Forced rel = teacherForced(editedNext, e.prompt, newIds);
        rec.reliability = rel.accuracy;
        std::vector<double> gen, paraSuccess;
        for (const auto& p : e.descriptor.paraphrases) {
            const Forced f = teacherForced(editedNext, p, newIds);
            gen.push_back(f.accuracy);
            if (!trueIds.empty())
                paraSuccess.push_back(f.meanLogProb >
                                      teacherForced(editedNext, p, trueIds).meanLogProb);
        }
        if (!gen.empty())
            rec.generalization = mean(gen);
        if (!paraSuccess.empty())
            rec.paraphraseSuccess = mean(paraSuccess);
        if (!trueIds.empty())
            rec.rewriteSuccess =
                rel.meanLogProb > teacherForced(editedNext, e.prompt, trueIds).meanLogProb;
        std::vector<double> loc, neighSuccess;
        for (const Neighbour& nb : neighbours[r]) {
            const Forced f = teacherForced(editedNext, nb.prompt, nb.target);
            double same = 0;
            for (std::size_t k = 0; k < f.top.size(); ++k)
                same += f.top[k] == nb.baseTop[k];
            loc.push_back(same / static_cast<double>(f.top.size()));
            if (!trueIds.empty())
                neighSuccess.push_back(f.meanLogProb >
                                       teacherForced(editedNext, nb.prompt, newIds).meanLogProb);
        }
        if (!loc.empty())
            rec.locality = mean(loc);
        if (!neighSuccess.empty())
            rec.neighborhoodSuccess = mean(neighSuccess);
        std::vector<double> port;
        for (const auto& p : e.descriptor.portability) {
            const auto ids = p.answers.empty() ? std::vector<int>{} : targetOf(m, p.answers[0]);
            port.push_back(ids.empty() ? 0.0 : teacherForced(editedNext, p.prompt, ids).accuracy);
        }
        if (!port.empty())
            rec.portability = mean(port);
        result.records.push_back(rec);
    };
    auto step = [&](std::size_t done) {
        if (o.progress && !o.progress(0.1 + 0.9 * static_cast<double>(done) / edits.size()))
            throw Cancelled();
    };

    if (o.mode == EditEvalMode::Batch) {
        // Every edit is located on the unedited model, then all are applied.
        for (std::size_t r = 0; r < edits.size(); ++r)
            locate(r);
        for (std::size_t r = 0; r < edits.size(); ++r)
            apply(r);
        if (serac)
            serac->sync(inMemory);
        for (std::size_t r = 0; r < edits.size(); ++r) {
            evaluate(r);
            step(r + 1);
        }
    } else {
        for (std::size_t r = 0; r < edits.size(); ++r) {
            locate(r);
            apply(r);
            if (serac)
                serac->sync(inMemory);
            evaluate(r);
            step(r + 1);
        }
    }

    // Totals: each metric's mean over the records that have it.
    EditMetricsTotals& t = result.totals;
    t.records = static_cast<int>(result.records.size());
    auto total = [&](auto get) -> std::optional<double> {
        std::vector<double> v;
        for (const auto& rec : result.records)
            if (const auto x = get(rec))
                v.push_back(*x);
        if (v.empty())
            return std::nullopt;
        return mean(v);
    };
    std::vector<double> rel;
    for (const auto& rec : result.records) {
        rel.push_back(rec.reliability);
        t.notApplied += !rec.note.empty();
    }
    t.reliability = mean(rel);
    t.generalization = total([](const EditRecordMetrics& r) { return r.generalization; });
    t.locality = total([](const EditRecordMetrics& r) { return r.locality; });
    t.portability = total([](const EditRecordMetrics& r) { return r.portability; });
    t.rewriteSuccess = total([](const EditRecordMetrics& r) -> std::optional<double> {
        if (!r.rewriteSuccess)
            return std::nullopt;
        return *r.rewriteSuccess ? 1.0 : 0.0;
    });
    t.paraphraseSuccess = total([](const EditRecordMetrics& r) { return r.paraphraseSuccess; });
    t.neighborhoodSuccess = total([](const EditRecordMetrics& r) { return r.neighborhoodSuccess; });
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace scalpel
