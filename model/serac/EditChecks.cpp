#include "EditChecks.h"

#include "Attribution.h"
#include "Error.h"
#include "FactWorld.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <unordered_map>

namespace scalpel {

namespace {

// Lower case, runs of spaces as one, no spaces at the ends.
std::string normalised(const std::string& s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string inQuotes(const std::string& s) {
    return "\"" + s + "\"";
}

} // namespace

EditCheckReport checkEdits(const EditMemory& memory, const EditCheckOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    EditCheckReport report;
    const auto& edits = memory.edits();
    std::vector<int> enabled;
    for (std::size_t i = 0; i < edits.size(); ++i)
        if (edits[i].enabled)
            enabled.push_back(static_cast<int>(i));
    report.edits = static_cast<int>(enabled.size());
    auto add = [&](EditProblem p) {
        ++report.counts[p.kind];
        report.problems.push_back(std::move(p));
    };
    auto progress = [&](double f) {
        if (o.progress && !o.progress(f))
            throw Cancelled();
    };

    // Duplicates and conflicts: one pass with hash maps, so O(edits).
    std::unordered_map<std::string, int> byPrompt, byFact; // key -> first edit index
    // Edits already reported together (duplicates, conflicts) form groups;
    // a scope capture inside a group says nothing new.
    std::vector<int> parent(edits.size());
    for (std::size_t i = 0; i < parent.size(); ++i)
        parent[i] = static_cast<int>(i);
    auto root = [&](int x) {
        while (parent[static_cast<std::size_t>(x)] != x)
            x = parent[static_cast<std::size_t>(x)] =
                parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
        return x;
    };
    auto join = [&](int a, int b) { parent[static_cast<std::size_t>(root(b))] = root(a); };
    for (int i : enabled) {
        const Edit& e = edits[static_cast<std::size_t>(i)];
        const std::string prompt = normalised(e.prompt);
        auto [at, fresh] = byPrompt.emplace(prompt, i);
        if (!fresh) {
            const Edit& first = edits[static_cast<std::size_t>(at->second)];
            const bool same = normalised(first.answer) == normalised(e.answer);
            add({same ? "duplicate" : "conflict", e.id, i, first.id, at->second, "", 0,
                 same ? "the same prompt and answer as edit " + first.id
                      : "the same prompt as edit " + first.id + ", which answers " +
                            inQuotes(first.answer) + " instead of " + inQuotes(e.answer)});
            join(at->second, i);
            continue;
        }
        std::string subject = e.descriptor.subject, relation = e.descriptor.relationId;
        if ((subject.empty() || relation.empty()) && o.world)
            if (const auto m = o.world->match(e.prompt)) {
                subject = m->first.subject;
                relation = m->first.relation;
            }
        if (subject.empty() || relation.empty())
            continue;
        auto [fat, ffresh] = byFact.emplace(normalised(subject) + "\x01" + relation, i);
        if (!ffresh) {
            const Edit& first = edits[static_cast<std::size_t>(fat->second)];
            if (normalised(first.answer) != normalised(e.answer))
                add({"conflict", e.id, i, first.id, fat->second, "", 0,
                     "the same subject (" + subject + ") and relation (" + relation + ") as edit " +
                         first.id + ", which answers " + inQuotes(first.answer) + " instead of " +
                         inQuotes(e.answer)});
            else
                add({"duplicate", e.id, i, first.id, fat->second, "", 0,
                     "the same subject (" + subject + "), relation (" + relation +
                         ") and answer as edit " + first.id + " (another wording)"});
            join(fat->second, i);
        }
    }
    progress(0.1);

    const LanguageModel* model = o.model ? o.model : o.editor ? &o.editor->base() : nullptr;
    if (model) {
        std::unordered_map<std::string, std::string> seen; // answer -> "" or the reason
        for (int i : enabled) {
            const Edit& e = edits[static_cast<std::size_t>(i)];
            auto it = seen.find(e.answer);
            if (it == seen.end()) {
                std::string why;
                try {
                    if (encodeTarget(*model, e.answer).empty())
                        why = inQuotes(e.answer) + " gives no token";
                } catch (const Error& ex) {
                    why = ex.what();
                }
                it = seen.emplace(e.answer, why).first;
            }
            if (!it->second.empty())
                add({"unknown-answer", e.id, i, "", -1, "", 0,
                     "the answer is not in the model's vocabulary: " + it->second});
        }
    }
    progress(0.2);

    if (o.editor && !enabled.empty()) {
        if (o.editor->editCount() != enabled.size())
            throw Error("the scope check needs the editor synced with this memory");
        std::unordered_map<std::string, int> indexOf;
        for (int i : enabled)
            indexOf[edits[static_cast<std::size_t>(i)].id] = i;
        std::unordered_map<int, std::vector<std::string>> groupIds; // root -> edit ids
        for (int i : enabled)
            groupIds[root(i)].push_back(edits[static_cast<std::size_t>(i)].id);
        // Each distinct (text, group) is scored once: edits of one group
        // (the same fact several times) share their paraphrases.
        std::vector<std::string> texts;
        std::vector<std::vector<int>> owners;          // the edits each text belongs to
        std::vector<std::vector<std::string>> exclude; // its group: not candidates for it
        std::unordered_map<std::string, std::size_t> textIndex;
        auto addText = [&](const std::string& text, int i) {
            const std::string key = std::to_string(root(i)) + "\x01" + text;
            auto [it, fresh] = textIndex.emplace(key, texts.size());
            if (fresh) {
                texts.push_back(text);
                owners.emplace_back();
                exclude.push_back(groupIds[root(i)]);
            }
            auto& list = owners[it->second];
            if (list.empty() || list.back() != i)
                list.push_back(i);
        };
        for (int i : enabled) {
            const Edit& e = edits[static_cast<std::size_t>(i)];
            addText(e.prompt, i);
            for (const auto& p : e.descriptor.paraphrases)
                if (p.find_first_not_of(" \t\r\n") != std::string::npos)
                    addText(p, i);
        }
        report.inputs = static_cast<int>(texts.size());
        const auto s0 = std::chrono::steady_clock::now();
        std::vector<std::vector<ScopeScore>> captured;
        // In slices, so progress moves and a cancel is heard.
        const std::size_t slice = 2048;
        for (std::size_t from = 0; from < texts.size(); from += slice) {
            const auto first = static_cast<std::ptrdiff_t>(from);
            const auto last = static_cast<std::ptrdiff_t>(std::min(texts.size(), from + slice));
            const std::vector<std::string> part(texts.begin() + first, texts.begin() + last);
            const std::vector<std::vector<std::string>> partExclude(exclude.begin() + first,
                                                                    exclude.begin() + last);
            auto got = o.editor->captures(part, o.topK, partExclude, o.candidateFloor);
            for (auto& g : got)
                captured.push_back(std::move(g));
            progress(0.2 + 0.8 * static_cast<double>(captured.size()) / texts.size());
        }
        report.scopeSeconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
        std::set<std::pair<int, int>> reported;
        for (std::size_t t = 0; t < texts.size(); ++t)
            for (const int j : owners[t])
                for (const ScopeScore& s : captured[t]) {
                    const int i = indexOf.at(s.editId);
                    if (i == j || root(i) == root(j) || !reported.insert({i, j}).second)
                        continue;
                    const Edit& e = edits[static_cast<std::size_t>(i)];
                    const Edit& other = edits[static_cast<std::size_t>(j)];
                    // Routed to another edit with the same answer, the input
                    // is still answered as its own edit wants.
                    if (normalised(e.answer) == normalised(other.answer))
                        continue;
                    const bool isPrompt = texts[t] == other.prompt;
                    add({"scope-capture", e.id, i, other.id, j, texts[t], s.prob,
                         "its scope fires on edit " + other.id + "'s " +
                             (isPrompt ? "prompt" : "paraphrase") + " " + inQuotes(texts[t]) +
                             " (probability " + std::to_string(s.prob).substr(0, 5) +
                             "), which would be answered " + inQuotes(e.answer) + " instead of " +
                             inQuotes(other.answer)});
                }
    }
    std::stable_sort(
        report.problems.begin(), report.problems.end(),
        [](const EditProblem& a, const EditProblem& b) { return a.editIndex < b.editIndex; });
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return report;
}

} // namespace scalpel
