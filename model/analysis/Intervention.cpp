#include "Intervention.h"

#include "Error.h"
#include "ModelInternals.h"

#include <algorithm>
#include <cmath>

namespace scalpel {

namespace {

torch::Tensor valueRow(const LanguageModel& model, const NeuronId& n) {
    return network(model).valueVector(n.layer, n.neuron);
}

std::vector<float> toVector(const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

} // namespace

std::vector<double> answerProbs(const LanguageModel& model,
                                const std::vector<std::vector<int>>& prompts,
                                const std::vector<int>& target,
                                const std::vector<NeuronScale>& scales) {
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    std::vector<double> out(prompts.size(), 0.0);
    // Rows of one length that ask at one position run as one batch.
    std::vector<AnswerSequence> seqs;
    std::map<std::pair<std::size_t, int64_t>, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        seqs.push_back(answerSequence(model, prompts[i], target));
        groups[{seqs.back().ids.size(), seqs.back().position}].push_back(i);
    }
    const std::map<int, torch::Tensor> scaleTensors = scaleFactors(model, scales);
    auto tgt = torch::tensor(std::vector<int64_t>(target.begin(), target.end()), torch::kLong)
                   .to(deviceOf(model));
    const int64_t n = static_cast<int64_t>(target.size());
    for (const auto& [key, rows] : groups) {
        const auto [len, position] = key;
        std::vector<int64_t> flat;
        for (std::size_t r : rows)
            flat.insert(flat.end(), seqs[r].ids.begin(), seqs[r].ids.end());
        auto x = torch::tensor(flat)
                     .view({static_cast<int64_t>(rows.size()), static_cast<int64_t>(len)})
                     .to(deviceOf(model));
        Hooks hooks;
        for (const auto& [layer, factor] : scaleTensors) {
            Hook h;
            h.site = HookSite::Neurons;
            h.layer = layer;
            h.op = HookOp::Scale;
            h.position = position;
            h.value = factor;
            hooks.add(h);
        }
        auto logits = net.forward(x, scales.empty() ? nullptr : &hooks);
        auto p = answerLogProb(logits.narrow(1, position, n), tgt).exp().to(torch::kCPU);
        for (std::size_t k = 0; k < rows.size(); ++k)
            out[rows[k]] = p[static_cast<int64_t>(k)].item<double>();
    }
    return out;
}

std::vector<NeuronId> mostFrequentNeurons(const std::map<NeuronId, int>& factsPerNeuron,
                                          std::size_t count) {
    std::vector<std::pair<int, NeuronId>> byCount;
    for (const auto& [id, c] : factsPerNeuron)
        byCount.push_back({c, id});
    std::sort(byCount.begin(), byCount.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<NeuronId> out;
    for (std::size_t k = 0; k < byCount.size() && k < count; ++k)
        out.push_back(byCount[k].second);
    return out;
}

std::vector<NeuronScale> scalesFor(const std::vector<NeuronId>& neurons, float factor) {
    std::vector<NeuronScale> out;
    for (const auto& n : neurons)
        out.push_back({n.layer, n.neuron, factor});
    return out;
}

std::vector<PromptScore> scoreEach(const LanguageModel& model,
                                   const std::vector<std::vector<int>>& prompts,
                                   const std::vector<int>& targets,
                                   const std::function<bool(double)>& progress) {
    if (prompts.size() != targets.size())
        throw Error("scoreEach: one target per prompt");
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    std::vector<PromptScore> out(prompts.size());
    // Rows of one length that ask at one position (the last, or a masked
    // model's first mask) run as one batch.
    std::map<std::pair<std::size_t, int64_t>, std::vector<std::size_t>> byLength;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty())
            throw Error("the prompt is empty");
        byLength[{prompts[i].size(), model.queryPositions(prompts[i]).front()}].push_back(i);
    }
    std::size_t done = 0;
    for (const auto& [key, rows] : byLength) {
        const auto [T, position] = key;
        const bool last = position + 1 == static_cast<int64_t>(T);
        for (std::size_t s0 = 0; s0 < rows.size(); s0 += 256) {
            const std::size_t s1 = std::min(rows.size(), s0 + 256);
            std::vector<int64_t> flat, tg;
            for (std::size_t k = s0; k < s1; ++k) {
                flat.insert(flat.end(), prompts[rows[k]].begin(), prompts[rows[k]].end());
                tg.push_back(targets[rows[k]]);
            }
            auto x = torch::tensor(flat)
                         .view({static_cast<int64_t>(s1 - s0), static_cast<int64_t>(T)})
                         .to(deviceOf(model));
            auto lp = torch::log_softmax(last ? net.forward(x, nullptr, nullptr, true).select(1, 0)
                                              : net.forward(x).select(1, position),
                                         -1)
                          .to(torch::kCPU);
            auto t = torch::tensor(tg).view({-1, 1});
            auto chosen = lp.gather(1, t).view({-1});
            auto top = lp.argmax(1);
            for (std::size_t k = s0; k < s1; ++k) {
                const auto row = static_cast<int64_t>(k - s0);
                out[rows[k]] = {chosen[row].item<double>(),
                                top[row].item<int64_t>() == targets[rows[k]]};
            }
            done += s1 - s0;
            if (progress && !progress(static_cast<double>(done) / prompts.size()))
                throw Cancelled();
        }
    }
    return out;
}

PromptSetScore scorePrompts(const LanguageModel& model,
                            const std::vector<std::vector<int>>& prompts,
                            const std::vector<int>& targets) {
    PromptSetScore out;
    double nll = 0;
    for (const auto& s : scoreEach(model, prompts, targets)) {
        nll -= s.logProb;
        out.correct += s.top1 ? 1 : 0;
    }
    out.prompts = static_cast<int>(prompts.size());
    out.perplexity = prompts.empty() ? 0 : std::exp(nll / prompts.size());
    return out;
}

double relativeEffect(const std::vector<double>& before, const std::vector<double>& after) {
    double sum = 0;
    int count = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
        if (before[i] <= 0)
            continue;
        sum += (after[i] - before[i]) / before[i];
        ++count;
    }
    return count ? sum / count : 0.0;
}

WeightEditor::WeightEditor(std::shared_ptr<LanguageModel> model) : m_model(std::move(model)) {}

void WeightEditor::checkNeurons(const std::vector<NeuronId>& neurons) const {
    if (neurons.empty())
        throw Error("no neurons to edit");
    for (const auto& n : neurons)
        checkNeuron(*m_model, n.layer, n.neuron);
}

int WeightEditor::updateFact(const std::vector<NeuronId>& neurons, const std::string& oldObject,
                             const std::string& newObject, const std::string& description,
                             const std::vector<std::vector<int>>& prompts) {
    checkNeurons(neurons);
    const auto oldIds = encodeTarget(*m_model, oldObject);
    const auto newIds = encodeTarget(*m_model, newObject);
    if (oldIds.size() != 1 || newIds.size() != 1)
        throw Error("updating a fact needs single-token objects ('" + oldObject + "' and '" +
                    newObject + "')");
    const std::vector<float> signs = activationSigns(neurons, prompts);
    TransformerImpl& net = network(*m_model);
    torch::NoGradGuard g;
    // The answer's direction in the output space: its unembedding row (the
    // token embedding when tied, as in GPT-2 and BERT).
    auto eOld = net.unembeddingRow(oldIds[0]), eNew = net.unembeddingRow(newIds[0]);
    const int id = m_nextId++;
    auto& before = m_before[id];
    for (std::size_t k = 0; k < neurons.size(); ++k) {
        const auto& n = neurons[k];
        auto v = valueRow(*m_model, n);
        before.emplace(n, toVector(v));
        const double norm = v.norm().item<double>();
        const double l1 = norm / eOld.norm().item<double>() * 1.0;
        const double l2 = norm / eNew.norm().item<double>() * 8.0;
        if (signs[k] > 0)
            v.copy_(v - l1 * eOld + l2 * eNew);
        else
            v.copy_(v + l1 * eOld - l2 * eNew);
    }
    m_model->noteWeightsChanged();
    m_changes.push_back({id, "update-fact",
                         description.empty() ? oldObject + " -> " + newObject : description,
                         neurons});
    return id;
}

std::vector<float>
WeightEditor::activationSigns(const std::vector<NeuronId>& neurons,
                              const std::vector<std::vector<int>>& prompts) const {
    std::vector<float> signs(neurons.size(), 1.0f);
    if (prompts.empty())
        return signs;
    TransformerImpl& net = network(*m_model);
    torch::NoGradGuard g;
    std::vector<double> sum(neurons.size(), 0.0);
    for (const auto& p : prompts) {
        if (p.empty())
            throw Error("the prompt is empty");
        std::map<int, torch::Tensor> rec;
        Hooks read;
        for (const auto& n : neurons)
            if (!rec.count(n.layer)) {
                rec[n.layer] = torch::Tensor();
                read.add({HookSite::Neurons, n.layer, HookOp::Read, -1, {}, {}, &rec[n.layer]});
            }
        // The neurons where the prompt asks (a masked model's first mask).
        const int at = m_model->queryPositions(p).front();
        net.forward(idsTensor(*m_model, p), &read, nullptr, !m_model->isMaskedLm());
        const int64_t row = m_model->isMaskedLm() ? at : -1;
        for (std::size_t k = 0; k < neurons.size(); ++k)
            sum[k] += rec[neurons[k].layer][0][row][neurons[k].neuron].item<double>();
    }
    for (std::size_t k = 0; k < neurons.size(); ++k)
        signs[k] = sum[k] < 0 ? -1.0f : 1.0f;
    return signs;
}

int WeightEditor::eraseRelation(const std::vector<NeuronId>& neurons,
                                const std::string& description) {
    checkNeurons(neurons);
    torch::NoGradGuard g;
    const int id = m_nextId++;
    auto& before = m_before[id];
    for (const auto& n : neurons) {
        auto v = valueRow(*m_model, n);
        before.emplace(n, toVector(v));
        v.zero_();
    }
    m_model->noteWeightsChanged();
    m_changes.push_back(
        {id, "erase-relation", description.empty() ? "erase relation" : description, neurons});
    return id;
}

void WeightEditor::restore(int id) {
    auto pos = std::find_if(m_changes.begin(), m_changes.end(),
                            [&](const WeightChange& c) { return c.id == id; });
    if (pos == m_changes.end())
        throw Error("no weight change with id " + std::to_string(id));
    torch::NoGradGuard g;
    // Changes made after `id` may have touched the same rows; undoing the
    // newest first, back to `id`, restores exactly the weights before `id`.
    while (!m_changes.empty()) {
        const WeightChange last = m_changes.back();
        for (const auto& [n, row] : m_before[last.id]) {
            auto v = valueRow(*m_model, n);
            v.copy_(torch::from_blob(const_cast<float*>(row.data()),
                                     {static_cast<int64_t>(row.size())}, torch::kFloat)
                        .to(v.device()));
        }
        m_before.erase(last.id);
        m_changes.pop_back();
        if (last.id == id)
            break;
    }
    m_model->noteWeightsChanged();
}

void WeightEditor::restoreAll() {
    if (!m_changes.empty())
        restore(m_changes.front().id);
}

} // namespace scalpel
