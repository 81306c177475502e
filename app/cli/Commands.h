#pragma once
// The scalpel-cli subcommands. Each prints JSON on stdout and throws
// scalpel::Error for anything the user got wrong.
#include "Batch.h"
#include "CliArgs.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace scalpel::cli {

int cmdInfo(const Args& a);
int cmdTokenize(const Args& a);
int cmdPredict(const Args& a);
int cmdGenerate(const Args& a);
int cmdTrainLm(const Args& a);
int cmdEvalFacts(const Args& a);
int cmdTrainSerac(const Args& a);
int cmdScope(const Args& a);
int cmdEvalEdits(const Args& a);
// predict with --edits: routes through the edit memory (SERAC).
int cmdPredictWithEdits(const Args& a);
int cmdAttribute(const Args& a);
int cmdKnowledgeNeurons(const Args& a);
int cmdKnEval(const Args& a);
int cmdKnEdit(const Args& a);
int cmdConvertEdits(const Args& a);
int cmdExportFacts(const Args& a);
int cmdCheckEdits(const Args& a);
// eval-edits with --edits FILE: EasyEdit's and CounterFact's metrics.
int cmdEvalEditMetrics(const Args& a);
// Causal tracing, its fact-world average, the logit lens, value-vector
// projection and the reverse neuron search (CmdLocate.cpp).
int cmdTrace(const Args& a);
int cmdTraceEval(const Args& a);
int cmdLens(const Args& a);
int cmdNeuron(const Args& a);
int cmdNeuronsFor(const Args& a);
// merge FILES... --out RESULT: a sharded run's partials, as the unsharded
// run prints them (CmdMerge.cpp).
int cmdMerge(const Args& a);
// attribute-batch: every fact of a facts or edit file, one scores file each.
int cmdAttributeBatch(const Args& a);

// The report builders of the batch commands (see Batch.h).
nlohmann::ordered_json knEvalReport(const std::vector<Record>& records,
                                    const nlohmann::ordered_json& fingerprint);
nlohmann::ordered_json evalFactsReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& fingerprint);
nlohmann::ordered_json attributeBatchReport(const std::vector<Record>& records,
                                            const nlohmann::ordered_json& fingerprint);
nlohmann::ordered_json evalEditsReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& fingerprint);
nlohmann::ordered_json evalEditMetricsReport(const std::vector<Record>& records,
                                             const nlohmann::ordered_json& fingerprint);
nlohmann::ordered_json traceEvalReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& fingerprint);

inline void printJson(const nlohmann::ordered_json& j) {
    std::cout << j.dump(2) << std::endl;
}

} // namespace scalpel::cli
