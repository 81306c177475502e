#include "EvalFacts.h"

#include "Error.h"
#include "ModelInternals.h"

#include <map>

namespace scalpel {

FactEval evaluateFacts(const LanguageModel& model, const FactWorld& world, TemplateSplit split,
                       const std::function<bool(double)>& progress) {
    auto& in = model.internals();
    const Tokenizer& tok = model.tokenizer();
    struct Item {
        std::vector<int> ids;
        int answer;
        std::size_t relation;
    };
    FactEval out;
    std::map<std::size_t, std::vector<Item>> byLength;
    for (const auto& r : world.relations()) {
        out.relations.push_back({r.id});
        const std::size_t ri = out.relations.size() - 1;
        const auto templates = world.templates(r.id, split);
        for (const auto& f : world.factsOf(r.id)) {
            const auto answer = tok.encode(f.object);
            if (answer.size() != 1)
                continue; // not a single token for this tokenizer
            for (const auto& t : templates) {
                auto ids = tok.encode(FactWorld::prompt(t, f.subject));
                byLength[ids.size()].push_back({std::move(ids), answer[0], ri});
            }
        }
    }
    torch::NoGradGuard guard;
    std::size_t done = 0, total = 0;
    for (const auto& [len, items] : byLength)
        total += items.size();
    for (const auto& [len, items] : byLength) {
        for (std::size_t s = 0; s < items.size(); s += 256) {
            const std::size_t e = std::min(items.size(), s + 256);
            std::vector<int64_t> flat;
            for (std::size_t i = s; i < e; ++i)
                flat.insert(flat.end(), items[i].ids.begin(), items[i].ids.end());
            auto x = torch::tensor(flat)
                         .view({static_cast<int64_t>(e - s), static_cast<int64_t>(len)})
                         .to(in.device);
            auto probs = torch::softmax(in.net->forward(x).select(1, len - 1), -1).to(torch::kCPU);
            auto top = probs.argmax(-1);
            for (std::size_t i = s; i < e; ++i) {
                auto& rs = out.relations[items[i].relation];
                const auto row = static_cast<int64_t>(i - s);
                rs.prompts++;
                rs.correct += top[row].item<int64_t>() == items[i].answer ? 1 : 0;
                rs.meanProb += probs[row][items[i].answer].item<double>();
            }
            done += e - s;
            if (progress && !progress(static_cast<double>(done) / total))
                throw Cancelled();
        }
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
