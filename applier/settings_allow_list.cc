#include "applier/settings_allow_list.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace optischema::applier {

bool IsAllowedSetting(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(kAllowedSettings.begin(), kAllowedSettings.end(),
                     [&](const AllowedSetting& s) { return s.name == lower; });
}

}  // namespace optischema::applier
