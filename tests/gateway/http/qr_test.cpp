// QR codes (gateway/http/qr): the SVG draws exactly the modules libqrencode
// computes, inside a quiet zone, and a real decoder (zbarimg, from Debian's
// zbar-tools) reads the drawing back to the text: drawn by us from the path,
// and drawn by a real browser (Debian's chromium) on a dark page.
#include "gateway/http/qr.hpp"

#include <qrencode.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/temporary_directory.hpp"

namespace icegate::http {
namespace {

// What an SVG renderer would paint: the viewBox side, and which unit squares
// of it the path fills. Understands the commands a rectilinear path needs
// (M m H h V v Z z, absolute and relative) and fails the test on anything else.
struct Painted {
  int side = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y * side + x)]; }
};

std::string attribute(const std::string& svg, const std::string& element, const std::string& name) {
  const auto start = svg.find("<" + element + " ");
  if (start == std::string::npos) return {};
  const auto end = svg.find('>', start);
  const auto at = svg.find(" " + name + "=\"", start);
  if (at == std::string::npos || at > end) return {};
  const auto value = at + name.size() + 3;
  return svg.substr(value, svg.find('"', value) - value);
}

Painted paint(const std::string& svg) {
  Painted painted;
  const std::string view_box = attribute(svg, "svg", "viewBox");
  int x0 = -1, y0 = -1, w = -1, h = -1;
  EXPECT_EQ(std::sscanf(view_box.c_str(), "%d %d %d %d", &x0, &y0, &w, &h), 4) << view_box;
  EXPECT_EQ(x0, 0);
  EXPECT_EQ(y0, 0);
  EXPECT_EQ(w, h) << "a QR symbol is square";
  painted.side = w;
  painted.dark.assign(static_cast<std::size_t>(w * h), false);

  const std::string d = attribute(svg, "path", "d");
  std::size_t i = 0;
  auto number = [&]() {
    while (i < d.size() && (d[i] == ' ' || d[i] == ',')) ++i;
    std::size_t used = 0;
    const int value = std::stoi(d.substr(i), &used);
    i += used;
    return value;
  };
  int x = 0, y = 0, start_x = 0, start_y = 0;
  std::vector<std::pair<int, int>> corners;
  auto close = [&]() {
    // A closed subpath of axis-parallel edges with four corners is a rectangle.
    ASSERT_EQ(corners.size(), 4u) << "each subpath must be one rectangle";
    int left = corners[0].first, right = left, top = corners[0].second, bottom = top;
    for (const auto& [cx, cy] : corners) {
      left = std::min(left, cx), right = std::max(right, cx);
      top = std::min(top, cy), bottom = std::max(bottom, cy);
    }
    for (int py = top; py < bottom; ++py)
      for (int px = left; px < right; ++px) {
        ASSERT_TRUE(px >= 0 && py >= 0 && px < painted.side && py < painted.side) << "outside the viewBox";
        const auto index = static_cast<std::size_t>(py * painted.side + px);
        EXPECT_FALSE(painted.dark[index]) << "module " << px << "," << py << " drawn twice";
        painted.dark[index] = true;
      }
    corners.clear();
    x = start_x, y = start_y;
  };
  while (i < d.size()) {
    const char command = d[i++];
    switch (command) {
      case 'M': x = number(), y = number(); break;
      case 'm': x += number(), y += number(); break;
      case 'H': x = number(); break;
      case 'h': x += number(); break;
      case 'V': y = number(); break;
      case 'v': y += number(); break;
      case 'Z':
      case 'z': close(); continue;
      case ' ': continue;
      default: ADD_FAILURE() << "unexpected path command '" << command << "'"; return painted;
    }
    if (command == 'M' || command == 'm') {
      EXPECT_TRUE(corners.empty()) << "a subpath was left open";
      start_x = x, start_y = y;
    }
    corners.emplace_back(x, y);
  }
  EXPECT_TRUE(corners.empty()) << "the last subpath was left open";
  return painted;
}

// libqrencode's own symbol for the text, at the level and hints qr.cpp documents.
QrMatrix reference(const std::string& text) {
  QRcode* code = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == nullptr) throw std::runtime_error("libqrencode failed");
  QrMatrix matrix;
  matrix.size = code->width;
  for (int i = 0; i < code->width * code->width; ++i) matrix.dark.push_back((code->data[i] & 1) != 0);
  QRcode_free(code);
  return matrix;
}

const std::string join_link =
    "https://192.0.2.10:8443/s/3f9a0c5e7b1d24681357acef02468ace13579bdf02468ace13579bdf0246f00d/";

TEST(Qr, TheSvgDrawsExactlyLibqrencodesModulesInsideAQuietZone) {
  for (const std::string& text : {std::string("HELLO 123"), join_link, std::string("caf\xc3\xa9 \xe2\x9c\x93"),
                                  std::string(500, 'x')}) {
    const QrMatrix expected = reference(text);
    const std::string svg = qr_svg(text);
    const Painted painted = paint(svg);
    ASSERT_EQ(painted.side, expected.size + 2 * qr_quiet_zone) << text;
    int dark = 0;
    for (int y = 0; y < painted.side; ++y)
      for (int x = 0; x < painted.side; ++x) {
        const int mx = x - qr_quiet_zone, my = y - qr_quiet_zone;
        const bool inside = mx >= 0 && my >= 0 && mx < expected.size && my < expected.size;
        const bool want = inside && expected.at(mx, my);
        ASSERT_EQ(painted.at(x, y), want) << text << ": module " << mx << "," << my << (inside ? "" : " (quiet zone)");
        dark += want;
      }
    EXPECT_GT(dark, expected.size) << "a symbol has many dark modules";
    EXPECT_EQ(qr_matrix(text).dark, expected.dark);
  }
}

TEST(Qr, TheSvgIsOnePathWithCrispEdgesOnALightBackground) {
  const std::string svg = qr_svg(join_link);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" ", 0), 0u) << svg.substr(0, 80);
  EXPECT_EQ(attribute(svg, "svg", "shape-rendering"), "crispEdges");
  EXPECT_EQ(svg.find("<path"), svg.rfind("<path")) << "one path, not one element per module";
  EXPECT_NE(svg.find("<path"), std::string::npos);
  EXPECT_EQ(attribute(svg, "path", "fill"), "#000");
  EXPECT_EQ(attribute(svg, "rect", "fill"), "#fff") << "the quiet zone must stay light on a dark page";
  EXPECT_EQ(attribute(svg, "rect", "width"), std::to_string(paint(svg).side));
  EXPECT_EQ(svg.find(join_link), std::string::npos) << "the secret is drawn, not written out in the SVG";
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
}

TEST(Qr, EmptyNulAndTooLongTextAreRefusedSayingWhy) {
  auto message = [](const std::string& text) {
    try {
      qr_svg(text);
    } catch (const QrError& error) {
      return std::string(error.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("").find("empty"), std::string::npos) << message("");
  EXPECT_NE(message(std::string("a\0b", 3)).find("NUL"), std::string::npos);
  // Version 40 at level M holds 2331 bytes of 8-bit text: the limit, exactly.
  EXPECT_EQ(qr_matrix(std::string(2331, 'a')).size, 177) << "version 40 is 177 modules wide";
  const std::string too_long = message(std::string(2332, 'a'));
  EXPECT_NE(too_long.find("too long"), std::string::npos) << too_long;
  EXPECT_NE(too_long.find("2332 bytes"), std::string::npos) << too_long;
}

bool have(const std::string& program) { return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0; }

// What zbarimg decodes in an image file (its stderr, which may complain about
// D-Bus, kept apart and returned in `errors`).
std::string zbarimg(const std::filesystem::path& image, std::string& errors) {
  const auto error_file = image.string() + ".err";
  const std::string command =
      "zbarimg --quiet --raw -Sdisable -Sqrcode.enable '" + image.string() + "' 2>'" + error_file + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::string output;
  char buffer[512];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, n);
  while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) output.pop_back();
  std::ifstream in(error_file);
  errors.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return output;
}

// zbarimg reads PGM: draw what the SVG paints, 6 pixels a module, and decode it.
TEST(Qr, ZbarimgDecodesTheDrawingBackToTheText) {
  if (!have("zbarimg"))
    GTEST_SKIP() << "zbarimg not installed (Debian's zbar-tools, in tools/debian-packages.txt)";
  testing::TemporaryDirectory directory;
  for (const std::string& text : {join_link, std::string("https://exercise.example:8443/f/0123456789abcdef/")}) {
    const Painted painted = paint(qr_svg(text));
    constexpr int scale = 6;
    const int pixels = painted.side * scale;
    const auto file = directory / "qr.pgm";
    {
      std::ofstream out(file, std::ios::binary);
      out << "P5\n" << pixels << " " << pixels << "\n255\n";
      for (int y = 0; y < pixels; ++y)
        for (int x = 0; x < pixels; ++x) out.put(painted.at(x / scale, y / scale) ? '\0' : '\xff');
    }
    std::string errors;
    EXPECT_EQ(zbarimg(file, errors), text) << "zbarimg said: " << errors;
  }
}

// The real thing: a browser draws the SVG as a page embeds it (inline, sized by
// CSS, on a dark page, where only the SVG's own background keeps the quiet
// zone light), and zbarimg reads the screenshot.
TEST(Qr, ABrowserDrawsItOnADarkPageAndZbarimgReadsTheScreenshot) {
  const char* configured = std::getenv("ICEGATE_CHROMIUM");
  const std::string chromium = configured ? configured : "/usr/bin/chromium";
  if (!have("zbarimg") || ::access(chromium.c_str(), X_OK) != 0)
    GTEST_SKIP() << "needs zbarimg (zbar-tools) and " << chromium << " (chromium), both in tools/debian-packages.txt";
  testing::TemporaryDirectory directory;
  const auto page = directory / "qr.html";
  {
    std::ofstream out(page);
    out << "<!doctype html><html><body style=\"margin:0;background:#1b1f24\">"
        << "<div style=\"width:240px;padding:30px\">" << qr_svg(join_link) << "</div></body></html>";
  }
  const auto screenshot = directory / "qr.png";
  const std::string command = "timeout 60 '" + chromium +
                              "' --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                              "--user-data-dir='" + (directory / "profile").string() + "' --window-size=300,300 "
                              "--screenshot='" + screenshot.string() + "' 'file://" + page.string() +
                              "' >'" + (directory / "chromium.log").string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "chromium failed: see " << command;
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  std::string errors;
  EXPECT_EQ(zbarimg(screenshot, errors), join_link) << "zbarimg said: " << errors;
}

}  // namespace
}  // namespace icegate::http
