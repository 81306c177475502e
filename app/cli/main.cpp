// scalpel-cli: the engine headless, for batch work and benchmarks. JSON on
// stdout; an error is one line on stderr and a non-zero exit status.
#include "Commands.h"

#include "LanguageModel.h"

#include <cstring>
#include <string>
#include <vector>
#include <functional>
#include <map>
#include <set>

namespace {

const char* kUsage = R"(usage: scalpel-cli COMMAND [options]   (JSON on stdout)
  info        [--model DIR] [--device cpu|cuda|auto]
  tokenize    [--model DIR] --text T [--text T2 ...] [--no-special-tokens]
  predict     [--model DIR] --prompt P [--prompt P2 ...] [--top-k K] [--scale LAYER:NEURON=FACTOR ...]
              [--no-special-tokens] [--answer A]
              (several --text or --prompt: a JSON array, one object each, in order)
              (a masked model: one distribution per [MASK]; --answer A scores A's n
              tokens in n masks as the product of their probabilities)
  generate    [--model DIR] --prompt P --max-new-tokens N
  train-lm    --facts FILE --out DIR [--seed S] [--steps N] [--batch B] [--lr X] [--label-smoothing 0.1]
              [--ffn-drop 0.2] [--word-dropout 0] [--word-insertion 0]
              [--unknown-subject 0] [--objective causal|mlm] [--mask-rate 0.15]
              [--layers L] [--hidden H] [--heads A] [--checkpoint-every N] [--facts-per-relation N]
  eval-facts  [--model DIR] [--facts FILE] [--shard I/N [--partial F]]
              [--split train|heldout|novel|grammar|questions|heldout-frames|heldout-nouns]
              [--style cased|lowercase|unknown-word|official]
  attribute   [--model DIR] --prompt P (--target T | --target-id N) [--steps 20]
              [--method fast|reference] [--no-special-tokens]
  attribute-batch [--model DIR] (--facts FILE | --edits FILE [--from FORMAT] [--answer true|new])
              --out-dir DIR [--steps 20] [--method fast|reference] [--shard I/N [--partial F]]
  knowledge-neurons [--model DIR] (--fact SUBJECT:RELATION | --prompts-file F (--target T | --target-id N))
              [--threshold 0.2] [--share 0.7] [--steps 20]
  kn-eval     [--model DIR] [--facts-per-relation N] [--seed S] [--shard I/N [--partial F]]
  kn-edit     [--model DIR] (--fact S:R --new-object O | --erase-relation R) --out DIR2
              [--facts-per-relation 10]
  trace       [--model DIR] --prompt P --subject S [--answer A] [--kind hidden|mlp|attn|all]
              [--samples 10] [--noise 3] [--window 10] [--seed N] [--include-noise]
              [--approximate | --method fast|naive|approximate] [--sigma X | --noise-subjects FILE]
  trace-eval  [--model DIR] [--facts-per-relation 5] [--samples 10] [--noise 3] [--window 10]
              [--seed N] [--kind ...] [--approximate] [--plots DIR] [--compare-approximate]
              [--shard I/N [--partial F]]
  lens        [--model DIR] --prompt P [--top-k 5] [--answer A]
  neuron      [--model DIR] --layer L --index I [--top-k 10] [--final-norm]
  neurons-for [--model DIR] (--token T | --token-id N) [--prompt P] [--top-k 20]
  train-serac [--facts F] [--base DIR] --out DIR [--seed S] [--steps N]
              [--embedding-steps N] [--counterfactual-steps N]
  scope       [--model DIR] [--serac DIR] --edits FILE --prompt P
              [--scope-index auto|on|off] [--no-embedding-cache]
  predict     ... --edits FILE [--serac DIR] [--backend trained|in-context]
              [--scope-index auto|on|off] [--no-embedding-cache]
              (edit embeddings are cached in FILE.scope-cache.safetensors)
  eval-edits  [--model DIR] [--serac DIR] [--edits-in-memory N] [--seed S]
              [--backend trained|in-context] [--phrasing templates|grammar]
              [--scope-index auto|on|off (on: also the exact scan, and the routes that differ)]
              [--shard I/N [--partial F]]
  eval-edits  --edits FILE [--from FORMAT] [--method serac|serac-in-context|kn-update ...]
              [--mode batch|sequential ...] [--limit N] [--threshold P] [--steps 20] [--table]
              [--shard I/N [--partial F]]
  convert-edits --in FILE [--from FORMAT] --to counterfact|zsre|mquake|knowedit|scalpel --out FILE
              [--skip-bad] [--model DIR]
  export-facts [--facts FILE] [--format counterfact|zsre|mquake|knowedit|scalpel] --out FILE
              [--count N] [--seed S] [--paraphrases 3] [--neighbours 3]
  check-edits --edits FILE [--from FORMAT] [--model DIR] [--serac DIR] [--threshold P]
              [--scope-top-k 4] [--candidate-floor 0.05] [--no-scope] [--facts FILE]
  merge       FILES... --out RESULT      the partials of a sharded run -> what the unsharded run prints
  merge       FILES... --missing [--shards N]   which shards are still to run
Batch commands (eval-facts, kn-eval, trace-eval, attribute-batch, eval-edits) take
--shard I/N: shard I (0 to N-1) works on items I, I+N, I+2N, ... and writes their records
with its inputs' fingerprint to --partial F (default COMMAND.shard-I-of-N.json) for merge.
Edit files: FORMAT is scalpel, counterfact, zsre, mquake or knowedit (detected when not given).
Every command takes --threads N (LibTorch threads; default $SCALPEL_THREADS, else the core count).
--serac defaults to resources/models/serac.
--model defaults to the built-in model (resources/models/factworld); a model is a
Hugging Face folder of family gpt2, llama, mistral, qwen2, qwen3 or gpt_neox.
Prompts get the special tokens Hugging Face adds by default (Llama's BOS, for
instance); --no-special-tokens leaves them out.
)";

// The usage lines of one command: its line and the indented ones after it.
std::string usageOf(const std::string& command) {
    std::string out, line;
    bool inside = false;
    for (const char* p = kUsage; *p; ++p) {
        if (*p != '\n') {
            line += *p;
            continue;
        }
        const bool starts = line.rfind("  " + command + " ", 0) == 0;
        const bool continues = line.rfind("              ", 0) == 0;
        if (starts || (inside && continues)) {
            out += line + "\n";
            inside = true;
        } else {
            inside = false;
        }
        line.clear();
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    using namespace scalpel::cli;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    const std::map<std::string, std::function<int(const Args&)>> commands = {
        {"info", cmdInfo},
        {"tokenize", cmdTokenize},
        {"predict", cmdPredict},
        {"generate", cmdGenerate},
        {"train-lm", cmdTrainLm},
        {"eval-facts", cmdEvalFacts},
        {"attribute", cmdAttribute},
        {"attribute-batch", cmdAttributeBatch},
        {"knowledge-neurons", cmdKnowledgeNeurons},
        {"kn-eval", cmdKnEval},
        {"kn-edit", cmdKnEdit},
        {"trace", cmdTrace},
        {"trace-eval", cmdTraceEval},
        {"lens", cmdLens},
        {"neuron", cmdNeuron},
        {"neurons-for", cmdNeuronsFor},
        {"train-serac", cmdTrainSerac},
        {"scope", cmdScope},
        {"eval-edits", cmdEvalEdits},
        {"convert-edits", cmdConvertEdits},
        {"export-facts", cmdExportFacts},
        {"check-edits", cmdCheckEdits},
        {"merge", cmdMerge},
    };
    auto it = commands.find(argv[1]);
    if (it == commands.end()) {
        std::cerr << "scalpel-cli: unknown command '" << argv[1] << "' (see --help)" << std::endl;
        return 2;
    }
    for (int i = 2; i < argc; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::cout << "usage: scalpel-cli " << argv[1] << " [options]\n" << usageOf(argv[1]);
            return 0;
        }
    try {
        // --threads N, for every command: LibTorch's thread count, set
        // before any work ($SCALPEL_THREADS, else the core count, otherwise).
        std::vector<char*> rest(argv, argv + argc);
        for (std::size_t i = 2; i < rest.size(); ++i) {
            const std::string a = rest[i];
            std::string value;
            std::size_t take = 0;
            if (a == "--threads" && i + 1 < rest.size()) {
                value = rest[i + 1];
                take = 2;
            } else if (a.rfind("--threads=", 0) == 0) {
                value = a.substr(10);
                take = 1;
            }
            if (!take)
                continue;
            std::size_t used = 0;
            int n = 0;
            try {
                n = std::stoi(value, &used);
            } catch (...) {
            }
            if (used != value.size() || n <= 0)
                throw scalpel::Error("--threads must be a positive integer, got '" + value + "'");
            scalpel::setThreads(n);
            rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i),
                       rest.begin() + static_cast<std::ptrdiff_t>(i + take));
            --i;
        }
        const bool merge = !std::strcmp(argv[1], "merge");
        Args args(static_cast<int>(rest.size()), rest.data(), 2,
                  merge ? std::set<std::string>{"missing"} : std::set<std::string>{}, merge);
        return it->second(args);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (auto& c : msg)
            if (c == '\n')
                c = ' ';
        std::cerr << "scalpel-cli " << argv[1] << ": " << msg << std::endl;
        return 1;
    }
}
