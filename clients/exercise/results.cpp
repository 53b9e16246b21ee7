#include "clients/exercise/results.hpp"

namespace icegate::exercise {

std::string_view to_string(Rating rating) {
  switch (rating) {
    case Rating::P: return "P";
    case Rating::S: return "S";
    case Rating::M: return "M";
    case Rating::U: return "U";
  }
  return "?";
}

// The Exercise Evaluation Guide's wording of its four-level scale.
std::string_view describe(Rating rating) {
  switch (rating) {
    case Rating::P: return "Performed without challenges";
    case Rating::S: return "Performed with some challenges";
    case Rating::M: return "Performed with major challenges";
    case Rating::U: return "Unable to be performed";
  }
  return "?";
}

}  // namespace icegate::exercise
