#pragma once
// Text machinery shared by the tokenizer stages, following Hugging Face's
// `tokenizers` closely enough that ids and offsets come out identical:
// UTF-8 walking (bytes that are not UTF-8 become one-byte "characters", so
// byte-level models keep them), the Unicode properties Rust's `char` uses,
// a PCRE2 regex that behaves like the Oniguruma one HF compiles, and
// NormalizedText, HF's NormalizedString: a string plus, for each of its
// bytes, the byte range of the original text it came from.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scalpel::tok {

// Code points above this stand for a single byte that is not UTF-8.
constexpr char32_t kRawByteBase = 0x110000;

// Decodes one character at s[i]; sets len (>= 1). Invalid bytes decode to
// kRawByteBase + byte with len 1.
char32_t decodeChar(std::string_view s, std::size_t i, std::size_t& len);
std::vector<char32_t> decodeAll(std::string_view s);
void appendChar(std::string& out, char32_t c);
std::size_t charCount(std::string_view s);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD.
std::string utf8Lossy(std::string_view s);
bool isValidUtf8(std::string_view s);

bool isWhitespace(char32_t c); // Rust char::is_whitespace (White_Space)
bool isAlphanumeric(char32_t c);
bool isNumeric(char32_t c);        // Nd, Nl, No
bool isPunctuation(char32_t c);    // ASCII punctuation or any P* category
bool isCombiningMark(char32_t c);  // M*: what the StripAccents normalizer removes
bool isNonspacingMark(char32_t c); // Mn: what BertNormalizer's strip_accents removes
bool isControl(char32_t c);        // Bert's: C* except \t \n \r
bool isChineseChar(char32_t c);
bool isWordChar(char32_t c); // alphanumeric or '_'
// GPT-2's reversible map between bytes and printable characters.
char32_t byteToChar(unsigned char b);
int charToByte(char32_t c); // -1 when c stands for no byte
// Full lowercase mapping of one character, as Rust's char::to_lowercase.
std::u32string toLower(char32_t c);
enum class NormalForm { NFC, NFD, NFKC, NFKD };
// The characters of form(chars), each with its HF change (see
// NormalizedText::transformRange); empty when chars are already normal.
std::vector<std::pair<char32_t, int>> normalizeChanges(const std::vector<char32_t>& chars,
                                                       NormalForm form);

// A compiled pattern; `find` yields the matches Oniguruma's find_iter gives.
class Regex {
public:
    // pattern uses Oniguruma syntax; \s \S \w \W are rewritten to its
    // Unicode classes; with `literal` it is plain text. Throws Error (with
    // `where`) when it does not compile.
    Regex(const std::string& pattern, const std::string& where, bool literal = false);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    std::vector<std::pair<std::size_t, std::size_t>> findAll(std::string_view text) const;

private:
    void* m_code = nullptr;
    bool m_never = false; // an empty literal matches nothing, as in HF
};

// One piece of a split: byte range and whether it was a match.
struct Match {
    std::size_t start, end;
    bool isMatch;
};
// HF's Pattern::find_matches for a regex and for a per-character predicate.
std::vector<Match> findMatches(const Regex& re, std::string_view text);
std::vector<Match> findMatches(const std::function<bool(char32_t)>& pred, std::string_view text);

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct NormalizedText {
    using Span = std::pair<std::size_t, std::size_t>;
    std::string text;
    std::vector<Span> align;       // per byte of text: absolute original byte range
    std::size_t originalStart = 0; // absolute original range this piece covers
    std::size_t originalEnd = 0;

    static NormalizedText fromOriginal(std::string_view s, std::size_t shift);
    // HF's transform_range: dest lists each new character with its change
    // (0 replaces one old character, +1 is inserted, -n replaces one and
    // removes n more); initialOffset old characters are removed first.
    void transformRange(std::size_t from, std::size_t to,
                        const std::vector<std::pair<char32_t, int>>& dest,
                        std::size_t initialOffset);
    void transform(const std::vector<std::pair<char32_t, int>>& dest, std::size_t initialOffset) {
        transformRange(0, text.size(), dest, initialOffset);
    }
    // Replaces each character by fn's characters (at least one), as
    // NormalizedString::map and ::lowercase.
    void mapChars(const std::function<std::u32string(char32_t)>& fn);
    // Keeps the characters keep() accepts, as NormalizedString::filter.
    void filterChars(const std::function<bool(char32_t)>& keep);
    void prepend(const std::string& s);
    void replace(const Regex& re, const std::string& content);
    void normalize(NormalForm form);
    // Original byte range of normalized bytes [from, to) (HF convert_offsets).
    Span originalRange(std::size_t from, std::size_t to) const;
    NormalizedText slice(std::size_t from, std::size_t to) const;
    std::vector<NormalizedText> split(const std::vector<Match>& matches,
                                      SplitBehavior behavior) const;
};

} // namespace scalpel::tok
