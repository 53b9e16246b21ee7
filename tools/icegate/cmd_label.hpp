// `icegate label mark | check`: a label's display marking, its validity under
// a scheme, and whether a node or a clearance may see it.
//
//   label mark (--policy FILE | --scheme FILE) LABEL [--json]
//       the display marking, e.g. "SECRET/UK EYES ONLY" -> SECRET UK EYES ONLY
//       exit 0 valid; 3 the label (or the policy) is invalid; 1 error
//   label check (--policy FILE | --scheme FILE) [--node NODE | --clearance VETTING
//               [--categories A,B]] LABEL [--json]
//       the label's validity and, given a node or a clearance (policy only),
//       the clearance-against-label decision: regular, occasional or above
//       clearance, and which restrictive or permissive categories are missing.
//       exit 0 valid and cleared (regularly or occasionally); 2 not cleared;
//       3 invalid label (or policy); 1 error
//   label translate LABEL --from SCHEME_FILE --to SCHEME_FILE [--original LABEL] [--json]
//       the label under the other scheme, by the equivalences the --from scheme
//       declares, or precisely why no faithful mapping exists (a part with no
//       counterpart, a part that maps to one of several, a result the other
//       scheme forbids). --original: the label the message carried under the
//       --to scheme before it was translated; it is given back when it
//       translates into LABEL (a round trip loses nothing).
//       exit 0 translated; 2 no faithful mapping; 3 invalid label (or scheme); 1 error
// LABEL is CLASSIFICATION/CATEGORY/... as in policy test files.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace icegate::cli {

struct LabelMarkParams {
  std::filesystem::path policy;  // one of policy and scheme
  std::filesystem::path scheme;
  std::string label;
  bool json = false;
};

struct LabelCheckParams {
  std::filesystem::path policy;  // one of policy and scheme
  std::filesystem::path scheme;
  std::string node;        // the holder: a node of the policy...
  std::string clearance;   // ...or a vetting level of the policy
  std::string categories;  // with clearance: scheme categories held, comma-separated
  std::string label;
  bool json = false;
};

struct LabelTranslateParams {
  std::filesystem::path from;  // scheme files
  std::filesystem::path to;
  std::string label;
  std::string original;  // optional, under `to`
  bool json = false;
};

int run_label_mark(const LabelMarkParams& params, std::ostream& out, std::ostream& err);
int run_label_check(const LabelCheckParams& params, std::ostream& out, std::ostream& err);
int run_label_translate(const LabelTranslateParams& params, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli
