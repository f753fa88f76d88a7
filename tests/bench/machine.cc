#include "tests/bench/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace optischema::bench {

std::string DescribeMachine() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        model = line.substr(std::min(line.size(), colon + 2));
      }
      break;
    }
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  const double gib = static_cast<double>(pages) * static_cast<double>(page_size) / (1 << 30);
  utsname uts{};
  uname(&uts);
  return std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs, " + model + ", " +
         std::to_string(static_cast<int>(gib + 0.5)) + " GiB RAM, Linux " + uts.release;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " / " + five + " / " + fifteen;
}

}  // namespace optischema::bench
