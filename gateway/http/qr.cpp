// QR symbols from libqrencode, drawn as one SVG path (qr.hpp).
#include "gateway/http/qr.hpp"

#include <qrencode.h>

#include <cerrno>
#include <memory>

#include <fmt/format.h>

namespace icegate::http {

namespace {

struct QrCodeFree {
  void operator()(QRcode* code) const noexcept { QRcode_free(code); }
};

}  // namespace

QrMatrix qr_matrix(std::string_view text) {
  if (text.empty()) throw QrError("nothing to encode in a QR code: the text is empty");
  if (text.find('\0') != std::string_view::npos) throw QrError("cannot encode text holding a NUL byte in a QR code");
  const std::string terminated(text);
  // Case-sensitive, with 8-bit as the hint: libqrencode still switches to
  // numeric or alphanumeric mode for runs where that is shorter.
  errno = 0;
  const std::unique_ptr<QRcode, QrCodeFree> code{
      QRcode_encodeString(terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1)};
  if (!code) {
    if (errno == ERANGE)
      throw QrError(fmt::format("text of {} bytes is too long for a QR code (error correction M holds at most 2331 "
                                "bytes of arbitrary text)",
                                text.size()));
    throw QrError(fmt::format("libqrencode cannot encode the text ({} bytes): {}", text.size(),
                              errno != 0 ? std::generic_category().message(errno) : "unknown error"));
  }
  QrMatrix matrix;
  matrix.size = code->width;
  const auto modules = static_cast<std::size_t>(code->width) * static_cast<std::size_t>(code->width);
  matrix.dark.resize(modules);
  // Bit 0 of each byte is the module's colour; the other bits say what it is part of.
  for (std::size_t i = 0; i < modules; ++i) matrix.dark[i] = (code->data[i] & 1) != 0;
  return matrix;
}

std::string qr_svg(const QrMatrix& matrix) {
  const int side = matrix.size + 2 * qr_quiet_zone;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" shape-rendering=\"crispEdges\" "
      "role=\"img\" aria-label=\"QR code\"><rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
      side);
  // Each horizontal run of dark modules is one closed rectangle; after "z" the
  // pen is back at the run's start, so the next run is a short relative move.
  int pen_x = 0, pen_y = 0;
  bool first = true;
  for (int y = 0; y < matrix.size; ++y) {
    for (int x = 0; x < matrix.size;) {
      if (!matrix.at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < matrix.size && matrix.at(x + run, y)) ++run;
      const int left = x + qr_quiet_zone, top = y + qr_quiet_zone;
      if (first) svg += fmt::format("M{} {}", left, top);
      else svg += fmt::format("m{} {}", left - pen_x, top - pen_y);
      svg += fmt::format("h{}v1h-{}z", run, run);
      first = false;
      pen_x = left;
      pen_y = top;
      x += run;
    }
  }
  svg += "\"/></svg>";
  return svg;
}

std::string qr_svg(std::string_view text) { return qr_svg(qr_matrix(text)); }

}  // namespace icegate::http
