#pragma once

// What the benchmarks print about the machine they ran on.

#include <string>

namespace optischema::bench {

// "<n> CPUs, <model>, <memory> GiB RAM, Linux <release>".
std::string DescribeMachine();

// /proc/loadavg's 1, 5 and 15 minute figures, "a / b / c".
std::string LoadAverage();

}  // namespace optischema::bench
