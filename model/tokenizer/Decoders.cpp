#include "Decoders.h"

#include "Error.h"
#include "JsonFields.h"
#include "Normalizers.h"
#include "TokenizerText.h"

namespace scalpel::tok {

namespace {

using Tokens = std::vector<std::string>;

class ByteLevel : public Decoder {
public:
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        std::string bytes;
        for (const std::string& t : tokens) {
            std::string mine;
            bool all = true;
            for (char32_t c : decodeAll(t)) {
                const int b = charToByte(c);
                if (b < 0) {
                    all = false;
                    break;
                }
                mine.push_back(static_cast<char>(b));
            }
            // Tokens that are not byte-level (added tokens) stay as written.
            bytes += all ? mine : t;
        }
        tokens.assign(1, o.raw ? bytes : utf8Lossy(bytes));
    }
};

class ByteFallback : public Decoder {
public:
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        Tokens out;
        std::string pending;
        std::size_t pendingCount = 0;
        auto flush = [&] {
            if (pendingCount == 0)
                return;
            if (o.raw || isValidUtf8(pending)) {
                out.push_back(pending);
            } else {
                for (std::size_t k = 0; k < pendingCount; ++k)
                    out.push_back("\xEF\xBF\xBD");
            }
            pending.clear();
            pendingCount = 0;
        };
        for (std::string& t : tokens) {
            int byte = -1;
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                char* end = nullptr;
                const std::string hex = t.substr(3, 2);
                const long v = std::strtol(hex.c_str(), &end, 16);
                if (end == hex.c_str() + 2 && hex[0] != '-' && hex[0] != '+')
                    byte = static_cast<int>(v);
            }
            if (byte >= 0) {
                pending.push_back(static_cast<char>(byte));
                ++pendingCount;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens.swap(out);
    }
};

class Metaspace : public Decoder {
public:
    char32_t replacement = U'\u2581';
    bool prepend = true; // prepend_scheme is not "never"
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string out;
            for (char32_t c : decodeAll(tokens[i])) {
                if (c != replacement)
                    appendChar(out, c);
                else if (!(i == 0 && prepend && !o.continuation))
                    out.push_back(' ');
            }
            tokens[i] = std::move(out);
        }
    }
};

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
    if (from.empty())
        return;
    std::string out;
    std::size_t pos = 0;
    for (std::size_t at; (at = s.find(from, pos)) != std::string::npos; pos = at + from.size())
        out.append(s, pos, at - pos).append(to);
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

class WordPiece : public Decoder {
public:
    std::string prefix = "##";
    bool cleanup = true;
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string& t = tokens[i];
            if (i != 0 || o.continuation) {
                if (t.compare(0, prefix.size(), prefix) == 0)
                    t.erase(0, prefix.size());
                else
                    t = " " + t;
            }
            if (cleanup) {
                static const std::pair<const char*, const char*> kRules[] = {
                    {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
                    {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
                    {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
                for (const auto& [from, to] : kRules)
                    replaceAll(t, from, to);
            }
        }
    }
};

class BpeSuffix : public Decoder {
public:
    std::string suffix = "</w>";
    void decodeChain(Tokens& tokens, const DecodeOptions&) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i)
            replaceAll(tokens[i], suffix, i + 1 == tokens.size() ? "" : " ");
    }
};

class Fuse : public Decoder {
public:
    void decodeChain(Tokens& tokens, const DecodeOptions&) const override {
        std::string all;
        for (const auto& t : tokens)
            all += t;
        tokens.assign(1, all);
    }
};

class Strip : public Decoder {
public:
    char32_t content = U' ';
    std::size_t start = 0, stop = 0;
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        if (o.continuation)
            return;
        for (std::string& t : tokens) {
            const auto chars = decodeAll(t);
            std::size_t from = 0, to = chars.size();
            for (std::size_t i = 0; i < start && i < chars.size() && chars[i] == content; ++i)
                from = i + 1;
            for (std::size_t i = 0; i < stop && i < chars.size(); ++i) {
                const std::size_t index = chars.size() - i - 1;
                if (chars[index] != content)
                    break;
                to = index;
            }
            std::string out;
            for (std::size_t i = from; i < to; ++i)
                appendChar(out, chars[i]);
            t = std::move(out);
        }
    }
};

class Replace : public Decoder {
public:
    std::unique_ptr<Regex> re;
    std::string content;
    void decodeChain(Tokens& tokens, const DecodeOptions&) const override {
        for (std::string& t : tokens) {
            NormalizedText n = NormalizedText::fromOriginal(t, 0);
            n.replace(*re, content);
            t = std::move(n.text);
        }
    }
};

class Sequence : public Decoder {
public:
    std::vector<std::unique_ptr<Decoder>> parts;
    void decodeChain(Tokens& tokens, const DecodeOptions& o) const override {
        for (const auto& p : parts)
            p->decodeChain(tokens, o);
    }
};

char32_t firstChar(const std::string& s, char32_t fallback) {
    const auto cs = decodeAll(s);
    return cs.empty() ? fallback : cs[0];
}

} // namespace

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const std::string& where) {
    if (j.is_null())
        return nullptr;
    if (!j.is_object())
        throw Error(where + ": the decoder is not an object");
    const std::string type = jsonField(j, "type", std::string(), where);
    if (type == "ByteLevel")
        return std::make_unique<ByteLevel>();
    if (type == "ByteFallback")
        return std::make_unique<ByteFallback>();
    if (type == "Fuse")
        return std::make_unique<Fuse>();
    if (type == "Metaspace") {
        auto d = std::make_unique<Metaspace>();
        d->replacement =
            firstChar(jsonField(j, "replacement", std::string("\u2581"), where), U'\u2581');
        std::string scheme = jsonField(j, "prepend_scheme", std::string(), where);
        if (scheme.empty())
            scheme = jsonField(j, "add_prefix_space", true, where) ? "always" : "never";
        d->prepend = scheme != "never";
        return d;
    }
    if (type == "WordPiece") {
        auto d = std::make_unique<WordPiece>();
        d->prefix = jsonField(j, "prefix", std::string("##"), where);
        d->cleanup = jsonField(j, "cleanup", true, where);
        return d;
    }
    if (type == "BPEDecoder") {
        auto d = std::make_unique<BpeSuffix>();
        d->suffix = jsonField(j, "suffix", std::string("</w>"), where);
        return d;
    }
    if (type == "Strip") {
        auto d = std::make_unique<Strip>();
        d->content = firstChar(jsonField(j, "content", std::string(" "), where), U' ');
        d->start = static_cast<std::size_t>(std::max(0LL, jsonField(j, "start", 0LL, where)));
        d->stop = static_cast<std::size_t>(std::max(0LL, jsonField(j, "stop", 0LL, where)));
        return d;
    }
    if (type == "Replace") {
        auto d = std::make_unique<Replace>();
        d->re = makePattern(j.value("pattern", nlohmann::json()), where);
        d->content = jsonField(j, "content", std::string(), where);
        return d;
    }
    if (type == "Sequence") {
        auto d = std::make_unique<Sequence>();
        const auto list = j.value("decoders", nlohmann::json::array());
        if (!list.is_array())
            throw Error(where + ": 'decoders' of a Sequence decoder is not a list");
        for (const auto& item : list)
            if (auto p = makeDecoder(item, where))
                d->parts.push_back(std::move(p));
        return d;
    }
    throw Error(where + ": decoder type '" + type +
                "' is not supported (supported: ByteLevel, ByteFallback, Metaspace, WordPiece, "
                "BPEDecoder, Fuse, Strip, Replace, Sequence)");
}

} // namespace scalpel::tok
