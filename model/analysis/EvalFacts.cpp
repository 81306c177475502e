#include "EvalFacts.h"

#include "Error.h"
#include "Intervention.h"

#include <cmath>

namespace scalpel {

FactEval summarizeFacts(std::vector<RelationScore> relations) {
    FactEval out;
    out.relations = std::move(relations);
    out.overall.relation = "overall";
    for (auto& r : out.relations) {
        out.overall.prompts += r.prompts;
        out.overall.correct += r.correct;
        out.overall.probSum += r.probSum;
        r.meanProb = r.prompts ? r.probSum / r.prompts : 0;
    }
    out.overall.meanProb = out.overall.prompts ? out.overall.probSum / out.overall.prompts : 0;
    return out;
}

FactEval evaluateFacts(const LanguageModel& model, const FactWorld& world, TemplateSplit split,
                       const std::function<bool(double)>& progress,
                       const std::vector<std::size_t>& relations) {
    const Tokenizer& tok = model.tokenizer();
    const auto& all = world.relations();
    std::vector<std::size_t> chosen = relations;
    if (chosen.empty())
        for (std::size_t i = 0; i < all.size(); ++i)
            chosen.push_back(i);
    std::vector<RelationScore> scores;
    for (std::size_t ci = 0; ci < chosen.size(); ++ci) {
        if (chosen[ci] >= all.size())
            throw Error("eval-facts: relation " + std::to_string(chosen[ci]) +
                        " is past the fact world's " + std::to_string(all.size()) + " relations");
        const auto& r = all[chosen[ci]];
        RelationScore rs;
        rs.relation = r.id;
        std::vector<std::vector<int>> prompts;
        std::vector<int> answers;
        const auto templates = world.templates(r.id, split);
        for (const auto& f : world.factsOf(r.id)) {
            const auto answer = tok.encode(f.object);
            if (answer.size() != 1)
                continue; // not a single token for this tokenizer
            for (const auto& t : templates) {
                prompts.push_back(tok.encode(FactWorld::prompt(t, f.subject)));
                answers.push_back(answer[0]);
            }
        }
        const double base = static_cast<double>(ci) / chosen.size();
        const auto each = scoreEach(model, prompts, answers, [&](double f) {
            return !progress || progress(base + f / chosen.size());
        });
        for (const auto& s : each) {
            rs.prompts++;
            rs.correct += s.top1 ? 1 : 0;
            rs.probSum += std::exp(s.logProb);
        }
        scores.push_back(rs);
    }
    return summarizeFacts(std::move(scores));
}

} // namespace scalpel
