#include "Shards.h"

#include "AtomicFile.h"
#include "Error.h"
#include "Fnv.h"
#include "JsonFields.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <map>
#include <sys/stat.h>

namespace scalpel {

namespace {

constexpr int kPartialVersion = 1;
// Partials hold per-item records; a million facts of a few hundred bytes.
constexpr std::size_t kMaxPartialBytes = std::size_t(1) << 30;

struct Fnv {
    std::uint64_t h = kFnvOffset;
    void add(const char* p, std::size_t n) { h = fnv1a(p, n, h); }
    void add(const std::string& s) { add(s.data(), s.size() + 1); } // with the NUL
    std::string hex() const { return fnvHex(h); }
};

void addFile(Fnv& f, const std::string& path) {
    f.h = fnv1aFile(path, f.h);
}

// The first difference between two option objects, as "options.KEY".
std::string firstDifference(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b,
                            const std::string& prefix) {
    if (a.is_object() && b.is_object()) {
        for (const auto& [k, v] : a.items()) {
            if (!b.contains(k))
                return prefix + "." + k;
            const std::string d = firstDifference(v, b.at(k), prefix + "." + k);
            if (!d.empty())
                return d;
        }
        for (const auto& [k, v] : b.items())
            if (!a.contains(k))
                return prefix + "." + k;
        return {};
    }
    return a == b ? std::string() : prefix;
}

std::string valueAt(const nlohmann::ordered_json& j, const std::string& dotted) {
    const nlohmann::ordered_json* p = &j;
    std::size_t start = 0;
    while (start <= dotted.size()) {
        const auto dot = dotted.find('.', start);
        const std::string key = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
        if (!p->is_object() || !p->contains(key))
            return "(none)";
        p = &p->at(key);
        if (dot == std::string::npos)
            break;
        start = dot + 1;
    }
    return p->dump();
}

} // namespace

ShardSpec parseShardSpec(const std::string& text) {
    const auto slash = text.find('/');
    auto number = [&](const std::string& s, const char* what) {
        if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
            throw Error("--shard takes I/N (shard I of N, counted from 0), got '" + text +
                        "': " + what + " is not a whole number");
        return std::stoi(s);
    };
    if (slash == std::string::npos)
        throw Error("--shard takes I/N (shard I of N, counted from 0), got '" + text + "'");
    ShardSpec s;
    s.index = number(text.substr(0, slash), "I");
    s.count = number(text.substr(slash + 1), "N");
    if (s.count < 1)
        throw Error("--shard " + text + ": N must be at least 1");
    if (s.index >= s.count)
        throw Error("--shard " + text + ": I must be below N (shards are 0 to " +
                    std::to_string(s.count - 1) + ")");
    return s;
}

std::string shardName(const ShardSpec& s) {
    return std::to_string(s.index) + "/" + std::to_string(s.count);
}

std::vector<std::size_t> shardItems(std::size_t items, const ShardSpec& s) {
    std::vector<std::size_t> out;
    for (std::size_t i = static_cast<std::size_t>(s.index); i < items;
         i += static_cast<std::size_t>(s.count))
        out.push_back(i);
    return out;
}

std::string hashBytes(const std::string& bytes) {
    Fnv f;
    f.add(bytes.data(), bytes.size());
    return f.hex();
}

std::string hashPath(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error("cannot open " + path);
    Fnv f;
    if (!S_ISDIR(st.st_mode)) {
        addFile(f, path);
        return f.hex();
    }
    DIR* d = ::opendir(path.c_str());
    if (!d)
        throw Error("cannot open " + path);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        struct stat fs {};
        if (name[0] != '.' && ::stat((path + "/" + name).c_str(), &fs) == 0 && S_ISREG(fs.st_mode))
            names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        f.add(n);
        addFile(f, path + "/" + n);
    }
    return f.hex();
}

nlohmann::ordered_json partialToJson(const Partial& p) {
    nlohmann::ordered_json records = nlohmann::ordered_json::array();
    for (const auto& [item, r] : p.records)
        records.push_back({{"item", item}, {"record", r}});
    return {{"scalpel_partial", kPartialVersion}, {"command", p.command},
            {"shard", shardName(p.shard)},        {"items", p.items},
            {"fingerprint", p.fingerprint},       {"records", records}};
}

void writePartial(const std::string& path, const Partial& p) {
    writeFileAtomically(path, partialToJson(p).dump() + "\n");
}

Partial readPartial(const std::string& path) {
    nlohmann::ordered_json j;
    try {
        j = nlohmann::ordered_json::parse(readFile(path, kMaxPartialBytes));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + " is not a partial result file: " + jsonMessage(e));
    }
    if (!j.is_object() || !j.contains("scalpel_partial"))
        throw Error(path + " is not a partial result file (no 'scalpel_partial' key)");
    Partial p;
    p.file = path;
    auto need = [&](const char* key) -> const nlohmann::ordered_json& {
        if (!j.contains(key))
            throw Error(path + ": partial result has no '" + key + "'");
        return j.at(key);
    };
    try {
        if (need("scalpel_partial").get<int>() != kPartialVersion)
            throw Error(path + ": partial result version " + j.at("scalpel_partial").dump() +
                        " is not " + std::to_string(kPartialVersion));
        p.command = need("command").get<std::string>();
        p.shard = parseShardSpec(need("shard").get<std::string>());
        p.items = need("items").get<std::size_t>();
        p.fingerprint = need("fingerprint");
        if (!p.fingerprint.is_object())
            throw Error(path + ": 'fingerprint' is not an object");
        for (const auto& r : need("records")) {
            if (!r.is_object() || !r.contains("item") || !r.contains("record"))
                throw Error(path + ": a record lacks 'item' or 'record'");
            p.records.emplace_back(r.at("item").get<std::size_t>(), r.at("record"));
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": " + jsonMessage(e));
    } catch (const Error& e) {
        const std::string m = e.what();
        if (m.rfind(path, 0) == 0)
            throw;
        throw Error(path + ": " + m);
    }
    return p;
}

ShardSurvey surveyPartials(const std::vector<Partial>& partials) {
    if (partials.empty())
        throw Error("no partial result files to merge");
    const Partial& first = partials.front();
    auto name = [](const Partial& p) { return p.file.empty() ? std::string("a partial") : p.file; };
    std::map<int, const Partial*> byShard;
    for (const Partial& p : partials) {
        auto differs = [&](const std::string& field, const std::string& mine,
                           const std::string& theirs) {
            throw Error(name(p) + ": " + field + " differs from " + name(first) + "'s (" + mine +
                        " vs " + theirs + "); its shard belongs to another run");
        };
        if (p.command != first.command)
            differs("command", p.command, first.command);
        const std::string d = firstDifference(p.fingerprint, first.fingerprint, "fingerprint");
        if (!d.empty())
            differs(d.substr(std::string("fingerprint.").size()),
                    valueAt(p.fingerprint, d.substr(12)), valueAt(first.fingerprint, d.substr(12)));
        if (p.shard.count != first.shard.count)
            differs("shard count", std::to_string(p.shard.count),
                    std::to_string(first.shard.count));
        if (p.items != first.items)
            differs("item count", std::to_string(p.items), std::to_string(first.items));
        const auto [it, fresh] = byShard.emplace(p.shard.index, &p);
        if (!fresh)
            throw Error("shard " + shardName(p.shard) + " is given twice: " + name(*it->second) +
                        " and " + name(p));
        for (const auto& [item, r] : p.records)
            if (item >= p.items ||
                static_cast<int>(item % static_cast<std::size_t>(p.shard.count)) != p.shard.index)
                throw Error(name(p) + ": a record for item " + std::to_string(item) +
                            ", which is not in shard " + shardName(p.shard));
    }
    ShardSurvey s;
    s.command = first.command;
    s.count = first.shard.count;
    for (int i = 0; i < s.count; ++i)
        (byShard.count(i) ? s.present : s.missing).push_back(i);
    return s;
}

MergedRun mergePartials(const std::vector<Partial>& partials) {
    const ShardSurvey s = surveyPartials(partials);
    if (!s.missing.empty()) {
        std::string list;
        for (int i : s.missing)
            list += (list.empty() ? "" : ", ") + shardName({i, s.count});
        throw Error("shards missing: " + list + " (run them, then merge again)");
    }
    MergedRun m;
    m.command = s.command;
    m.fingerprint = partials.front().fingerprint;
    const std::size_t n = partials.front().items;
    std::vector<const nlohmann::ordered_json*> at(n, nullptr);
    for (const Partial& p : partials)
        for (const auto& [item, r] : p.records) {
            if (at[item])
                throw Error((p.file.empty() ? std::string("a partial") : p.file) + ": item " +
                            std::to_string(item) + " has two records");
            at[item] = &r;
        }
    for (std::size_t i = 0; i < n; ++i) {
        if (!at[i]) {
            const ShardSpec owner{static_cast<int>(i % static_cast<std::size_t>(s.count)), s.count};
            throw Error("item " + std::to_string(i) + " has no record in shard " +
                        shardName(owner) + "'s partial");
        }
        m.records.push_back(*at[i]);
    }
    return m;
}

} // namespace scalpel
