#include "TokenizerText.h"

#include "Error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <iterator>

namespace scalpel::tok {

namespace {

// Length of the well-formed UTF-8 sequence at s[i], or the length of its
// maximal invalid prefix as a negative number (Unicode's "maximal subpart").
int sequenceLength(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80)
        return 1;
    int need = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        need = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        need = 2;
        if (b0 == 0xe0)
            lo = 0xa0;
        if (b0 == 0xed)
            hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        need = 3;
        if (b0 == 0xf0)
            lo = 0x90;
        if (b0 == 0xf4)
            hi = 0x8f;
    } else {
        return -1;
    }
    for (int k = 1; k <= need; ++k) {
        if (i + k >= s.size())
            return -k;
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < lo || b > hi)
            return -k;
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

bool inCategory(char32_t c, uint32_t mask) {
    return c < kRawByteBase && (U_GET_GC_MASK(static_cast<UChar32>(c)) & mask) != 0;
}

std::u16string toUtf16(const std::u32string& s) {
    std::u16string out;
    for (char32_t c : s) {
        if (c >= 0x10000) {
            out.push_back(static_cast<char16_t>(0xd800 + ((c - 0x10000) >> 10)));
            out.push_back(static_cast<char16_t>(0xdc00 + ((c - 0x10000) & 0x3ff)));
        } else {
            out.push_back(static_cast<char16_t>(c));
        }
    }
    return out;
}

std::u32string fromUtf16(const char16_t* s, int32_t n) {
    std::u32string out;
    for (int32_t i = 0; i < n; ++i) {
        char32_t c = s[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
            c = 0x10000 + ((c - 0xd800) << 10) + (s[i + 1] - 0xdc00);
            ++i;
        }
        out.push_back(c);
    }
    return out;
}

const UNormalizer2* normalizer(NormalForm f) {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* n = nullptr;
    switch (f) {
    case NormalForm::NFC:
        n = unorm2_getNFCInstance(&err);
        break;
    case NormalForm::NFD:
        n = unorm2_getNFDInstance(&err);
        break;
    case NormalForm::NFKC:
        n = unorm2_getNFKCInstance(&err);
        break;
    case NormalForm::NFKD:
        n = unorm2_getNFKDInstance(&err);
        break;
    }
    if (U_FAILURE(err) || !n)
        throw Error("Unicode normalization data is not available (ICU)");
    return n;
}

std::u32string normalizeRun(const UNormalizer2* n, const std::u32string& run) {
    const std::u16string in = toUtf16(run);
    std::u16string out(in.size() * 4 + 16, u'\0');
    UErrorCode err = U_ZERO_ERROR;
    int32_t len = unorm2_normalize(
        n, reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
        reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
        out.assign(static_cast<std::size_t>(len), u'\0');
        err = U_ZERO_ERROR;
        len = unorm2_normalize(n, reinterpret_cast<const UChar*>(in.data()),
                               static_cast<int32_t>(in.size()),
                               reinterpret_cast<UChar*>(out.data()), len, &err);
    }
    if (U_FAILURE(err))
        return run;
    return fromUtf16(out.data(), len);
}

} // namespace

char32_t decodeChar(std::string_view s, std::size_t i, std::size_t& len) {
    const int n = sequenceLength(s, i);
    if (n < 0) {
        len = 1;
        return kRawByteBase + static_cast<unsigned char>(s[i]);
    }
    len = static_cast<std::size_t>(n);
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t c = n == 1 ? b0 : n == 2 ? (b0 & 0x1f) : n == 3 ? (b0 & 0x0f) : (b0 & 0x07);
    for (int k = 1; k < n; ++k)
        c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    return c;
}

std::vector<char32_t> decodeAll(std::string_view s) {
    std::vector<char32_t> out;
    for (std::size_t i = 0, len = 0; i < s.size(); i += len)
        out.push_back(decodeChar(s, i, len));
    return out;
}

void appendChar(std::string& out, char32_t cp) {
    if (cp >= kRawByteBase) {
        out.push_back(static_cast<char>(cp - kRawByteBase));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

std::size_t charCount(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0, len = 0; i < s.size(); i += len, ++n)
        decodeChar(s, i, len);
    return n;
}

std::string utf8Lossy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const int n = sequenceLength(s, i);
        if (n > 0) {
            out.append(s.substr(i, static_cast<std::size_t>(n)));
            i += static_cast<std::size_t>(n);
        } else {
            out += "\xEF\xBF\xBD";
            i += static_cast<std::size_t>(-n);
        }
    }
    return out;
}

bool isValidUtf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const int n = sequenceLength(s, i);
        if (n < 0)
            return false;
        i += static_cast<std::size_t>(n);
    }
    return true;
}

bool isWhitespace(char32_t c) {
    return c < kRawByteBase && u_isUWhiteSpace(static_cast<UChar32>(c));
}
bool isNumeric(char32_t c) {
    return inCategory(c, U_GC_N_MASK);
}
bool isAlphanumeric(char32_t c) {
    return c < kRawByteBase &&
           (u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) || isNumeric(c));
}
bool isPunctuation(char32_t c) {
    const bool asciiPunct = (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
                            (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
    return asciiPunct || inCategory(c, U_GC_P_MASK);
}
bool isCombiningMark(char32_t c) {
    return inCategory(c, U_GC_M_MASK);
}
bool isNonspacingMark(char32_t c) {
    return inCategory(c, U_GC_MN_MASK);
}
bool isControl(char32_t c) {
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    return inCategory(c, U_GC_C_MASK);
}
bool isChineseChar(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}
bool isWordChar(char32_t c) {
    return c == '_' || isAlphanumeric(c);
}

namespace {
struct ByteChars {
    char32_t toChar[256];
    int fromChar[324];
    ByteChars() {
        char32_t n = 0;
        std::fill(std::begin(fromChar), std::end(fromChar), -1);
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
            toChar[b] = printable ? static_cast<char32_t>(b) : 256 + n++;
            fromChar[toChar[b]] = b;
        }
    }
};
const ByteChars& byteChars() {
    static const ByteChars m;
    return m;
}
} // namespace

char32_t byteToChar(unsigned char b) {
    return byteChars().toChar[b];
}

int charToByte(char32_t c) {
    return c < 324 ? byteChars().fromChar[c] : -1;
}

std::u32string toLower(char32_t c) {
    if (c < 0x80)
        return std::u32string(1, c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (c >= kRawByteBase)
        return std::u32string(1, c);
    // One character at a time, as Rust does: no context (a lone Sigma
    // always becomes small sigma).
    const std::u16string in = toUtf16(std::u32string(1, c));
    char16_t out[16];
    UErrorCode err = U_ZERO_ERROR;
    const int32_t n =
        u_strToLower(reinterpret_cast<UChar*>(out), 16, reinterpret_cast<const UChar*>(in.data()),
                     static_cast<int32_t>(in.size()), "", &err);
    if (U_FAILURE(err) || n <= 0)
        return std::u32string(1, c);
    return fromUtf16(out, n);
}

std::vector<std::pair<char32_t, int>> normalizeChanges(const std::vector<char32_t>& chars,
                                                       NormalForm form) {
    const UNormalizer2* n = normalizer(form);
    std::vector<std::pair<char32_t, int>> dest;
    bool changed = false;
    // Characters between two normalization boundaries are normalized
    // together; inside such a run, output characters pair with input ones in
    // order, extra outputs count as inserted and missing ones as removed
    // (what HF's unicode-normalization-alignments reports for the usual
    // decompositions and compositions).
    for (std::size_t i = 0; i < chars.size();) {
        std::size_t j = i + 1;
        while (j < chars.size() && chars[j] < kRawByteBase &&
               !unorm2_hasBoundaryBefore(n, static_cast<UChar32>(chars[j])))
            ++j;
        const std::u32string run(chars.begin() + static_cast<std::ptrdiff_t>(i),
                                 chars.begin() + static_cast<std::ptrdiff_t>(j));
        const bool raw =
            std::any_of(run.begin(), run.end(), [](char32_t c) { return c >= kRawByteBase; });
        const std::u32string out = raw ? run : normalizeRun(n, run);
        if (out == run || out.empty()) {
            for (char32_t c : run)
                dest.emplace_back(c, 0);
        } else {
            changed = true;
            for (std::size_t t = 0; t < out.size(); ++t)
                dest.emplace_back(out[t], t < run.size() ? 0 : 1);
            if (out.size() < run.size())
                dest.back().second -= static_cast<int>(run.size() - out.size());
        }
        i = j;
    }
    if (!changed)
        dest.clear();
    return dest;
}

// ---------------------------------------------------------------------------

namespace {

// Oniguruma's Unicode \s also holds U+0085 and \w holds marks and connector
// punctuation; PCRE2's do not, so they are spelled out.
std::string toPcre2(const std::string& p) {
    constexpr const char* kSpaceIn = R"(\s\x{85})";
    constexpr const char* kWordIn = R"(\p{L}\p{M}\p{N}\p{Pc})";
    std::string out;
    bool inClass = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            const char e = p[i + 1];
            ++i;
            if (e == 's')
                out += inClass ? std::string(kSpaceIn) : "[" + std::string(kSpaceIn) + "]";
            else if (e == 'w')
                out += inClass ? std::string(kWordIn) : "[" + std::string(kWordIn) + "]";
            else if (e == 'S' && !inClass)
                out += "[^" + std::string(kSpaceIn) + "]";
            else if (e == 'W' && !inClass)
                out += "[^" + std::string(kWordIn) + "]";
            else {
                out.push_back('\\');
                out.push_back(e);
            }
            continue;
        }
        if (!inClass && c == '[') {
            inClass = true;
            out.push_back(c);
            // A ']' right after '[' or '[^' is literal.
            if (i + 1 < p.size() && p[i + 1] == '^')
                out.push_back(p[++i]);
            if (i + 1 < p.size() && p[i + 1] == ']')
                out.push_back(p[++i]);
            continue;
        }
        if (inClass && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
            const auto end = p.find(":]", i + 2);
            if (end != std::string::npos) {
                out.append(p, i, end + 2 - i);
                i = end + 1;
                continue;
            }
        }
        if (inClass && c == ']')
            inClass = false;
        out.push_back(c);
    }
    return out;
}

pcre2_code* compile(const std::string& pattern, uint32_t extra, const std::string& where) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
                                         ((extra & PCRE2_LITERAL) ? 0 : PCRE2_UCP) | extra,
                                     &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw Error(where + ": cannot compile the pattern '" + pattern +
                    "': " + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

} // namespace

Regex::Regex(const std::string& pattern, const std::string& where, bool literal)
    : m_code(literal ? compile(pattern, PCRE2_LITERAL, where)
                     : compile(toPcre2(pattern), 0, where)),
      m_never(literal && pattern.empty()) {}

Regex::~Regex() {
    pcre2_code_free(static_cast<pcre2_code*>(m_code));
}

std::vector<std::pair<std::size_t, std::size_t>> Regex::findAll(std::string_view text) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    if (m_never)
        return out;
    auto* code = static_cast<pcre2_code*>(m_code);
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    std::size_t lastEnd = 0;
    bool haveLastMatch = false;
    std::size_t lastMatchEnd = 0;
    while (lastEnd <= text.size()) {
        const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                                   lastEnd, 0, md, nullptr);
        if (rc < 0)
            break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const std::size_t s = ov[0], e = ov[1];
        // As Rust's onig find_iter: an empty match right where the last
        // match ended is skipped by stepping one character.
        if (s == e && haveLastMatch && lastMatchEnd == e) {
            if (lastEnd >= text.size())
                break;
            std::size_t len = 1;
            decodeChar(text, lastEnd, len);
            lastEnd += len;
            continue;
        }
        lastEnd = e;
        haveLastMatch = true;
        lastMatchEnd = e;
        out.emplace_back(s, e);
    }
    pcre2_match_data_free(md);
    return out;
}

std::vector<Match> findMatches(const Regex& re, std::string_view text) {
    if (text.empty())
        return {{0, 0, false}};
    std::vector<Match> out;
    std::size_t prev = 0;
    for (const auto& [s, e] : re.findAll(text)) {
        if (prev != s)
            out.push_back({prev, s, false});
        out.push_back({s, e, true});
        prev = e;
    }
    if (prev != text.size())
        out.push_back({prev, text.size(), false});
    return out;
}

std::vector<Match> findMatches(const std::function<bool(char32_t)>& pred, std::string_view text) {
    if (text.empty())
        return {{0, 0, false}};
    std::vector<Match> out;
    std::size_t lastOffset = 0, i = 0;
    for (std::size_t len = 0; i < text.size(); i += len) {
        const char32_t c = decodeChar(text, i, len);
        if (pred(c)) {
            if (lastOffset < i)
                out.push_back({lastOffset, i, false});
            out.push_back({i, i + len, true});
            lastOffset = i + len;
        }
    }
    if (i > lastOffset)
        out.push_back({lastOffset, i, false});
    return out;
}

} // namespace scalpel::tok
