// Quoting outside text in one-line messages and in XML.
#include "tensorplan/common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace tensorplan {
namespace {

TEST(QuoteInput, EscapesControlCharactersQuotesAndTerminalEscapes) {
  EXPECT_EQ(quote_input("plain"), "\"plain\"");
  EXPECT_EQ(quote_input("a\nb\tc\r"), "\"a\\nb\\tc\\r\"");
  EXPECT_EQ(quote_input("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
  EXPECT_EQ(quote_input("\x1b[31mred"), "\"\\x1b[31mred\"");
  EXPECT_EQ(quote_input(std::string("nul\0byte", 8)), "\"nul\\x00byte\"");
  EXPECT_EQ(quote_input("\x7f"), "\"\\x7f\"");
  // C1 control codes (U+009B is a one-character CSI) and bytes that are not UTF-8.
  EXPECT_EQ(quote_input("\xc2\x9b"
                        "2J"),
            "\"\\u009b2J\"");
  EXPECT_EQ(quote_input("\xff\xfe"), "\"\\xff\\xfe\"");
  EXPECT_EQ(quote_input("\xe2\x82"), "\"\\xe2\\x82\"");  // truncated sequence
  // Valid UTF-8 text passes unchanged.
  EXPECT_EQ(quote_input("b\xc3\xa4r \xe4\xb8\xad \xf0\x9f\x98\x80"),
            "\"b\xc3\xa4r \xe4\xb8\xad \xf0\x9f\x98\x80\"");
}

TEST(QuoteInput, ShortensLongTextToTheGivenNumberOfCharacters) {
  const std::string big(100 << 20, 'x');  // a 100 MB field
  const std::string q = quote_input(big);
  EXPECT_EQ(q, "\"" + std::string(80, 'x') + "\"...");
  EXPECT_EQ(quote_input("abcdef", 3), "\"abc\"...");
  EXPECT_EQ(quote_input("abc", 3), "\"abc\"");
  // Cut between characters, never inside an escape or a UTF-8 sequence.
  EXPECT_EQ(quote_input("\n\n\n\n", 2), "\"\\n\\n\"...");
  EXPECT_EQ(quote_input("\xc3\xa4\xc3\xa4\xc3\xa4", 2), "\"\xc3\xa4\xc3\xa4\"...");
}

TEST(OneLine, KeepsQuotesButNeverBreaksTheLineAndBoundsTheLength) {
  EXPECT_EQ(one_line("file.json: \"a\"\nsecond"), "file.json: \"a\"\\nsecond");
  EXPECT_EQ(one_line("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
  const std::string long_message = "x: " + std::string(5000, 'y');
  const std::string shown = one_line(long_message, 100);
  EXPECT_EQ(shown, "x: " + std::string(97, 'y') + "... (4903 more bytes)");
}

TEST(XmlSafe, ReplacesWhatXmlForbidsAndKeepsTheRest) {
  EXPECT_EQ(xml_safe("ok\ttab\nline"), "ok\ttab\nline");
  EXPECT_EQ(xml_safe(std::string("a\0b\x1b"
                                 "c\x7f",
                                 6)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\x7f");
  EXPECT_EQ(xml_safe("\xff"), "\xEF\xBF\xBD");
  EXPECT_EQ(xml_safe("\xef\xbf\xbe"), "\xEF\xBF\xBD");  // U+FFFE
  EXPECT_EQ(xml_safe("\xe4\xb8\xad"), "\xe4\xb8\xad");
}

}  // namespace
}  // namespace tensorplan
