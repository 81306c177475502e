#pragma once
// Tiny seeded random GPT-2 models for tests: written to a temporary folder
// in Hugging Face layout and loaded back through the ordinary loader.
#include "LanguageModel.h"
#include "ModelInternals.h"
#include "Tokenizer.h"

#include <QTemporaryDir>

#include <memory>
#include <string>
#include <vector>

namespace scalpel::test {

inline Tokenizer tinyTokenizer() {
    std::vector<std::string> vocab = {"[UNK]",   "[PAD]",    "[SEP]",  "[EOS]", "The",
                                      "capital", "of",       "is",     "a",     "city",
                                      ".",       "language", "spoken", "in"};
    return Tokenizer::makeWordLevel(
        vocab, {"Ireland", "Dublin", "France", "Paris", "Irish", "French"}, "[UNK]");
}

inline GptConfig tinyConfig(int layers = 2, int hidden = 16, int heads = 2, int context = 16) {
    GptConfig c;
    c.nLayer = layers;
    c.nHead = heads;
    c.nEmbd = hidden;
    c.nPositions = context;
    c.vocabSize = tinyTokenizer().vocabSize();
    return c;
}

// Random weights with a wider spread than GPT-2's initialisation, so that
// activations and attributions are far from zero.
inline std::shared_ptr<LanguageModel> tinyModel(uint64_t seed = 1, int layers = 2,
                                                int hidden = 16) {
    auto m = LanguageModel::createRandom(tinyConfig(layers, hidden), tinyTokenizer(), seed, "cpu");
    torch::NoGradGuard g;
    torch::manual_seed(seed);
    for (auto& p : network(*m).parameters())
        p.add_(torch::randn_like(p) * 0.3);
    return m;
}

// A copy of every weight, and whether the model still has exactly those.
inline std::vector<torch::Tensor> snapshot(LanguageModel& m) {
    std::vector<torch::Tensor> out;
    for (auto& p : network(m).parameters())
        out.push_back(p.detach().clone());
    return out;
}

inline bool bitIdentical(LanguageModel& m, const std::vector<torch::Tensor>& s) {
    auto params = network(m).parameters();
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!torch::equal(params[i], s[i]))
            return false;
    return true;
}

// Writes the model and loads it back from disk.
inline std::shared_ptr<LanguageModel> reloaded(const std::shared_ptr<LanguageModel>& m,
                                               const QTemporaryDir& dir) {
    m->save(dir.path().toStdString());
    return LanguageModel::load(dir.path().toStdString(), "cpu");
}

} // namespace scalpel::test
