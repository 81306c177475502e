#pragma once
// Plain values that cross between the UI thread and the ModelWorker. They
// carry no engine object, so either side can copy them freely; Qt's implicit
// sharing keeps the large ones (10,000 edit rows, a score grid) cheap to queue.
#include "WidgetTypes.h"

#include <QHash>
#include <QMetaType>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>

// Everything a keystroke or a slider move asks for: the three prediction
// columns, the prompt's tokens and the scope of every edit.
struct PredictRequest {
    quint64 generation = 0;
    QString prompt;
    QVector<NeuronScale> scales;
    int topK = 10;
};

struct PredictResult {
    quint64 generation = 0;
    QString prompt;
    QVector<TokenChip> tokens; // the tokens the model reads
    int droppedTokens = 0;     // earlier tokens cut to fit the context
    QString warning;           // the prompt was cut to the context, or could not be run
    QVector<PredictionRow> base;
    QVector<PredictionRow> edited;
    QVector<PredictionRow> intervened;
    bool seracAvailable = false;
    QString seracStatus; // why the edited column is empty, when it is
    QString routedTo;    // "base" or the id of the edit that answered
    double routedProb = 0;
    QHash<QString, QPair<double, QString>> scopes; // edit id -> (probability, stage)
    // The known fact the prompt states, if any: its paraphrases and answer
    // fill the refining panel.
    QStringList factPrompts;
    QString factAnswer;
    double routingThreshold = 0; // the edit answers when its scope p is above this
    double elapsedMs = 0;
    double scopeMs = 0;
    // While a large memory's scope index is being built: how far, and what
    // answers meanwhile. Empty otherwise.
    QString scopeIndexNote;
};

struct AttributionRequest {
    quint64 generation = 0;
    QString prompt;
    QString target;
    int steps = 20;
};

// One layers x neurons grid, as the heatmap and the session store it.
struct AttributionData {
    int layers = 0;
    int neurons = 0;
    QVector<float> scores;
    QString prompt;
    QString target;
    double targetProb = 0;
    bool isEmpty() const { return scores.isEmpty(); }
};

struct AttributionResult {
    quint64 generation = 0;
    AttributionData grid;
    bool cancelled = false;
    QString error;
    double elapsedMs = 0;
};

struct RefineRequest {
    quint64 generation = 0;
    QStringList prompts;
    QString target;
    double share = 0.7;
    double threshold = 0.2;
    int steps = 20;
};

struct RefineResult {
    quint64 generation = 0;
    QStringList prompts; // what was refined, so a late result says which fact it is
    QString target;
    QVector<RefinedNeuron> neurons;
    AttributionData firstGrid; // the first prompt's grid, for the heatmap
    bool cancelled = false;
    QString error;
    double elapsedMs = 0;
};

// The answer's probability against one master scale applied to every neuron.
struct CurveRequest {
    quint64 generation = 0;
    QString prompt;
    QString answer;
    QVector<NeuronRef> neurons;
    QVector<double> scales;
};

struct CurveResult {
    quint64 generation = 0;
    QString prompt;
    QVector<double> scales;
    QVector<double> probs;
    QString answer;
    QString error;
};

// A change to the model's weights (or a look at what one would do). Ops are
// never replaced by later ones: each is applied in the order it was asked.
// `token` is the UI's name for the change, so an undo can be asked for before
// the worker has answered the apply.
struct WeightOp {
    enum class Kind { UpdateFact, EraseRelation, Restore, RestoreAll, Preview };
    Kind kind = Kind::UpdateFact;
    int token = 0;
    QVector<NeuronRef> neurons;
    QString oldObject;
    QString newObject; // empty for an erase
    QString description;
    // The fact's prompt: a preview shows its top-k; an update takes a gated
    // MLP's neuron signs from it.
    QString prompt;
    bool erase = false; // for a preview: erase rather than update
};

// One other prompt in a preview: its top answer before and after.
struct PreviewLine {
    QString prompt;
    PredictionRow before;
    PredictionRow after;
};

struct WeightOpResult {
    WeightOp op;
    bool ok = false;
    QString error;
    QVector<PredictionRow> before; // previews only
    QVector<PredictionRow> after;
    QVector<PreviewLine> others; // previews only: other facts of the relation and the subject
};

struct ModelLoadResult {
    bool ok = false;
    QString path;
    QString error;
    bool cancelled = false;
    QString name;
    QString device;
    QString family;              // the builder: gpt2, llama, gpt_neox, bert
    QString modelType;           // config.json's model_type
    QString dtypeOnDisk;         // F32, F16, BF16
    bool openVocabulary = false; // byte-level BPE: any text is an answer it can say
    QString maskToken;           // a masked model's mask token ("[MASK]"); empty for a causal model
    int layers = 0;
    int neuronsPerLayer = 0;
    qint64 parameters = 0;
    bool seracAvailable = false;
    QString seracStatus;
    QStringList entities; // the words the model knows as answers, for completers
};

Q_DECLARE_METATYPE(PredictRequest)
Q_DECLARE_METATYPE(PredictResult)
Q_DECLARE_METATYPE(AttributionRequest)
Q_DECLARE_METATYPE(AttributionResult)
Q_DECLARE_METATYPE(RefineRequest)
Q_DECLARE_METATYPE(RefineResult)
Q_DECLARE_METATYPE(CurveRequest)
Q_DECLARE_METATYPE(CurveResult)
Q_DECLARE_METATYPE(WeightOp)
Q_DECLARE_METATYPE(WeightOpResult)
Q_DECLARE_METATYPE(ModelLoadResult)

// Registers the types above for queued connections (once per process).
void registerWorkerTypes();
