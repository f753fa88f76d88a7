// Fuzz target: a spool entry file as the agent finds it at start (delivery/spool.h): whatever a
// crash, a full disk or a person left in state_dir/spool.
//
// The input is the content of one entry file, placed in an empty spool directory beside a temp
// file left by a crash and a quarantined entry in bad/. The spool is opened and the entry read
// (ReadCompressed, as the sender does, and ReadBody); an entry that does not read back is
// quarantined, as the sender does with a body it cannot send.
//
// Invariants (a failure aborts): Open() indexes the entry and removes the temp file; a corrupt
// entry is quarantined and leaves the queue, also after reopening; a good entry's body appended
// again reads back unchanged, with a sequence number after the quarantined one's.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "delivery/spool.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;

constexpr char kEntryName[] = "00000000000000000007-snap-7.json.gz";
constexpr char kTempName[] = "00000000000000000008-snap-8.json.gz.tmp";
constexpr char kBadName[] = "00000000000000000009-snap-9.json.gz";

std::string FreshSpoolDir() {
  const std::string dir = fuzz::ScratchDir() + "/spool";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec || !std::filesystem::create_directories(dir + "/bad", ec)) {
    fuzz::Fail("cannot reset the spool directory");
  }
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  const std::string dir = FreshSpoolDir();
  fuzz::WriteFileOrDie(dir + "/" + kEntryName, file);
  fuzz::WriteFileOrDie(dir + "/" + kTempName, "partial");
  fuzz::WriteFileOrDie(dir + "/bad/" + kBadName, "quarantined");

  delivery::Spool spool(dir);
  if (!spool.Open().ok()) fuzz::Fail("Open() failed on a readable directory");
  if (std::filesystem::exists(dir + "/" + kTempName)) fuzz::Fail("the temp file survived Open()");
  const auto entry = spool.Oldest();
  if (!entry || entry->seq != 7 || entry->id != "snap-7" || entry->size != size ||
      spool.Depth() != 1) {
    fuzz::Fail("Open() did not index the entry");
  }
  const Result<std::string> compressed = spool.ReadCompressed(*entry);
  if (!compressed.ok() || *compressed != file) fuzz::Fail("ReadCompressed() changed the bytes");

  const Result<std::string> body = spool.ReadBody(*entry);
  if (!body.ok()) {
    if (body.error().code != ErrorCode::kParseFailed) fuzz::Fail("unexpected ReadBody() error");
    if (!spool.Quarantine(*entry).ok()) fuzz::Fail("Quarantine() failed");
    if (spool.Oldest() || spool.Depth() != 0) fuzz::Fail("a quarantined entry is still queued");
    delivery::Spool reopened(dir);
    if (!reopened.Open().ok() || reopened.Depth() != 0) {
      fuzz::Fail("a quarantined entry came back after reopening");
    }
    return 0;
  }
  const Result<delivery::SpoolEntryId> seq = spool.Append("snap-10", *body);
  if (!seq.ok() || *seq != 10) fuzz::Fail("Append() after the quarantined entry's seq failed");
  if (!spool.Remove(*entry).ok()) fuzz::Fail("Remove() failed");
  const auto appended = spool.Oldest();
  if (!appended || appended->seq != 10) fuzz::Fail("the appended entry is not next");
  const Result<std::string> again = spool.ReadBody(*appended);
  if (!again.ok() || *again != *body) fuzz::Fail("an appended body does not read back unchanged");
  return 0;
}
