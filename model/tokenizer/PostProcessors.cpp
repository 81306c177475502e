#include "PostProcessors.h"

#include "Error.h"
#include "JsonFields.h"
#include "TokenizerText.h"

#include <algorithm>
#include <map>

namespace scalpel::tok {

void RawEncoding::push(int id, std::string token, std::pair<std::size_t, std::size_t> offset,
                       bool isSpecial, bool isUnknown, int typeId) {
    ids.push_back(id);
    tokens.push_back(std::move(token));
    offsets.push_back(offset);
    special.push_back(isSpecial);
    unknown.push_back(isUnknown);
    typeIds.push_back(typeId);
}

void RawEncoding::append(RawEncoding&& o) {
    for (std::size_t i = 0; i < o.ids.size(); ++i)
        push(o.ids[i], std::move(o.tokens[i]), o.offsets[i], o.special[i], o.unknown[i],
             o.typeIds[i]);
}

void RawEncoding::setTypeIds(int typeId) {
    std::fill(typeIds.begin(), typeIds.end(), typeId);
}

namespace {

// HF's byte-level process_offsets: offsets leave out leading and trailing
// spaces ('Ġ') of a token, except the one space add_prefix_space put first.
void trimOffsets(RawEncoding& e, bool addPrefixSpace) {
    auto isSpace = [](char32_t c) { return c == 0x120 || isWhitespace(c); };
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
        const auto chars = decodeAll(e.tokens[i]);
        std::size_t lead = 0, trail = 0;
        while (lead < chars.size() && isSpace(chars[lead]))
            ++lead;
        while (trail < chars.size() && isSpace(chars[chars.size() - 1 - trail]))
            ++trail;
        auto& [start, end] = e.offsets[i];
        if (lead > 0) {
            const bool first = i == 0 || start == 0;
            if (first && addPrefixSpace && lead == 1)
                lead = 0;
            start = std::min(start + lead, end);
        }
        if (trail > 0 && end >= trail)
            end = std::max(end - trail, start);
    }
}

struct SpecialToken {
    std::vector<int> ids;
    std::vector<std::string> tokens;
};

class Template : public PostProcessor {
public:
    struct Item {
        bool isSequence;
        std::string id; // "A"/"B" or the special token's name
        int typeId;
    };
    std::vector<Item> single;
    std::map<std::string, SpecialToken> specials;

    void process(RawEncoding& e, bool add) const override {
        RawEncoding out;
        for (const Item& it : single) {
            if (it.isSequence) {
                RawEncoding seq = std::move(e);
                seq.setTypeIds(it.typeId);
                out.append(std::move(seq));
                e = RawEncoding();
            } else if (add) {
                const SpecialToken& s = specials.at(it.id);
                for (std::size_t k = 0; k < s.ids.size(); ++k)
                    out.push(s.ids[k], s.tokens[k], {0, 0}, true, false, it.typeId);
            }
        }
        e = std::move(out);
    }
    std::vector<int> prefixIds() const override { return around(true); }
    std::vector<int> suffixIds() const override { return around(false); }

private:
    std::vector<int> around(bool before) const {
        std::vector<int> out;
        bool seenSequence = false;
        for (const Item& it : single) {
            if (it.isSequence)
                seenSequence = true;
            else if (seenSequence != before)
                for (int id : specials.at(it.id).ids)
                    out.push_back(id);
        }
        return out;
    }
};

// BertProcessing and RobertaProcessing: cls A sep.
class ClsSep : public PostProcessor {
public:
    std::pair<std::string, int> cls, sep;
    bool trim = false, addPrefixSpace = false;

    void process(RawEncoding& e, bool add) const override {
        if (trim)
            trimOffsets(e, addPrefixSpace);
        if (!add)
            return;
        RawEncoding out;
        out.push(cls.second, cls.first, {0, 0}, true, false);
        out.append(std::move(e));
        out.push(sep.second, sep.first, {0, 0}, true, false);
        e = std::move(out);
    }
    std::vector<int> prefixIds() const override { return {cls.second}; }
    std::vector<int> suffixIds() const override { return {sep.second}; }
};

class ByteLevelProcessor : public PostProcessor {
public:
    bool trim = true, addPrefixSpace = true;
    void process(RawEncoding& e, bool) const override {
        if (trim)
            trimOffsets(e, addPrefixSpace);
    }
};

class Sequence : public PostProcessor {
public:
    std::vector<std::unique_ptr<PostProcessor>> parts;
    void process(RawEncoding& e, bool add) const override {
        for (const auto& p : parts)
            p->process(e, add);
    }
    std::vector<int> prefixIds() const override {
        std::vector<int> out;
        for (const auto& p : parts)
            for (int id : p->prefixIds())
                out.push_back(id);
        return out;
    }
    std::vector<int> suffixIds() const override {
        std::vector<int> out;
        for (const auto& p : parts)
            for (int id : p->suffixIds())
                out.push_back(id);
        return out;
    }
};

std::pair<std::string, int> readTokenPair(const nlohmann::json& j, const char* key,
                                          const std::pair<std::string, int>& fallback,
                                          const std::string& where) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
        !(*it)[1].is_number_integer())
        throw Error(where + ": post-processor field '" + key + "' is not [token, id]");
    return {(*it)[0].get<std::string>(), (*it)[1].get<int>()};
}

std::unique_ptr<PostProcessor> makeTemplate(const nlohmann::json& j, const std::string& where) {
    auto t = std::make_unique<Template>();
    const auto specials = j.value("special_tokens", nlohmann::json::object());
    if (!specials.is_object())
        throw Error(where + ": TemplateProcessing special_tokens is not an object");
    for (auto it = specials.begin(); it != specials.end(); ++it) {
        SpecialToken s;
        s.ids = it->value("ids", std::vector<int>());
        s.tokens = it->value("tokens", std::vector<std::string>());
        if (s.ids.size() != s.tokens.size())
            throw Error(where + ": TemplateProcessing special token '" + it.key() +
                        "' has different numbers of ids and tokens");
        t->specials[it.key()] = std::move(s);
    }
    const auto single = j.value("single", nlohmann::json::array());
    if (!single.is_array())
        throw Error(where + ": TemplateProcessing 'single' is not a list");
    for (const auto& item : single) {
        Template::Item it{};
        if (item.contains("Sequence")) {
            it.isSequence = true;
            it.id = jsonField(item["Sequence"], "id", std::string("A"), where);
            it.typeId = jsonField(item["Sequence"], "type_id", 0, where);
        } else if (item.contains("SpecialToken")) {
            it.id = jsonField(item["SpecialToken"], "id", std::string(), where);
            it.typeId = jsonField(item["SpecialToken"], "type_id", 0, where);
            if (!t->specials.count(it.id))
                throw Error(where + ": TemplateProcessing uses the special token '" + it.id +
                            "' but does not define it");
        } else {
            throw Error(where + ": TemplateProcessing item is neither Sequence nor SpecialToken");
        }
        t->single.push_back(std::move(it));
    }
    return t;
}

} // namespace

std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& j,
                                                 const std::string& where) {
    if (j.is_null())
        return nullptr;
    if (!j.is_object())
        throw Error(where + ": the post-processor is not an object");
    const std::string type = jsonField(j, "type", std::string(), where);
    if (type == "TemplateProcessing")
        return makeTemplate(j, where);
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto p = std::make_unique<ClsSep>();
        const bool bert = type == "BertProcessing";
        p->cls = readTokenPair(
            j, "cls", bert ? std::make_pair("[CLS]", 101) : std::make_pair("<s>", 0), where);
        p->sep = readTokenPair(
            j, "sep", bert ? std::make_pair("[SEP]", 102) : std::make_pair("</s>", 2), where);
        p->trim = !bert && jsonField(j, "trim_offsets", true, where);
        p->addPrefixSpace = !bert && jsonField(j, "add_prefix_space", true, where);
        return p;
    }
    if (type == "ByteLevel") {
        auto p = std::make_unique<ByteLevelProcessor>();
        p->trim = jsonField(j, "trim_offsets", true, where);
        p->addPrefixSpace = jsonField(j, "add_prefix_space", true, where);
        return p;
    }
    if (type == "Sequence") {
        auto p = std::make_unique<Sequence>();
        const auto list = j.value("processors", nlohmann::json::array());
        if (!list.is_array())
            throw Error(where + ": 'processors' of a Sequence post-processor is not a list");
        for (const auto& item : list)
            if (auto q = makePostProcessor(item, where))
                p->parts.push_back(std::move(q));
        return p;
    }
    throw Error(where + ": post_processor type '" + type +
                "' is not supported (supported: TemplateProcessing, BertProcessing, "
                "RobertaProcessing, ByteLevel, Sequence)");
}

} // namespace scalpel::tok
