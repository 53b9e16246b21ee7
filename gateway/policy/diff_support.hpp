// A helper the policy analysis files share (label space, decision space,
// diff). Inside the policy library; not part of its interface.
#pragma once

#include <algorithm>

namespace icegate::policy::detail {

template <typename Values, typename Value>
bool contains(const Values& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace icegate::policy::detail
