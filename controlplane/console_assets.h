#pragma once

// The console's own stylesheet and script, compiled into the binary from console_assets/ (the
// build generates their definitions), so that the console needs no file beside the binary but
// Chart.js.

#include <string_view>

namespace optischema::controlplane {

extern const std::string_view kConsoleCss;
extern const std::string_view kConsoleJs;

}  // namespace optischema::controlplane
