// Showing text that came from outside (file contents, names, command-line values) in one-line
// messages and in XML: control characters and terminal escapes escaped, length bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tensorplan {

// `text` in double quotes, escaped (\n, \t, \", \\, \xHH for other control characters, C1 codes
// and bytes that are not UTF-8), and cut after `max_chars` characters of it with "..." after the
// closing quote. Valid UTF-8 above U+009F passes unchanged.
std::string quote_input(std::string_view text, std::size_t max_chars = 80);

// A name from outside (an id) as it is when it is plain (letters, digits, _ . -, at most 80),
// else quote_input(text): b1 and 74 stay readable, "a b" and "" cannot be misread.
std::string quote_name(std::string_view text);

// `message` made safe to print as one terminal line: control characters and terminal escapes
// escaped as in quote_input() (quotes and backslashes kept as they are), and cut after `max_chars`
// characters with "... (N more bytes)".
std::string one_line(std::string_view message, std::size_t max_chars = 2000);

// `text` without the characters XML 1.0 forbids (control characters other than tab, newline and
// carriage return; bytes that are not UTF-8; U+FFFE, U+FFFF), each replaced by U+FFFD.
std::string xml_safe(std::string_view text);

// `text` with the markup characters & < > " escaped, for HTML/XML text and attribute values.
std::string escape_markup(std::string_view text);

}  // namespace tensorplan
