#include "Normalizers.h"

#include "Error.h"
#include "JsonFields.h"

#include <vector>

namespace scalpel::tok {

namespace {

class UnicodeForm : public Normalizer {
public:
    explicit UnicodeForm(NormalForm f) : m_form(f) {}
    void normalize(NormalizedText& t) const override { t.normalize(m_form); }

private:
    NormalForm m_form;
};

void lowercase(NormalizedText& t) {
    t.mapChars([](char32_t c) { return toLower(c); });
}

void stripAccents(NormalizedText& t) {
    t.filterChars([](char32_t c) { return !isCombiningMark(c); });
}

class Lowercase : public Normalizer {
public:
    void normalize(NormalizedText& t) const override { lowercase(t); }
};

class StripAccents : public Normalizer {
public:
    void normalize(NormalizedText& t) const override { stripAccents(t); }
};

class Prepend : public Normalizer {
public:
    explicit Prepend(std::string s) : m_prepend(std::move(s)) {}
    void normalize(NormalizedText& t) const override { t.prepend(m_prepend); }

private:
    std::string m_prepend;
};

class Replace : public Normalizer {
public:
    Replace(std::unique_ptr<Regex> re, std::string content)
        : m_re(std::move(re)), m_content(std::move(content)) {}
    void normalize(NormalizedText& t) const override { t.replace(*m_re, m_content); }

private:
    std::unique_ptr<Regex> m_re;
    std::string m_content;
};

class Strip : public Normalizer {
public:
    Strip(bool left, bool right) : m_left(left), m_right(right) {}
    void normalize(NormalizedText& t) const override {
        const auto chars = decodeAll(t.text);
        std::size_t lead = 0, trail = 0;
        while (m_left && lead < chars.size() && isWhitespace(chars[lead]))
            ++lead;
        while (m_right && trail < chars.size() - lead &&
               isWhitespace(chars[chars.size() - 1 - trail]))
            ++trail;
        if (lead == 0 && trail == 0)
            return;
        std::vector<std::pair<char32_t, int>> dest;
        for (std::size_t i = lead; i + trail < chars.size(); ++i)
            dest.emplace_back(chars[i], 0);
        t.transform(dest, lead);
    }

private:
    bool m_left, m_right;
};

class Bert : public Normalizer {
public:
    Bert(bool clean, bool chinese, bool strip, bool lower)
        : m_clean(clean), m_chinese(chinese), m_strip(strip), m_lower(lower) {}
    void normalize(NormalizedText& t) const override {
        if (m_clean) {
            t.filterChars([](char32_t c) { return !(c == 0 || c == 0xfffd || isControl(c)); });
            t.mapChars([](char32_t c) { return std::u32string(1, isWhitespace(c) ? U' ' : c); });
        }
        if (m_chinese) {
            std::vector<std::pair<char32_t, int>> dest;
            for (char32_t c : decodeAll(t.text)) {
                if (isChineseChar(c)) {
                    dest.emplace_back(U' ', 0);
                    dest.emplace_back(c, 1);
                    dest.emplace_back(U' ', 1);
                } else {
                    dest.emplace_back(c, 0);
                }
            }
            t.transform(dest, 0);
        }
        if (m_strip) {
            t.normalize(NormalForm::NFD);
            t.filterChars([](char32_t c) { return !isNonspacingMark(c); });
        }
        if (m_lower)
            lowercase(t);
    }

private:
    bool m_clean, m_chinese, m_strip, m_lower;
};

class ByteLevelNormalizer : public Normalizer {
public:
    void normalize(NormalizedText& t) const override {
        std::vector<std::pair<char32_t, int>> dest;
        for (std::size_t i = 0, len = 0; i < t.text.size(); i += len) {
            decodeChar(t.text, i, len);
            for (std::size_t k = 0; k < len; ++k)
                dest.emplace_back(byteToChar(static_cast<unsigned char>(t.text[i + k])),
                                  k > 0 ? 1 : 0);
        }
        t.transform(dest, 0);
    }
};

class Sequence : public Normalizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : m_parts(std::move(parts)) {}
    void normalize(NormalizedText& t) const override {
        for (const auto& p : m_parts)
            p->normalize(t);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> m_parts;
};

} // namespace

std::unique_ptr<Regex> makePattern(const nlohmann::json& j, const std::string& where) {
    if (j.is_object() && j.contains("String") && j["String"].is_string())
        return std::make_unique<Regex>(j["String"].get<std::string>(), where, true);
    if (j.is_object() && j.contains("Regex") && j["Regex"].is_string())
        return std::make_unique<Regex>(j["Regex"].get<std::string>(), where, false);
    if (j.is_string()) // older files give the string directly
        return std::make_unique<Regex>(j.get<std::string>(), where, true);
    throw Error(where + ": a pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const std::string& where) {
    if (j.is_null())
        return nullptr;
    if (!j.is_object())
        throw Error(where + ": the normalizer is not an object");
    const std::string type = jsonField(j, "type", std::string(), where);
    if (type == "NFC")
        return std::make_unique<UnicodeForm>(NormalForm::NFC);
    if (type == "NFD")
        return std::make_unique<UnicodeForm>(NormalForm::NFD);
    if (type == "NFKC")
        return std::make_unique<UnicodeForm>(NormalForm::NFKC);
    if (type == "NFKD")
        return std::make_unique<UnicodeForm>(NormalForm::NFKD);
    if (type == "Lowercase")
        return std::make_unique<Lowercase>();
    if (type == "StripAccents")
        return std::make_unique<StripAccents>();
    if (type == "Prepend")
        return std::make_unique<Prepend>(jsonField(j, "prepend", std::string(), where));
    if (type == "Replace")
        return std::make_unique<Replace>(makePattern(j.value("pattern", nlohmann::json()), where),
                                         jsonField(j, "content", std::string(), where));
    if (type == "Strip")
        return std::make_unique<Strip>(jsonField(j, "strip_left", true, where),
                                       jsonField(j, "strip_right", true, where));
    if (type == "BertNormalizer") {
        const bool lower = jsonField(j, "lowercase", true, where);
        return std::make_unique<Bert>(jsonField(j, "clean_text", true, where),
                                      jsonField(j, "handle_chinese_chars", true, where),
                                      jsonField(j, "strip_accents", lower, where), lower);
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelNormalizer>();
    if (type == "Sequence") {
        const auto& list = j.value("normalizers", nlohmann::json::array());
        if (!list.is_array())
            throw Error(where + ": 'normalizers' of a Sequence normalizer is not a list");
        std::vector<std::unique_ptr<Normalizer>> parts;
        for (const auto& p : list)
            if (auto n = makeNormalizer(p, where))
                parts.push_back(std::move(n));
        return std::make_unique<Sequence>(std::move(parts));
    }
    throw Error(where + ": normalizer type '" + type +
                "' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, "
                "Prepend, Replace, Strip, BertNormalizer, ByteLevel, Sequence)");
}

} // namespace scalpel::tok
