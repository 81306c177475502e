#pragma once

// Plain values the widgets show and emit. They carry no engine types so the
// widgets build and test without LibTorch; the app converts at its boundary.

#include <QHash>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QtNumeric>

// One token of the prompt as the tokenizer split it. `unknown` marks a word
// the vocabulary lacks, which the model reads as its unknown token.
struct TokenChip {
    QString text;
    int id = -1;
    bool unknown = false;
    bool mask = false; // a masked model's mask token: the slot the model fills
};

// One entry of a top-k next-token list.
struct PredictionRow {
    QString token;
    int id = -1;
    double prob = 0;
};

// One edit of the SERAC edit memory as the table shows it. `scopeProb` is the
// scope classifier's probability that the current prompt falls in this edit's
// scope (NaN when not scored); `stage` names the classifier stage that decided
// ("embedding", "cross-attention" or empty).
struct EditRow {
    QString id;
    bool enabled = true;
    QString prompt;
    QString answer;
    double scopeProb = qQNaN();
    QString stage;
};

// Two rows are equal when every field is; two unscored (NaN) scopes count as
// equal so an unscored row compares equal to its copy.
inline bool operator==(const EditRow& a, const EditRow& b) noexcept {
    const bool sameScope =
        (qIsNaN(a.scopeProb) && qIsNaN(b.scopeProb)) || a.scopeProb == b.scopeProb;
    return a.id == b.id && a.enabled == b.enabled && a.prompt == b.prompt && a.answer == b.answer &&
           sameScope && a.stage == b.stage;
}

inline bool operator!=(const EditRow& a, const EditRow& b) noexcept {
    return !(a == b);
}
// Moved by memcpy when a vector of a million rows grows (every member is).
Q_DECLARE_TYPEINFO(EditRow, Q_RELOCATABLE_TYPE);

// Identifies one FFN neuron: the layer and the index inside that layer's
// intermediate (4 * hidden) activations.
struct NeuronRef {
    int layer = 0;
    int neuron = 0;
};

inline bool operator==(const NeuronRef& a, const NeuronRef& b) noexcept {
    return a.layer == b.layer && a.neuron == b.neuron;
}

inline bool operator!=(const NeuronRef& a, const NeuronRef& b) noexcept {
    return !(a == b);
}

inline size_t qHash(const NeuronRef& ref, size_t seed = 0) noexcept {
    return qHashMulti(seed, ref.layer, ref.neuron);
}

// What neurons write into the residual stream, read in the vocabulary: for
// each, the tokens its value vector promotes most, most promoted first
// (Geva et al., EMNLP 2022). Neurons not in the hash are not known yet.
using NeuronWrites = QHash<NeuronRef, QStringList>;

// "dublin · paris · lisbon": the first `n` tokens a neuron writes.
inline QString writesText(const QStringList& tokens, int n = 3) {
    return tokens.mid(0, n).join(QStringLiteral(" · "));
}

// A multiplicative factor applied to one neuron's activation: 0 suppresses,
// 1 leaves it alone, 2 amplifies.
struct NeuronScale {
    int layer = 0;
    int neuron = 0;
    double factor = 1.0;
};

inline bool operator==(const NeuronScale& a, const NeuronScale& b) noexcept {
    return a.layer == b.layer && a.neuron == b.neuron && a.factor == b.factor;
}

// A neuron that survived refining: it was a candidate in `prompts` of the
// prompts, with `meanScore` its attribution averaged over those prompts.
struct RefinedNeuron {
    int layer = 0;
    int neuron = 0;
    int prompts = 0;
    double meanScore = 0;
};

Q_DECLARE_METATYPE(TokenChip)
Q_DECLARE_METATYPE(PredictionRow)
Q_DECLARE_METATYPE(EditRow)
Q_DECLARE_METATYPE(NeuronRef)
Q_DECLARE_METATYPE(NeuronScale)
Q_DECLARE_METATYPE(RefinedNeuron)
