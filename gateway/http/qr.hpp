// QR codes for the join links of an exercise (a seat's link, held up to a
// phone's camera), as SVG the pages embed. The encoding is Debian's
// libqrencode's; only the drawing is ours.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::http {

class QrError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A QR symbol: size x size modules, row by row; true = dark.
struct QrMatrix {
  int size = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + static_cast<std::size_t>(x)]; }
};

// The light border every reader needs around a symbol (ISO/IEC 18004: four modules).
constexpr int qr_quiet_zone = 4;

// Encodes `text` (UTF-8, as bytes) at error correction level M (15%: enough
// for a screen or a printout, and a smaller symbol than Q or H for a long
// link), in the smallest version that holds it. Throws QrError for empty
// text, text holding a NUL byte, or text too long for any QR version at M.
QrMatrix qr_matrix(std::string_view text);

// The symbol as one standalone <svg>: a viewBox of (size + 2 * quiet zone)
// modules, no width or height (the page sizes it), shape-rendering="crispEdges"
// (no anti-aliased seams between modules), a white background that keeps the
// quiet zone light on a dark page, and every dark module in one black <path>.
// Throws QrError as qr_matrix does.
std::string qr_svg(std::string_view text);
std::string qr_svg(const QrMatrix& matrix);

}  // namespace icegate::http
