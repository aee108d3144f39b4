#include "tensorplan/common/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace tensorplan {

namespace {

// The length of the valid UTF-8 sequence at the start of `text` and its code point, or 0 if the
// first byte does not start one (overlong forms and surrogates count as invalid).
std::size_t utf8_sequence(std::string_view text, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  std::size_t length = 0;
  std::uint32_t value = 0, minimum = 0;
  if (first < 0x80) {
    *code_point = first;
    return 1;
  } else if ((first & 0xE0) == 0xC0) {
    length = 2, value = first & 0x1F, minimum = 0x80;
  } else if ((first & 0xF0) == 0xE0) {
    length = 3, value = first & 0x0F, minimum = 0x800;
  } else if ((first & 0xF8) == 0xF0) {
    length = 4, value = first & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code_point = value;
  return length;
}

// Appends the next character of `text` escaped; returns how many bytes it consumed.
std::size_t append_escaped(std::string_view text, bool escape_quotes, std::string* out) {
  std::uint32_t c = 0;
  const std::size_t length = utf8_sequence(text, &c);
  if (length == 0) {  // not UTF-8: show the byte
    *out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[0]));
    return 1;
  }
  if (length == 1) {
    switch (c) {
      case '\n':
        *out += "\\n";
        return 1;
      case '\r':
        *out += "\\r";
        return 1;
      case '\t':
        *out += "\\t";
        return 1;
      case '"':
        *out += escape_quotes ? "\\\"" : "\"";
        return 1;
      case '\\':
        *out += escape_quotes ? "\\\\" : "\\";
        return 1;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      *out += fmt::format("\\x{:02x}", c);
      return 1;
    }
  } else if (c <= 0x9F) {  // C1 control codes (0x9B introduces terminal escapes)
    *out += fmt::format("\\u{:04x}", c);
    return length;
  }
  out->append(text.substr(0, length));
  return length;
}

}  // namespace

std::string quote_input(std::string_view text, std::size_t max_chars) {
  std::string out = "\"";
  std::size_t chars = 0, i = 0;
  while (i < text.size() && chars < max_chars) {
    i += append_escaped(text.substr(i), true, &out);
    ++chars;
  }
  out += '"';
  if (i < text.size()) out += "...";
  return out;
}

std::string quote_name(std::string_view text) {
  const bool plain =
      !text.empty() && text.size() <= 80 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      });
  return plain ? std::string(text) : quote_input(text);
}

std::string one_line(std::string_view message, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0, i = 0;
  while (i < message.size() && chars < max_chars) {
    i += append_escaped(message.substr(i), false, &out);
    ++chars;
  }
  if (i < message.size()) out += fmt::format("... ({} more bytes)", message.size() - i);
  return out;
}

std::string xml_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t c = 0;
    const std::size_t length = utf8_sequence(text.substr(i), &c);
    const bool allowed = length > 0 && (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') &&
                         c != 0xFFFE && c != 0xFFFF;
    if (allowed) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += length == 0 ? 1 : length;
    }
  }
  return out;
}

std::string escape_markup(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace tensorplan
