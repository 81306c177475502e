#include "SeracEval.h"

#include "Error.h"
#include "FactWorld.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

namespace scalpel {

namespace {

double auroc(const std::vector<double>& pos, const std::vector<double>& neg) {
    if (pos.empty() || neg.empty())
        return 0;
    double wins = 0;
    for (double p : pos)
        for (double n : neg)
            wins += p > n ? 1.0 : p == n ? 0.5 : 0.0;
    return wins / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

int firstToken(const Tokenizer& tok, const std::string& word) {
    const auto ids = tok.encode(" " + word);
    return ids.empty() ? -1 : ids.front();
}

int argmax(const std::vector<float>& p) {
    return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

} // namespace

SeracEvalResult evaluateSerac(SeracEditor& editor, const FactWorld& world,
                              const SeracEvalOptions& o) {
    if (o.editsInMemory <= 0)
        throw Error("--edits-in-memory must be positive");
    std::mt19937_64 rng(o.seed * 7919 + static_cast<uint64_t>(o.editsInMemory));
    std::vector<Fact> facts = world.facts();
    if (o.editsInMemory > static_cast<int>(facts.size()))
        throw Error("the fact world has only " + std::to_string(facts.size()) + " facts");
    std::shuffle(facts.begin(), facts.end(), rng);
    auto pick = [&](const auto& v) -> const auto& {
        return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
    };
    std::map<std::string, std::vector<std::string>> objects;
    for (const Fact& f : world.facts())
        objects[f.relation].push_back(f.object);
    if (o.grammar && !world.hasGrammar())
        throw Error("--phrasing grammar: the fact world has no grammar");
    // The original templates, or the grammar: edits are written in training
    // wording, every input in wording never trained on.
    auto heldoutPrompt = [&](const Fact& f) {
        return world.promptFor(pick(o.grammar
                                        ? world.heldoutTemplates(f.relation)
                                        : world.templates(f.relation, TemplateSplit::Heldout)),
                               f.subject);
    };

    EditMemory memory;
    std::set<std::pair<std::string, std::string>> edited;
    std::set<std::string> editedSubjects, editedRelations;
    std::vector<std::pair<Fact, std::string>> edits; // fact, answer, in memory order
    for (int i = 0; i < o.editsInMemory; ++i) {
        const Fact& f = facts[static_cast<std::size_t>(i)];
        std::string answer = f.object;
        for (int tries = 0; tries < 50 && answer == f.object; ++tries)
            answer = pick(objects[f.relation]);
        memory.add(
            world.promptFor(pick(o.grammar ? world.trainingTemplates(f.relation)
                                           : world.templates(f.relation, TemplateSplit::Train)),
                            f.subject),
            answer);
        edited.insert({f.subject, f.relation});
        editedSubjects.insert(f.subject);
        edits.emplace_back(f, answer);
    }
    editor.sync(memory);

    struct Input {
        std::string prompt;
        std::string editId; // in scope of this edit; "" when out of scope
        std::string answer;
        int kind = 0; // 0 in scope, 1 hard, 2 random
    };
    std::vector<Input> inputs;
    std::vector<std::size_t> order(edits.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < order.size() && static_cast<int>(inputs.size()) < o.maxInputs; ++i)
        inputs.push_back({heldoutPrompt(edits[order[i]].first), memory.edits()[order[i]].id,
                          edits[order[i]].second, 0});
    // Hard: same subject other relation, or same relation other subject,
    // never a pair that is itself edited.
    std::vector<Fact> hard;
    for (const Fact& f : world.facts())
        if (!edited.count({f.subject, f.relation}) && editedSubjects.count(f.subject))
            hard.push_back(f);
    std::vector<Fact> sameRelation, random;
    for (const Fact& f : world.facts())
        if (!edited.count({f.subject, f.relation}))
            (editedSubjects.count(f.subject) ? sameRelation : random).push_back(f);
    std::shuffle(hard.begin(), hard.end(), rng);
    std::shuffle(random.begin(), random.end(), rng);
    for (std::size_t i = 0; i < hard.size() && i < static_cast<std::size_t>(o.maxInputs); ++i)
        inputs.push_back({heldoutPrompt(hard[i]), "", "", 1});
    // Random inputs: unedited facts, preferring subjects with no edit (with
    // 1000 edits most subjects have one; then any unedited fact).
    std::vector<Fact> pool = random;
    if (static_cast<int>(pool.size()) < o.maxInputs) {
        std::vector<Fact> rest = sameRelation;
        std::shuffle(rest.begin(), rest.end(), rng);
        pool.insert(pool.end(), rest.begin(), rest.end());
    }
    for (std::size_t i = 0; i < pool.size() && i < static_cast<std::size_t>(o.maxInputs); ++i)
        inputs.push_back({heldoutPrompt(pool[i]), "", "", 2});

    const LanguageModel& base = editor.base();
    SeracEvalResult r;
    r.edits = o.editsInMemory;
    r.backend = editor.backend() == CounterfactualBackend::Trained ? "trained" : "in-context";
    std::vector<double> pos, neg;
    double success = 0, routedRight = 0, ddHard = 0, ddRandom = 0, seconds = 0;
    for (const Input& in : inputs) {
        const auto t0 = std::chrono::steady_clock::now();
        const RoutedPrediction p = editor.predict(in.prompt, 1);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.routes.push_back(p.routedTo);
        const double best = p.scope.empty() ? 0 : p.scope.front().prob;
        const int top = argmax(p.probs);
        if (in.kind == 0) {
            ++r.inScope;
            pos.push_back(best);
            success += top == firstToken(base.tokenizer(), in.answer);
            routedRight += p.routedTo == in.editId;
        } else {
            neg.push_back(best);
            const bool changed = p.routedTo != "base" &&
                                 top != argmax(base.nextTokenProbs(base.prepare(in.prompt).ids));
            if (in.kind == 1) {
                ++r.hard;
                ddHard += changed;
            } else {
                ++r.random;
                ddRandom += changed;
            }
        }
    }
    r.editSuccess = success / std::max(1, r.inScope);
    r.routedToEdit = routedRight / std::max(1, r.inScope);
    r.drawdownHard = ddHard / std::max(1, r.hard);
    r.drawdownRandom = ddRandom / std::max(1, r.random);
    r.drawdown = (ddHard + ddRandom) / std::max(1, r.hard + r.random);
    r.auroc = auroc(pos, neg);
    r.msPerQuery = 1000.0 * seconds / std::max<std::size_t>(1, inputs.size());
    return r;
}

} // namespace scalpel
