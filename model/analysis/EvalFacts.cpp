#include "EvalFacts.h"

#include "Error.h"
#include "Intervention.h"

#include <cmath>
#include <map>

namespace scalpel {

FactEval summarizeFacts(std::vector<RelationScore> relations, std::vector<RelationScore> parts) {
    FactEval out;
    out.relations = std::move(relations);
    out.parts = std::move(parts);
    for (auto& p : out.parts)
        p.meanProb = p.prompts ? p.probSum / p.prompts : 0;
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

FactWorld worldAskedBy(const FactWorld& world, const LanguageModel& model) {
    FactWorld asked = world;
    const auto mask = model.isMaskedLm() ? model.tokenizer().maskId() : std::nullopt;
    asked.setClozeMask(mask ? model.tokenizer().tokenSpelling(*mask) : std::string());
    return asked;
}

FactEval evaluateFacts(const LanguageModel& model, const FactWorld& askedWorld, TemplateSplit split,
                       const std::function<bool(double)>& progress,
                       const std::vector<std::size_t>& relations, PromptStyle style) {
    const FactWorld world = worldAskedBy(askedWorld, model);
    const Tokenizer& tok = model.tokenizer();
    const auto& all = world.relations();
    std::vector<std::size_t> chosen = relations;
    if (chosen.empty())
        for (std::size_t i = 0; i < all.size(); ++i)
            chosen.push_back(i);
    std::vector<RelationScore> scores, parts;
    const bool byPart = split == TemplateSplit::HeldoutFrame || split == TemplateSplit::HeldoutNoun;
    for (std::size_t ci = 0; ci < chosen.size(); ++ci) {
        if (chosen[ci] >= all.size())
            throw Error("eval-facts: relation " + std::to_string(chosen[ci]) +
                        " is past the fact world's " + std::to_string(all.size()) + " relations");
        const auto& r = all[chosen[ci]];
        RelationScore rs;
        rs.relation = r.id;
        std::vector<std::vector<int>> prompts;
        std::vector<int> answers;
        std::vector<std::string> partOf;
        const auto templates = world.templates(r.id, split);
        for (const auto& f : world.factsOf(r.id)) {
            const auto answer = tok.encode(f.object, false);
            if (answer.size() != 1)
                continue; // not a single token for this tokenizer
            for (const auto& t : templates) {
                const auto text = factPrompt(world, t, f, style);
                if (!text)
                    continue;
                prompts.push_back(tok.encode(*text));
                answers.push_back(answer[0]);
                partOf.push_back(r.id + ": " + t.part);
            }
        }
        const double base = static_cast<double>(ci) / chosen.size();
        const auto each = scoreEach(model, prompts, answers, [&](double f) {
            return !progress || progress(base + f / chosen.size());
        });
        std::map<std::string, RelationScore> byName;
        for (std::size_t i = 0; i < each.size(); ++i) {
            const auto& s = each[i];
            rs.prompts++;
            rs.correct += s.top1 ? 1 : 0;
            rs.probSum += std::exp(s.logProb);
            if (byPart) {
                auto& p = byName[partOf[i]];
                p.relation = partOf[i];
                p.prompts++;
                p.correct += s.top1 ? 1 : 0;
                p.probSum += std::exp(s.logProb);
            }
        }
        scores.push_back(rs);
        for (auto& [name, p] : byName)
            parts.push_back(p);
    }
    return summarizeFacts(std::move(scores), std::move(parts));
}

} // namespace scalpel
