#include "EvalFacts.h"

#include "Error.h"
#include "Intervention.h"

#include <cmath>

namespace scalpel {

FactEval evaluateFacts(const LanguageModel& model, const FactWorld& world, TemplateSplit split,
                       const std::function<bool(double)>& progress) {
    const Tokenizer& tok = model.tokenizer();
    FactEval out;
    std::vector<std::vector<int>> prompts;
    std::vector<int> answers;
    std::vector<std::size_t> relationOf;
    for (const auto& r : world.relations()) {
        out.relations.push_back({r.id});
        const auto templates = world.templates(r.id, split);
        for (const auto& f : world.factsOf(r.id)) {
            const auto answer = tok.encode(f.object);
            if (answer.size() != 1)
                continue; // not a single token for this tokenizer
            for (const auto& t : templates) {
                prompts.push_back(tok.encode(FactWorld::prompt(t, f.subject)));
                answers.push_back(answer[0]);
                relationOf.push_back(out.relations.size() - 1);
            }
        }
    }
    const auto scores = scoreEach(model, prompts, answers, progress);
    for (std::size_t i = 0; i < scores.size(); ++i) {
        auto& rs = out.relations[relationOf[i]];
        rs.prompts++;
        rs.correct += scores[i].top1 ? 1 : 0;
        rs.meanProb += std::exp(scores[i].logProb);
    }
    out.overall.relation = "overall";
    for (auto& r : out.relations) {
        out.overall.prompts += r.prompts;
        out.overall.correct += r.correct;
        out.overall.meanProb += r.meanProb;
        if (r.prompts)
            r.meanProb /= r.prompts;
    }
    if (out.overall.prompts)
        out.overall.meanProb /= out.overall.prompts;
    return out;
}

} // namespace scalpel
